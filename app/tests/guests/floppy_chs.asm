; A 1.44M floppy image whose boot sector loads two more sectors with int 13h AH=02h
; (CHS addressing) and runs them: stage 2 at C0/H0/S2 (LBA 1) is code, a message at
; C1/H1/S3 (LBA 56) is data. Output goes to VGA text memory and COM1.
bits 16
org 0x7c00
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [boot_drive], dl
  mov ax, 0x0201          ; read 1 sector
  mov cx, 0x0002          ; cylinder 0, sector 2
  xor dh, dh              ; head 0
  mov dl, [boot_drive]
  mov bx, 0x7e00
  int 0x13
  jc fail
  mov ax, 0x0201
  mov cx, 0x0103          ; cylinder 1, sector 3
  mov dh, 1               ; head 1
  mov dl, [boot_drive]
  mov bx, 0x8000
  int 0x13
  jc fail
  jmp 0x0000:stage2

fail:
  mov si, msg_fail
  xor di, di
  call print
  cli
  hlt

; Prints the NUL-terminated string at DS:SI to VGA (offset DI in B800) and COM1.
print:
  push es
  mov ax, 0xb800
  mov es, ax
.l:
  lodsb
  test al, al
  jz .done
  mov ah, 0x07
  stosw
  mov dx, 0x3f8
  out dx, al
  jmp .l
.done:
  pop es
  ret

boot_drive: db 0
msg_fail: db "FLOPPY READ FAILED", 0
  times 510-($-$$) db 0
  dw 0xaa55

; ---- LBA 1 (C0/H0/S2): stage 2, loaded at 0x7e00.
stage2:
  mov si, msg_stage2
  mov di, 160             ; row 1
  call print
  mov si, 0x8000          ; the sector read from C1/H1/S3
  mov di, 320             ; row 2
  call print
  mov si, msg_drive       ; boot drive as two hex digits on row 3
  mov di, 480
  call print
  mov al, [boot_drive]
  shr al, 4
  call hexdigit
  mov al, [boot_drive]
  and al, 0x0f
  call hexdigit
  cli
  hlt
hexdigit:
  add al, '0'
  cmp al, '9'
  jbe .ok
  add al, 7
.ok:
  mov [digit], al
  mov si, digit
  call print              ; DI is left past the digit
  ret
digit: db 0, 0
msg_stage2: db "CHS stage 2 running", 0
msg_drive: db "boot drive ", 0
  times 1024-($-$$) db 0

; ---- LBA 56 = C1/H1/S3 on 80/2/18: a message.
  times 56*512-($-$$) db 0
  db "loaded from C1/H1/S3", 0
  times 1474560-($-$$) db 0
