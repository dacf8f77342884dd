; A hard-disk image (64 sectors) whose boot sector checks the int 13h extensions
; (AH=41h), reads two sectors at LBA 40 with AH=42h and runs them. Stage 2 writes
; sector 60 with AH=43h (the overlay keeps it unless --writable) and prints.
bits 16
section boot start=0 vstart=0x7c00
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [boot_drive], dl
  mov ah, 0x41
  mov bx, 0x55aa
  mov dl, [boot_drive]
  int 0x13
  jc no_ext
  cmp bx, 0xaa55
  jne no_ext
  mov si, dap
  mov ah, 0x42
  mov dl, [boot_drive]
  int 0x13
  jc fail
  jmp 0x0000:0x8000

no_ext:
  mov si, msg_noext
  jmp die
fail:
  mov si, msg_fail
die:
  xor di, di
  call print
  cli
  hlt

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

align 4
dap:
  db 0x10, 0
  dw 2                    ; sectors
  dw 0x8000, 0            ; offset, segment
  dq 40                   ; LBA
wdap:
  db 0x10, 0
  dw 1
  dw 0x8200, 0            ; the second sector read (LBA 41) holds the data to write
  dq 60
boot_drive: db 0
msg_noext: db "NO INT13 EXTENSIONS", 0
msg_fail: db "LBA READ FAILED", 0
  times 510-($-$$) db 0
  dw 0xaa55

; ---- LBA 40..41, loaded at 0x8000.
section stage2 start=40*512 vstart=0x8000
stage2:
  mov si, wdap
  mov ax, 0x4300
  mov dl, [boot_drive]
  int 0x13
  jc .wfail
  mov si, msg_ok
  mov di, 160
  call print
  cli
  hlt
.wfail:
  mov si, msg_wfail
  mov di, 160
  call print
  cli
  hlt
msg_ok: db "LBA stage 2 running, sector 60 written", 0
msg_wfail: db "LBA WRITE FAILED", 0
  times 512-($-$$) db 0
  db "WRITTEN BY THE GUEST"     ; LBA 41, written to LBA 60 by stage 2
  times 1024-($-$$) db 0xee

; ---- Pad the image to 64 sectors.
section tail start=64*512-1
  db 0
