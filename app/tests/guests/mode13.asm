; Mode 13h without a BIOS: programs the VGA register files for 320x200x256 (values from
; the standard mode table), loads a 64-entry grey-to-colour ramp into the DAC, draws
; diagonal colour bands into 0xA0000 and exits through the debug-exit port (status 5).
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00

    mov dx, 0x3c2                    ; miscellaneous output
    mov al, 0x63
    out dx, al

    mov dx, 0x3c4                    ; sequencer 0-4
    mov si, seq
    mov cx, 5
    xor bl, bl
.seq:
    mov al, bl
    mov ah, [si]
    out dx, ax                       ; 16-bit write: index then data
    inc si
    inc bl
    loop .seq

    mov dx, 0x3d4                    ; CRTC: unlock CR0-7, then 0-0x18
    mov ax, 0x0011
    out dx, ax
    mov si, crtc
    mov cx, 25
    xor bl, bl
.crtc:
    mov al, bl
    mov ah, [si]
    out dx, ax
    inc si
    inc bl
    loop .crtc

    mov dx, 0x3ce                    ; graphics controller 0-8
    mov si, gfx
    mov cx, 9
    xor bl, bl
.gfx:
    mov al, bl
    mov ah, [si]
    out dx, ax
    inc si
    inc bl
    loop .gfx

    mov dx, 0x3da                    ; reset the attribute flip-flop
    in al, dx
    mov dx, 0x3c0
    xor bl, bl
.attr:                               ; AR0-F = identity palette
    mov al, bl
    out dx, al
    out dx, al
    inc bl
    cmp bl, 16
    jb .attr
    mov si, attr_tail                ; AR10-14
.tail:
    mov al, bl
    out dx, al
    mov al, [si]
    out dx, al
    inc si
    inc bl
    cmp bl, 0x15
    jb .tail
    mov al, 0x20                     ; PAS: display on
    out dx, al

    mov dx, 0x3c8                    ; DAC ramp: entry i = (i, 63-i, (2i)&63)
    xor al, al
    out dx, al
    inc dx
    xor bl, bl
.dac:
    mov al, bl
    out dx, al
    mov al, 63
    sub al, bl
    out dx, al
    mov al, bl
    shl al, 1
    and al, 63
    out dx, al
    inc bl
    cmp bl, 64
    jb .dac

    mov ax, 0xa000                   ; pixel (x, y) = (x + y) / 5 mod 64
    mov es, ax
    xor di, di
    xor dx, dx                       ; y
.row:
    xor cx, cx                       ; x
.col:
    mov ax, cx
    add ax, dx
    shr ax, 2
    and al, 63
    stosb
    inc cx
    cmp cx, 320
    jb .col
    inc dx
    cmp dx, 200
    jb .row

    mov al, 0x02                     ; exit status 5
    out 0xf4, al
    hlt

seq:  db 0x03, 0x01, 0x0f, 0x00, 0x0e
crtc: db 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00
      db 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff
gfx:  db 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff
attr_tail: db 0x41, 0x00, 0x0f, 0x00, 0x00
