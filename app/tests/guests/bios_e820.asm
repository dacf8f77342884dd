; int 15h E820: print every entry on COM1 as "E820 BASE LENGTH TYPE" (hex), then
; "E820 END" and exit through the debug-exit port.
bits 16
org 0x7c00
  xor ax, ax
  mov ds, ax
  mov es, ax
  xor ebx, ebx
.next:
  mov eax, 0xe820
  mov ecx, 20
  mov edx, 0x534d4150
  mov di, entry
  int 0x15
  jc .end
  push ebx
  mov si, tag
  call puts
  mov eax, [entry + 4]
  call puthex32
  mov eax, [entry]
  call puthex32
  mov al, ' '
  call putc
  mov eax, [entry + 12]
  call puthex32
  mov eax, [entry + 8]
  call puthex32
  mov al, ' '
  call putc
  mov eax, [entry + 16]
  call puthex32
  mov al, 10
  call putc
  pop ebx
  test ebx, ebx
  jnz .next
.end:
  mov si, tag
  call puts
  mov si, endmsg
  call puts
  mov al, 0x10
  out 0xf4, al
  hlt

puthex32:               ; EAX as 8 hex digits
  mov cx, 8
.digit:
  rol eax, 4
  push eax
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .out
  add al, 7
.out:
  call putc
  pop eax
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

tag: db "E820 ", 0
endmsg: db "END", 10, 0
entry: times 20 db 0
