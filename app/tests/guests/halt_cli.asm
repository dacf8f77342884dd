; Prints "halting" on COM1, then stops with interrupts disabled: cli; hlt. Nothing can
; wake it; hv must say so and end instead of hanging.
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov si, msg
  mov dx, 0x3F8
.l:
  lodsb
  test al, al
  jz .h
  out dx, al
  jmp .l
.h:
  hlt
  jmp .h
msg: db "halting", 10, 0
