; Smallest smoke test: writes a line to VGA text memory and COM1, then exits
; through the debug-exit port with value 0x10 (status 0x21).
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ax, 0xb800
  mov es, ax
  mov si, msg
  xor di, di
.l: lodsb
  test al, al
  jz .done
  mov ah, 0x1f
  stosw
  mov dx, 0x3f8
  out dx, al
  jmp .l
.done:
  mov al, 0x10
  out 0xf4, al
  hlt
msg: db "Hello from hv", 13, 10, 0
