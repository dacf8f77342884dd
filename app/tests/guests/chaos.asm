; Chaos guest: a hostile real-mode program that the VMM must survive.
;
; Two passes; each writes a pseudo-random value (32-bit Galois LFSR) of a random width
; to every port 0x0000-0xFFFF and then reads it back, does string I/O bursts, and makes
; a few thousand random MMIO accesses above RAM (0xC0000000-0xFFFFFFFF, reached through
; unreal mode: a flat 4 GiB FS limit loaded in protected mode and kept in real mode).
; After each pass it reprograms COM1 (the chaos also hit 0x3F8-0x3FF: loopback, divisor,
; IER) and prints "chaos: alive N". Finally it exits through the debug-exit port with
; 0x2A (hv status 0x55).
;
; Ports skipped or tamed so the run is not a reset loop: 0xF4 (debug exit) is skipped;
; 0x64 gets values with bit 4 cleared (no 0xF0-0xFF output-port pulse, whose even
; values reset); 0x92 gets bit 0 cleared (fast reset); 0xCF9 gets bit 2 cleared (reset).
; Guest-triggered resets are tested separately (reset.asm). 0xEF (the BIOS trap port)
; is NOT skipped: a guest may write garbage there and the BIOS must cope.
bits 16
org 0x7c00

start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7000
  ; --- unreal mode: FS gets a 4 GiB limit
  lgdt [gdt_desc]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp short .pm
.pm:
  mov bx, 0x08
  mov fs, bx
  and al, 0xFE
  mov cr0, eax
  jmp 0:.rm
.rm:
  xor ax, ax
  mov fs, ax
  mov ebp, 0xACE1ACE1         ; LFSR state
  mov byte [pass], '1'

pass_loop:
  ; --- every port, random value and width, then a read
  xor ecx, ecx                ; ecx = port
.port:
  call lfsr                   ; eax = random
  mov dx, cx
  cmp dx, 0xF4
  je .next
  cmp dx, 0x64
  jne .n92
  and al, 0xEF
.n92:
  cmp dx, 0x92
  jne .ncf9
  and al, 0xFE
.ncf9:
  cmp dx, 0xCF9
  jne .write
  and al, 0xFB
.write:
  test ebp, 0x300
  jz .w8
  test ebp, 0x200
  jz .w16
  cmp dx, 0x60                ; wide writes to 0x61-0x63 would reach 0x64 unmasked: keep them narrow
  jb .w32
  cmp dx, 0x64
  jbe .w8
  cmp dx, 0x90
  jb .w32
  cmp dx, 0x92
  jbe .w8
  cmp dx, 0xCF6
  jb .w32
  cmp dx, 0xCF9
  jbe .w8
  cmp dx, 0xF1
  jb .w32
  cmp dx, 0xF4
  jbe .w8
.w32:
  out dx, eax
  jmp .rd
.w16:
  cmp dx, 0x63                ; 16-bit writes at 0x63/0x91/0xCF8/0xF3 would reach a skipped port
  je .w8
  cmp dx, 0x91
  je .w8
  cmp dx, 0xCF8
  je .w8
  cmp dx, 0xF3
  je .w8
  out dx, ax
  jmp .rd
.w8:
  out dx, al
.rd:
  test ebp, 0x400
  jz .rd8
  in eax, dx
  jmp .next
.rd8:
  in al, dx
.next:
  inc ecx
  cmp ecx, 0x10000
  jb .port

  ; --- string I/O bursts: rep outsb/insw on an unassigned port, the keyboard and POST
  cld
  mov si, 0x7c00
  mov dx, 0x1234
  mov cx, 256
  rep outsb
  mov di, 0x6000
  mov dx, 0x60
  mov cx, 64
  rep insw
  mov si, 0x7c00
  mov dx, 0x80
  mov cx, 128
  rep outsw

  ; --- random MMIO above RAM, all three widths, reads and writes
  mov cx, 3000
.mmio:
  call lfsr
  mov esi, eax
  or esi, 0xC0000000
  and esi, 0xFFFFFFFC
  test al, 1
  jz .mr
  mov [fs:esi], eax
  mov [fs:esi+1], al
  mov [fs:esi+2], ax
  jmp .mn
.mr:
  mov ebx, [fs:esi]
  mov bl, [fs:esi+3]
.mn:
  loop .mmio

  ; --- COM1 back to a known state, then report
  call com1_init
  mov si, msg
  call puts
  mov al, [pass]
  call putc
  mov al, 13
  call putc
  mov al, 10
  call putc
  cmp byte [pass], '2'
  je done
  mov byte [pass], '2'
  jmp pass_loop

done:
  mov al, 0x2A
  out 0xF4, al
  hlt

; Galois LFSR, taps 0x80200003; state in ebp, result in eax.
lfsr:
  shr ebp, 1
  jnc .nt
  xor ebp, 0x80200003
.nt:
  mov eax, ebp
  rol eax, 7
  xor eax, ebp
  ret

com1_init:
  mov dx, 0x3F9
  xor al, al
  out dx, al                  ; IER = 0
  mov dx, 0x3FB
  mov al, 0x80
  out dx, al                  ; DLAB
  mov dx, 0x3F8
  mov al, 1
  out dx, al                  ; divisor 1
  inc dx
  xor al, al
  out dx, al
  mov dx, 0x3FB
  mov al, 3
  out dx, al                  ; 8N1
  mov dx, 0x3FA
  mov al, 0xC7
  out dx, al                  ; FIFO on, cleared
  mov dx, 0x3FC
  mov al, 3
  out dx, al                  ; DTR|RTS, no loopback
  ret

puts:
  lodsb
  test al, al
  jz .e
  call putc
  jmp puts
.e:
  ret

putc:
  push ax
  mov dx, 0x3FD
.w:
  in al, dx
  test al, 0x20
  jz .w
  pop ax
  mov dx, 0x3F8
  out dx, al
  ret

msg: db "chaos: alive ", 0
pass: db 0

align 8
gdt:
  dq 0
  dq 0x00CF92000000FFFF       ; flat 4 GiB data
gdt_desc:
  dw gdt_desc - gdt - 1
  dd gdt
