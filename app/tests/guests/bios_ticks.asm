; int 1Ah: count BIOS ticks across one RTC second; print "TICKS=xxxx" on COM1 and exit
; through the debug-exit port.
bits 16
org 0x7c00
  xor ax, ax
  mov ds, ax
  sti                   ; IRQ0 must reach int 08h
  call next_second      ; synchronise to a second boundary
  xor ah, ah
  int 0x1a
  mov di, dx
  call next_second
  xor ah, ah
  int 0x1a
  sub dx, di
  mov si, msg
  call puts
  mov ax, dx
  call puthex
  mov al, 10
  call putc
  mov al, 0x10
  out 0xf4, al
  hlt

; Returns when the RTC seconds (DH of int 1Ah AH=02h) change.
next_second:
  mov ah, 2
  int 0x1a
  mov bl, dh
.wait:
  hlt                   ; woken by the next tick
  mov ah, 2
  int 0x1a
  cmp dh, bl
  je .wait
  ret

puthex:                 ; AX as 4 hex digits
  mov cx, 4
.digit:
  rol ax, 4
  push ax
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .out
  add al, 7
.out:
  call putc
  pop ax
  loop .digit
  ret

putc:
  push dx
  mov dx, 0x3f8
  out dx, al
  pop dx
  ret

puts:
  lodsb
  test al, al
  jz .ret
  call putc
  jmp puts
.ret:
  ret

msg: db "TICKS=", 0
