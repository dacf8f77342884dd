; Guest-initiated resets, one per boot, counted in CMOS scratch RAM (register 0x40),
; which is battery-backed on a PC and so survives a reset (guest RAM does not: hv
; reloads the image into zeroed memory, a fresh boot).
;   boot 1: triple fault: protected mode with an empty IDT, drop to ring 3 (sysexit), int3 ->
;           #GP -> #DF -> shutdown. (Ring 3 because this project's CI KVM emulates
;           CPL 0 code and its emulator reports a failure instead of shutting down.)
;   boot 2: i8042 command 0xFE (pulse reset line)
;   boot 3: port 0x92 bit 0 (fast reset)
;   boot 4: port 0xCF9 = 0x06 (reset control register, hard reset)
;   boot 5: exit through the debug-exit port with the boot count (hv status 11)
; Each boot prints "boot N" on COM1 first.
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov al, 0x40
  out 0x70, al
  in al, 0x71
  inc al
  mov bl, al
  mov al, 0x40
  out 0x70, al
  mov al, bl
  out 0x71, al
  mov si, msg
  call puts
  mov al, bl
  add al, '0'
  call putc
  mov al, 10
  call putc
  cmp bl, 1
  je triple
  cmp bl, 2
  je kbc
  cmp bl, 3
  je porta
  cmp bl, 4
  je cf9
  mov al, bl
  out 0xF4, al
  hlt
triple:
  lgdt [gdt_desc]
  lidt [null_idt]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:.pm
bits 32
.pm:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  mov esp, 0x7000
  ; sysexit rather than iret: KVM's instruction emulator implements sysexit but not a
  ; protected-mode iret or far return to an outer privilege level.
  mov ecx, 0x174              ; IA32_SYSENTER_CS: sysexit uses +16 (code) / +24 (stack)
  mov eax, 0x08
  xor edx, edx
  wrmsr
  mov edx, .ring3             ; EIP
  mov ecx, 0x6F00             ; ESP
  sysexit
.ring3:
  int3
  jmp $
bits 16
kbc:
  mov al, 0xFE
  out 0x64, al
  jmp $
porta:
  in al, 0x92
  or al, 1
  out 0x92, al
  jmp $
cf9:
  mov dx, 0xCF9
  mov al, 0x06
  out dx, al
  jmp $
puts:
  lodsb
  test al, al
  jz .e
  call putc
  jmp puts
.e:
  ret
putc:
  mov dx, 0x3F8
  out dx, al
  ret
msg: db "boot ", 0
null_idt:
  dw 0
  dd 0
align 8
gdt:
  dq 0
  dq 0x00CF9A000000FFFF       ; 0x08 flat 32-bit code, ring 0
  dq 0x00CF92000000FFFF       ; 0x10 flat data, ring 0
  dq 0x00CFFA000000FFFF       ; 0x18 flat 32-bit code, ring 3
  dq 0x00CFF2000000FFFF       ; 0x20 flat data, ring 3
gdt_desc:
  dw gdt_desc - gdt - 1
  dd gdt
