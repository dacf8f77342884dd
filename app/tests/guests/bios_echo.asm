; int 10h teletype + int 16h AH=00h: echo typed keys until Enter, then print "Done."
bits 16
org 0x7c00
  xor ax, ax
  mov ds, ax
  mov si, prompt
  call puts
.key:
  xor ah, ah
  int 0x16              ; waits (halted) until IRQ1 fills the buffer
  cmp al, 13
  je .enter
  mov ah, 0x0e
  mov bx, 0x0007
  int 0x10
  jmp .key
.enter:
  mov si, done
  call puts
.halt:
  hlt
  jmp .halt

puts:
  lodsb
  test al, al
  jz .ret
  mov ah, 0x0e
  mov bx, 0x0007
  int 0x10
  jmp puts
.ret:
  ret

prompt: db "Type: ", 0
done: db 13, 10, "Done.", 0
