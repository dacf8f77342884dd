; Boot sector for a 1.44 MB floppy: writes "HVWRITE!" x 64 to sector 2 (C0 H0 S2) with
; int 13h AH=03h, prints "written" on COM1, then either exits through the debug-exit
; port (mode byte 0) or idles with interrupts on until hv is signalled (mode byte 1).
; The mode byte is at offset 0x1FD of the sector; the test patches it.
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7000
  mov di, 0x600
  mov cx, 64
.fill:
  mov si, pattern
  movsd
  movsd
  sub si, 8
  loop .fill
  mov ax, 0x0301              ; write 1 sector
  mov cx, 0x0002              ; cylinder 0, sector 2
  xor dh, dh                  ; head 0, DL = boot drive from the BIOS
  mov bx, 0x600
  int 0x13
  jc fail
  mov si, ok_msg
  call puts
  cmp byte [mode], 1
  je idle
  xor al, al
  out 0xF4, al
  hlt
idle:
  sti
  hlt
  jmp idle
fail:
  mov si, fail_msg
  call puts
  mov al, 0x7F
  out 0xF4, al
  hlt
puts:
  lodsb
  test al, al
  jz .e
  mov dx, 0x3F8
  out dx, al
  jmp puts
.e:
  ret
pattern: db "HVWRITE!"
ok_msg: db "written", 10, 0
fail_msg: db "int13 write failed", 10, 0
  times 0x1FD - ($ - $$) db 0
mode: db 0
  dw 0xAA55
