; i8042 probe: a hard-disk image (64 sectors) that boots on hv and on QEMU (SeaBIOS)
; alike and prints, on COM1, what the keyboard controller answers in the states the
; comparison in docs/input.md covers. The boot sector reads stage 2 (LBA 1-8) with
; int 13h AH=42h. Everything then runs with interrupts off, by polling: each probe line
; is "NAME: bytes | st=XX", the bytes being what arrived in the output buffer (each
; with "a" appended when the status said AUXDATA), "-" when nothing came within the
; time-out. The run ends through the debug-exit port (QEMU: -device
; isa-debug-exit,iobase=0xf4,iosize=1), status 0x55.
bits 16
org 0x7c00
boot:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  mov [boot_drive], dl
  mov si, dap
  mov ah, 0x42
  int 0x13
  jc .fail
  jmp stage2
.fail:
  mov al, 'E'
  mov dx, 0x3f8
  out dx, al
  cli
  hlt

boot_drive: db 0
dap:
  db 0x10, 0
  dw 8                         ; sectors
  dw 0x7e00, 0                 ; buffer
  dq 1                         ; LBA
  times 510 - ($ - $$) db 0
  dw 0xaa55

stage2:
  ; The state the firmware left.
  mov si, t_boot
  call name
  in al, 0x64
  call hex
  mov si, t_ctr
  call name
  mov al, 0x20
  call cmd
  call replies
  ; Everything below starts from a known CTR: translation on, aux off, no interrupts.
  call reset_ctr

  ; 0x21: internal RAM byte 1 (QEMU only knows 0x20).
  mov si, t_21
  call name
  mov al, 0x21
  call cmd
  call replies

  ; 0x61 then a data byte: RAM write on a real 8042; QEMU ignores the command, so the
  ; data byte goes to the keyboard (which answers it).
  mov si, t_61
  call name
  mov al, 0x61
  call cmd
  mov al, 0x5a
  call data
  call replies

  ; 0xA1: controller version (neither answers).
  mov si, t_a1
  call name
  mov al, 0xa1
  call cmd
  call replies

  ; D4 F2 with the aux port disabled: does the answer come, and is AUXDIS still set?
  mov si, t_d4dis
  call name
  mov al, 0xa7
  call cmd
  mov al, 0xd4
  call cmd
  mov al, 0xf2
  call data
  call replies
  mov si, t_ctr_after
  call name
  mov al, 0x20
  call cmd
  call replies
  call reset_ctr

  ; D3 with the aux port disabled: loopback with AUXDATA?
  mov si, t_d3dis
  call name
  mov al, 0xd3
  call cmd
  mov al, 0x5a
  call data
  call replies

  ; D2 with translation on: is the byte translated? (0x1C would become 0x1E.)
  mov si, t_d2x
  call name
  mov al, 0xd2
  call cmd
  mov al, 0x1c
  call data
  call replies

  ; Two loopback bytes without reading in between: which come out?
  mov si, t_d2d3
  call name
  mov al, 0xd2
  call cmd
  mov al, 0x11
  call data
  mov al, 0xd3
  call cmd
  mov al, 0x22
  call data
  call replies

  ; SYS: the status bit after a CTR write with CTR bit 2 clear, then set.
  mov si, t_sys0
  call name
  mov al, 0x60
  call cmd
  mov al, 0x61
  call data
  in al, 0x64
  call hex
  mov si, t_sys1
  call name
  mov al, 0x60
  call cmd
  mov al, 0x65
  call data
  in al, 0x64
  call hex
  call reset_ctr

  ; The command/data bit (status bit 3) after a data write.
  mov si, t_cmdbit
  call name
  mov al, 0xd2
  call cmd
  mov al, 0x44
  call data
  in al, 0x64
  call hex
  call replies

  ; D0 while an aux byte waits in the output buffer (output-port bits 4/5).
  mov si, t_d0aux
  call name
  mov al, 0xd3
  call cmd
  mov al, 0x77
  call data
  mov al, 0xd0
  call cmd
  call replies

  ; A command cancels a pending one? D1, then 20, then DF (A20 on, no reset).
  mov si, t_abort
  call name
  mov al, 0xd1
  call cmd
  mov al, 0x20
  call cmd
  mov al, 0xdf
  call data
  call replies

  ; Keyboard disabled (AD): do controller bytes still come?
  mov si, t_addis
  call name
  mov al, 0xad
  call cmd
  mov al, 0xd2
  call cmd
  mov al, 0x33
  call data
  call replies
  mov al, 0xae
  call cmd

  ; Self test: reply, and the CTR afterwards.
  mov si, t_aa
  call name
  mov al, 0xaa
  call cmd
  call replies
  mov si, t_ctr_after_aa
  call name
  mov al, 0x20
  call cmd
  call replies

  ; Interface tests and the input port.
  mov si, t_tests
  call name
  mov al, 0xa9
  call cmd
  call replies
  mov al, 0xab
  call cmd
  call replies
  mov al, 0xc0
  call cmd
  call replies

  ; The mouse: reset, IntelliMouse knock, id, status.
  mov si, t_mouse
  call name
  mov al, 0xa8
  call cmd
  mov al, 0xff
  call aux
  mov al, 0xf3
  call aux
  mov al, 200
  call aux
  mov al, 0xf3
  call aux
  mov al, 100
  call aux
  mov al, 0xf3
  call aux
  mov al, 80
  call aux
  mov al, 0xf2
  call aux
  mov al, 0xe8
  call aux
  mov al, 0x07
  call aux
  mov al, 0xe9
  call aux
  call replies

  mov si, t_end
  call name
  mov al, 0x2a
  out 0xf4, al
  cli
  hlt

; --- helpers ---
reset_ctr:                     ; CTR = 0x60 (translation, aux off, no interrupts)
  call drain
  mov al, 0x60
  call cmd
  mov al, 0x60
  call data
  call drain
  ret

wait_ibe:
  push ax
.w:
  in al, 0x64
  test al, 0x02
  jnz .w
  pop ax
  ret

cmd:
  call wait_ibe
  out 0x64, al
  ret

data:
  call wait_ibe
  out 0x60, al
  ret

aux:                           ; D4 + AL
  push ax
  mov al, 0xd4
  call cmd
  pop ax
  jmp data

; Prints every byte that arrives (up to 16), each followed by "a" if AUXDATA was set,
; "-" if none, then " | st=XX" with the status after.
replies:
  push cx
  push bx
  xor bx, bx
.next:
  call wait_obf
  jz .done
  mov ah, al                   ; status
  in al, 0x60
  push ax
  call hex
  pop ax
  test ah, 0x20
  jz .noaux
  mov al, 'a'
  call putc
.noaux:
  mov al, ' '
  call putc
  inc bx
  cmp bx, 16
  jb .next
.done:
  test bx, bx
  jnz .status
  mov al, '-'
  call putc
  mov al, ' '
  call putc
.status:
  mov si, t_st
  call puts
  in al, 0x64
  call hex
  pop bx
  pop cx
  ret

; Waits up to 0x10000 polls for OBF (both machines answer at once; this is the time
; taken to decide that nothing more comes); ZF set on time-out, else AL = status.
wait_obf:
  push cx
  push dx
  mov dx, 1
.outer:
  xor cx, cx
.inner:
  in al, 0x64
  test al, 0x01
  jnz .got
  loop .inner
  dec dx
  jnz .outer
  xor al, al                   ; ZF=1
  pop dx
  pop cx
  ret
.got:
  or al, al                    ; ZF=0 (OBF is set)
  pop dx
  pop cx
  ret

drain:
  call wait_obf_short
  jz .done
  in al, 0x60
  jmp drain
.done:
  ret

wait_obf_short:
  push cx
  mov cx, 0x2000
.w:
  in al, 0x64
  test al, 0x01
  jnz .got
  loop .w
  xor al, al
  pop cx
  ret
.got:
  or al, al
  pop cx
  ret

; Newline, then the probe's name.
name:
  mov al, 10
  call putc
puts:
  lodsb
  test al, al
  jz .done
  call putc
  jmp puts
.done:
  ret

hex:
  push ax
  shr al, 4
  call digit
  pop ax
  and al, 0x0f
digit:
  add al, '0'
  cmp al, '9'
  jbe putc
  add al, 'A' - '9' - 1
putc:
  push dx
  push ax
  mov dx, 0x3fd
.w:
  in al, dx
  test al, 0x20
  jz .w
  pop ax
  mov dx, 0x3f8
  out dx, al
  pop dx
  ret

t_boot:      db "status at boot: ", 0
t_ctr:       db "CTR at boot (20): ", 0
t_21:        db "21 (RAM byte 1): ", 0
t_61:        db "61 5A (RAM write): ", 0
t_a1:        db "A1 (version): ", 0
t_d4dis:     db "A7, D4 F2: ", 0
t_ctr_after: db "  CTR after (20): ", 0
t_ctr_after_aa: db "  CTR after AA (20): ", 0
t_d3dis:     db "D3 5A, aux disabled: ", 0
t_d2x:       db "D2 1C, translation on: ", 0
t_d2d3:      db "D2 11 then D3 22, unread: ", 0
t_sys0:      db "status after CTR 61: ", 0
t_sys1:      db "status after CTR 65: ", 0
t_cmdbit:    db "status after D2 44 (data write last): ", 0
t_d0aux:     db "D3 77 then D0: ", 0
t_abort:     db "D1, 20, DF: ", 0
t_addis:     db "AD, D2 33: ", 0
t_aa:        db "AA: ", 0
t_tests:     db "A9, AB, C0: ", 0
t_mouse:     db "A8, mouse FF, F3 C8 64 50, F2, E8 07, E9: ", 0
t_end:       db "end", 10, 0
t_st:        db "| st=", 0

  times 32768 - ($ - $$) db 0
