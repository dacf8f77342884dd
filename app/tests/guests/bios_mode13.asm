; int 10h mode 13h: a 16x16 square in colour 4 (red) at (100,50) drawn with AH=0Ch, a
; white pixel stored directly at A000:0000, then "READY" on COM1.
bits 16
org 0x7c00
  mov ax, 0x0013
  int 0x10
  mov dx, 50
.row:
  mov cx, 100
.col:
  mov ax, 0x0c04
  xor bh, bh
  int 0x10
  inc cx
  cmp cx, 116
  jb .col
  inc dx
  cmp dx, 66
  jb .row
  mov ax, 0xa000
  mov es, ax
  mov byte [es:0], 15
  mov si, ready
  mov dx, 0x3f8
.say:
  cs lodsb
  test al, al
  jz .halt
  out dx, al
  jmp .say
.halt:
  hlt
  jmp .halt
ready: db "READY", 10, 0
