; PIC + PIT against wall time: programs the 8259 pair (IRQ0 -> vector 0x08) and PIT
; channel 0 at 100 Hz (mode 2, count 11932), counts IRQ0s in an IVT handler, and uses the
; CMOS RTC seconds register as the wall clock: waits for a seconds edge, counts ticks for
; three more edges, prints "TICKS <n>" on COM1 and exits through the debug-exit port.
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    mov word [0x08*4], irq0          ; IVT entry for vector 0x08
    mov word [0x08*4+2], 0

    ; 8259 pair: ICW1..ICW4, master base 0x08, slave base 0x70, cascade on IR2
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe                     ; only IRQ0 unmasked
    out 0x21, al
    mov al, 0xff
    out 0xa1, al

    ; PIT channel 0, lobyte/hibyte, mode 2, 11932 = 100 Hz
    mov al, 0x34
    out 0x43, al
    mov ax, 11932
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti

    call wait_second_edge            ; align to an RTC second
    mov word [ticks], 0
    mov cx, 3
.seconds:
    call wait_second_edge
    loop .seconds
    cli
    mov si, msg
    call puts
    mov ax, [ticks]
    call put_decimal
    mov al, 10
    call putc
    mov al, 0x00                     ; exit status 1
    out 0xf4, al
    hlt

; Waits (halting between ticks) until the RTC seconds register changes.
wait_second_edge:
    call rtc_seconds
    mov bl, al
.wait:
    hlt
    call rtc_seconds
    cmp al, bl
    je .wait
    ret

rtc_seconds:
    mov al, 0x00
    out 0x70, al
    in al, 0x71
    ret

irq0:
    inc word [cs:ticks]
    push ax
    mov al, 0x20                     ; non-specific EOI
    out 0x20, al
    pop ax
    iret

; COM1 output
putc:
    mov dx, 0x3f8
    out dx, al
    ret

puts:
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

; Prints AX in decimal.
put_decimal:
    mov bx, 10
    xor cx, cx
.div:
    xor dx, dx
    div bx
    push dx
    inc cx
    test ax, ax
    jnz .div
.out:
    pop ax
    add al, '0'
    call putc
    loop .out
    ret

msg: db "TICKS ", 0
ticks: dw 0
