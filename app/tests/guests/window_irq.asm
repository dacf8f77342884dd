; Interrupt-driven keyboard guest (no BIOS): programs the 8259 PIC (IRQ0-7 at vectors
; 08h-0Fh), unmasks only IRQ1, installs an IRQ1 handler and halts. Each keystroke
; wakes it: the handler reads port 0x60 (set 1, translated by the i8042), echoes
; letters, digits and spaces in changing colours, and acknowledges the PIC. Enter ends
; the run through the debug-exit port (status 0x55). Shows the full keystroke path in
; the overlay: set 2 -> i8042 -> IRQ1 injected -> guest read.
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  mov ax, 0xb800
  mov es, ax
  xor di, di
  mov cx, 80 * 25
  mov ax, 0x0720
  rep stosw
  mov dx, 0x3d4                ; cursor off (CRTC 0x0A bit 5)
  mov al, 0x0a
  out dx, al
  inc dx
  mov al, 0x20
  out dx, al
  mov si, banner
  xor di, di
  mov ah, 0x1f
.banner:
  lodsb
  test al, al
  jz .pic
  stosw
  jmp .banner
.pic:
  mov al, 0x11                 ; ICW1: edge, cascade, ICW4
  out 0x20, al
  out 0xa0, al
  mov al, 0x08                 ; ICW2: master at 08h
  out 0x21, al
  mov al, 0x70                 ; slave at 70h
  out 0xa1, al
  mov al, 0x04                 ; ICW3
  out 0x21, al
  mov al, 0x02
  out 0xa1, al
  mov al, 0x01                 ; ICW4: 8086 mode
  out 0x21, al
  out 0xa1, al
  mov al, 0xfd                 ; only IRQ1
  out 0x21, al
  mov al, 0xff
  out 0xa1, al
  mov word [9 * 4], keyboard
  mov word [9 * 4 + 2], 0
  mov word [cursor], 2 * 160 + 4
  mov byte [colour], 0x09
.drain:                        ; a byte latched before the PIC was set up holds IRQ1
  in al, 0x64                  ; high, and an edge-triggered PIC would never see
  test al, 1                   ; another edge: read it away first
  jz .ready
  in al, 0x60
  jmp .drain
.ready:
  sti
.idle:
  hlt
  jmp .idle

keyboard:
  push ax
  push bx
  push di
  in al, 0x60
  test al, 0x80
  jnz .eoi
  cmp al, 0x1c
  je .enter
  cmp al, table_end - table
  jae .eoi
  mov bx, table
  xlatb
  test al, al
  jz .eoi
  mov ah, [colour]
  mov di, [cursor]
  stosw
  mov [cursor], di
  inc byte [colour]
  cmp byte [colour], 0x10
  jb .eoi
  mov byte [colour], 0x09
.eoi:
  mov al, 0x20
  out 0x20, al
  pop di
  pop bx
  pop ax
  iret
.enter:
  mov al, 0x2a
  out 0xf4, al
  cli
  hlt

banner: db " hv: keyboard through the i8042 and IRQ1 - type away, Enter ends ", 0
table:
  db 0, 0, "1234567890", 0, 0, 0, 0                 ; 00-0f
  db "qwertyuiop", 0, 0, 0, 0, "as"                 ; 10-1f
  db "dfghjkl", 0, 0, 0, 0, 0, "zxcvbnm", 0, 0, 0   ; 20-35
  db 0, 0, 0, " "                                   ; 36-39
table_end:
cursor: dw 0
colour: db 0
