; A boot sector that echoes typed keys with int 16h AH=00h and int 10h AH=0Eh until
; Enter, then prints "DONE".
bits 16
org 0x7c00
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov si, prompt
  call puts
.key:
  xor ah, ah
  int 0x16
  cmp al, 13
  je .enter
  mov ah, 0x0e
  mov bx, 0x0007
  int 0x10
  jmp .key
.enter:
  mov si, done
  call puts
.idle:
  hlt
  jmp .idle
puts:
  lodsb
  test al, al
  jz .r
  mov ah, 0x0e
  mov bx, 0x0007
  int 0x10
  jmp puts
.r:
  ret
prompt: db "Type: ", 0
done: db 13, 10, "DONE", 0
  times 510-($-$$) db 0
  dw 0xaa55
