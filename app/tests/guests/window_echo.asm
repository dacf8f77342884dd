; Window test guest: echoes typed letters and digits to VGA text memory (and COM1),
; with no BIOS. It polls the i8042 (port 0x64 bit 0 = output buffer full) and reads
; port 0x60; the controller translates to scancode set 1, so make codes are < 0x80 and
; break codes have bit 7 set. Enter ends the run through the debug-exit port with 0x2a
; (exit status 0x55). The text cursor is switched off so screenshots do not blink.
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  mov ax, 0xb800
  mov es, ax
  ; Blank the 80x25 screen (grey on black).
  xor di, di
  mov cx, 80 * 25
  mov ax, 0x0720
  rep stosw
  ; Cursor off: CRTC register 0x0A (cursor start) bit 5.
  mov dx, 0x3d4
  mov al, 0x0a
  out dx, al
  inc dx
  mov al, 0x20
  out dx, al
  ; Banner on row 0, white on blue.
  mov si, banner
  xor di, di
  mov ah, 0x1f
.banner:
  lodsb
  test al, al
  jz .ready
  stosw
  jmp .banner
.ready:
  mov si, ready
.serial:
  lodsb
  test al, al
  jz .input
  mov dx, 0x3f8
  out dx, al
  jmp .serial
.input:
  mov di, 2 * 160 + 4          ; row 2, column 2
.poll:
  in al, 0x64
  test al, 1
  jz .poll
  in al, 0x60
  test al, 0x80                ; break codes and E0/E1 prefixes
  jnz .poll
  cmp al, 0x1c                 ; Enter
  je .done
  cmp al, table_end - table
  jae .poll
  mov bx, table
  xlatb
  test al, al
  jz .poll
  mov ah, 0x0e                 ; yellow on black
  stosw
  mov dx, 0x3f8
  out dx, al
  jmp .poll
.done:
  mov al, 0x2a
  out 0xf4, al
  hlt

banner: db "hv window test: type letters or digits, Enter ends", 0
ready:  db "ready", 10, 0
; Set-1 make code -> ASCII (0 = ignored).
table:
  db 0, 0, "1234567890", 0, 0, 0, 0                 ; 00-0f
  db "qwertyuiop", 0, 0, 0, 0, "as"                 ; 10-1f
  db "dfghjkl", 0, 0, 0, 0, 0, "zxcvbnm"            ; 20-32
table_end:
