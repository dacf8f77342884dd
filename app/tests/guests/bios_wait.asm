; int 15h waits with every IRQ masked: 25 calls of AH=86h for 40 ms each (1.0 s in all,
; called with interrupts off), then an AH=83h interval of 0.5 s whose end the guest
; sees by spinning on its flag byte (interrupts on, but nothing unmasked, and no exits
; while it spins). COM1: "START", "SLEPT" after the sleeps, "EVENT" when
; the flag's bit 7 is set, then debug-exit with value 0x10 (hv exit status 0x21). Any
; failed call prints "FAIL" and exits with value 0x11.
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov al, 0xff                ; mask every IRQ: only the BIOS's own timer can end a wait
    out 0x21, al
    out 0xa1, al
    mov si, msg_start
    call puts
    mov bp, 25
.sleep:
    mov ah, 0x86
    xor cx, cx
    mov dx, 40000
    int 0x15
    jc fail
    dec bp
    jnz .sleep
    mov si, msg_slept
    call puts
    mov byte [flag], 0
    sti
    mov ax, 0x8300              ; set interval: 0x0007A120 us = 0.5 s, flag at ES:BX
    mov cx, 0x0007
    mov dx, 0xa120
    mov bx, flag
    int 0x15
    jc fail
.spin:
    test byte [flag], 0x80
    jz .spin
    mov si, msg_event
    call puts
    mov al, 0x10
    out 0xf4, al
    hlt

fail:
    mov si, msg_fail
    call puts
    mov al, 0x11
    out 0xf4, al
    hlt

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

msg_start: db "START", 10, 0
msg_slept: db "SLEPT", 10, 0
msg_event: db "EVENT", 10, 0
msg_fail: db "FAIL", 10, 0
flag: db 0
