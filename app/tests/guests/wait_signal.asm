; Writes "ready" to COM1 and to the screen, then idles with interrupts enabled (sti;
; hlt) forever: the test ends it with SIGINT/SIGTERM and checks hv leaves through its
; normal path (status 130, --dump-screen written).
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ax, 0xb800
  mov es, ax
  xor di, di
  mov si, msg
  mov dx, 0x3F8
.l:
  lodsb
  test al, al
  jz .idle
  out dx, al
  mov ah, 0x07
  stosw
  jmp .l
.idle:
  sti
  hlt
  jmp .idle
msg: db "ready", 10, 0
