; Mouse test guest (no BIOS): talks to the i8042 and its aux port directly, the way a
; driver does, then prints every mouse packet it receives through IRQ12.
;
; Setup, by polling with interrupts off: CTR with both interrupt bits clear, 0xA8
; (aux port on), then through 0xD4: FF (reset: FA AA 00), the IntelliMouse knock F3 C8,
; F3 64, F3 50, F2 (the id: 03 once the wheel is on), F4 (stream mode reporting). COM1
; gets "id XX" and "ready". Then the PIC (IRQ0-7 at 08h, IRQ8-15 at 70h; only IRQ1,
; the cascade and IRQ12 unmasked), CTR 0x47 (translation, SYS, both interrupts), sti.
;
; The IRQ12 handler collects 4-byte packets (resynchronising on bit 3 of the first
; byte) and prints each as "P b0 b1 b2 b3" on COM1 and on the screen. Enter (IRQ1)
; ends the run through the debug-exit port (status 0x55).
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
  jz .setup
  stosw
  jmp .banner

.setup:
  call drain
  mov al, 0x60                 ; write CTR: translation, SYS, no interrupts
  call ctl_cmd
  mov al, 0x44
  call ctl_data
  mov al, 0xa8                 ; aux port on
  call ctl_cmd
  mov al, 0xff                 ; reset: FA AA 00
  call aux_cmd
  call read_byte
  call read_byte
  mov si, knock
.knock:
  lodsb
  test al, al
  jz .knocked
  call aux_cmd
  jmp .knock
.knocked:
  mov al, 0xf2                 ; identify: FA id
  call aux_cmd
  call read_byte
  mov [id], al
  mov si, id_text
  call serial_str
  mov al, [id]
  call serial_hex
  mov al, 10
  call serial_char
  mov al, 0xf4                 ; stream mode reporting on
  call aux_cmd
  call drain

  mov al, 0x11                 ; PIC ICW1: edge, cascade, ICW4
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
  mov al, 0xf9                 ; master: IRQ1 and the cascade (IRQ2)
  out 0x21, al
  mov al, 0xef                 ; slave: IRQ12
  out 0xa1, al
  mov word [0x09 * 4], keyboard
  mov word [0x09 * 4 + 2], 0
  mov word [0x74 * 4], mouse
  mov word [0x74 * 4 + 2], 0
  mov al, 0x60                 ; CTR: translation, SYS, IRQ1 and IRQ12
  call ctl_cmd
  mov al, 0x47
  call ctl_data
  call drain
  mov si, ready
  call serial_str
  sti
.idle:
  hlt
  jmp .idle

; --- IRQ12: one byte of a packet ---
mouse:
  push ax
  push bx
  in al, 0x60
  mov bl, [count]
  test bl, bl
  jnz .store
  test al, 0x08                ; a first byte always has bit 3 set
  jz .eoi
.store:
  xor bh, bh
  mov [packet + bx], al
  inc bl
  mov [count], bl
  cmp bl, 4
  jb .eoi
  mov byte [count], 0
  call show_packet
.eoi:
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  pop bx
  pop ax
  iret

; --- IRQ1: Enter ends the run ---
keyboard:
  push ax
  in al, 0x60
  cmp al, 0x1c
  je .enter
  mov al, 0x20
  out 0x20, al
  pop ax
  iret
.enter:
  mov al, 0x2a
  out 0xf4, al
  cli
  hlt

; "P b0 b1 b2 b3" on COM1 and on screen row 2 + (n mod 22).
show_packet:
  push si
  push di
  push cx
  mov al, [row]
  mov ah, 160
  mul ah
  add ax, 2 * 160 + 4
  mov di, ax
  inc byte [row]
  cmp byte [row], 22
  jb .text
  mov byte [row], 0
.text:
  mov al, 'P'
  call both_char
  mov si, packet
  mov cx, 4
.byte:
  mov al, ' '
  call both_char
  lodsb
  push ax
  shr al, 4
  call hex_digit
  call both_char
  pop ax
  and al, 0x0f
  call hex_digit
  call both_char
  loop .byte
  mov al, 10
  call serial_char
  pop cx
  pop di
  pop si
  ret

; AL -> COM1 and es:di (yellow), di advances.
both_char:
  call serial_char
  mov ah, 0x0e
  stosw
  ret

; --- i8042 helpers (polling) ---
wait_input_empty:              ; status bit 1: the controller took the last write
  in al, 0x64
  test al, 0x02
  jnz wait_input_empty
  ret

ctl_cmd:                       ; AL -> command port
  push ax
  call wait_input_empty
  pop ax
  out 0x64, al
  ret

ctl_data:                      ; AL -> data port
  push ax
  call wait_input_empty
  pop ax
  out 0x60, al
  ret

aux_cmd:                       ; AL -> mouse through D4, then its FA
  push ax
  mov al, 0xd4
  call ctl_cmd
  pop ax
  call ctl_data
  ; fall through: the acknowledge
read_byte:                     ; waits for the output buffer; AL = byte
  in al, 0x64
  test al, 0x01
  jz read_byte
  in al, 0x60
  ret

drain:
  in al, 0x64
  test al, 0x01
  jz .done
  in al, 0x60
  jmp drain
.done:
  ret

; --- COM1 ---
serial_char:
  push dx
  mov dx, 0x3f8
  out dx, al
  pop dx
  ret

serial_str:
  lodsb
  test al, al
  jz .done
  call serial_char
  jmp serial_str
.done:
  ret

serial_hex:                    ; AL as two hex digits
  push ax
  shr al, 4
  call hex_digit
  call serial_char
  pop ax
  and al, 0x0f
  call hex_digit
  jmp serial_char

hex_digit:                     ; AL (0-15) -> '0'-'9', 'A'-'F'
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .done
  add al, 'A' - '9' - 1
.done:
  ret

banner:  db " hv: PS/2 mouse on IRQ12 - wheel mouse packets below, Enter ends ", 0
id_text: db "id ", 0
ready:   db "ready", 10, 0
knock:   db 0xf3, 200, 0xf3, 100, 0xf3, 80, 0
id:      db 0
count:   db 0
row:     db 0
packet:  times 4 db 0
