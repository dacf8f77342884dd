; hv demo OS - boot sector (MBR, LBA 0).
;
; Loaded by the BIOS at 0000:7C00 with DL = boot drive. It:
;   1. loads KERNEL_SECTORS sectors (LBA 1..) to linear 0x10000, with int 13h AH=42h when
;      AH=41h reports the EDD packet interface, else with AH=08h geometry + AH=02h CHS reads;
;   2. collects the E820 memory map (int 15h EAX=E820h) into the boot info block at 0x500;
;   3. turns A20 on through port 0x92 ("fast A20");
;   4. enters 32-bit protected mode with a flat GDT and jumps to the kernel at 0x10000.
; KERNEL_SECTORS is passed by build.sh (nasm -D).

bits 16
org 0x7C00

%ifndef KERNEL_SECTORS
%error "KERNEL_SECTORS must be defined"
%endif

KERNEL_SEG      equ 0x1000          ; kernel lands at 0x1000:0000 = linear 0x10000
CHUNK           equ 32              ; sectors per LBA request (16 KiB, never crosses 64 KiB in one go)
BOOTINFO        equ 0x0500          ; see kernel/bootinfo.h
BI_MAGIC        equ BOOTINFO + 0
BI_DRIVE        equ BOOTINFO + 4
BI_E820_COUNT   equ BOOTINFO + 8
BI_LOAD_METHOD  equ BOOTINFO + 12
BI_E820         equ BOOTINFO + 16
E820_MAX        equ 32
SMAP            equ 0x534D4150

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    sti
    jmp 0x0000:canonical            ; some BIOSes enter at 07C0:0000
canonical:
    cld
    mov [boot_drive], dl

    mov di, BOOTINFO                ; zero the 16-byte boot info header
    mov cx, 8
    xor ax, ax
    rep stosw
    mov dword [BI_MAGIC], 0x4D445648 ; "HVDM"
    mov [BI_DRIVE], dl

; ---- 1. load the kernel ----------------------------------------------------------
    mov ah, 0x41
    mov bx, 0x55AA
    mov dl, [boot_drive]
    int 0x13
    jc load_chs
    cmp bx, 0xAA55
    jne load_chs
    test cl, 1                      ; bit 0: fixed disk access subset (AH=42h) supported
    jz load_chs

load_lba:
    mov byte [BI_LOAD_METHOD], 1
.next:
    mov ax, [sectors_left]
    test ax, ax
    jz loaded
    cmp ax, CHUNK
    jbe .count_ok
    mov ax, CHUNK
.count_ok:
    mov [dap_count], ax
    mov si, dap
    mov dl, [boot_drive]
    mov ah, 0x42
    int 0x13
    jc disk_error
    mov ax, [dap_count]
    sub [sectors_left], ax
    add [dap_lba], ax
    shl ax, 5                       ; sectors * 512 / 16 = paragraphs
    add [dap_seg], ax
    jmp .next

load_chs:
    mov byte [BI_LOAD_METHOD], 2
    mov ah, 0x08
    mov dl, [boot_drive]
    xor di, di                      ; ES:DI = 0 guards against buggy BIOSes
    int 0x13
    jc disk_error
    and cx, 0x3F
    mov [spt], cx
    movzx dx, dh
    inc dx
    mov [heads], dx
    xor ax, ax
    mov es, ax
.next:
    cmp word [sectors_left], 0
    je loaded
    ; LBA -> CHS: sector = lba % spt + 1, head = (lba / spt) % heads, cyl = lba / spt / heads
    mov ax, [dap_lba]
    xor dx, dx
    div word [spt]
    inc dx
    mov cl, dl                      ; sector (bits 0-5)
    xor dx, dx
    div word [heads]
    mov dh, dl                      ; head
    mov ch, al                      ; cylinder low 8 bits
    shl ah, 6
    or cl, ah                       ; cylinder bits 8-9
    mov ax, [dap_seg]
    mov es, ax
    xor bx, bx
    mov di, 3                       ; tries
.retry:
    mov dl, [boot_drive]
    mov ax, 0x0201
    push cx
    push dx
    int 0x13
    pop dx
    pop cx
    jnc .ok
    xor ah, ah                      ; reset and retry
    mov dl, [boot_drive]
    int 0x13
    dec di
    jnz .retry
    jmp disk_error
.ok:
    dec word [sectors_left]
    inc word [dap_lba]
    add word [dap_seg], 512 / 16
    jmp .next

loaded:
    xor ax, ax
    mov es, ax

; ---- 2. E820 memory map ------------------------------------------------------------
    xor ebx, ebx
    xor bp, bp                      ; entry count
    mov di, BI_E820
.e820_next:
    mov eax, 0xE820
    mov edx, SMAP
    mov ecx, 24
    int 0x15
    jc .e820_done
    cmp eax, SMAP
    jne .e820_done
    inc bp
    add di, 24
    test ebx, ebx
    jz .e820_done
    cmp bp, E820_MAX
    jb .e820_next
.e820_done:
    mov [BI_E820_COUNT], bp

; ---- 3. A20 --------------------------------------------------------------------------
; "Fast A20" through system control port A (bit 1). Bit 0 would reset the machine.
; Virtual machines (and SeaBIOS) normally have A20 on already; this is a cheap guarantee.
    in al, 0x92
    or al, 2
    and al, 0xFE
    out 0x92, al

; ---- 4. protected mode -------------------------------------------------------------
    cli
    lgdt [gdt_desc]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:pm_entry

; Out of room for a message: a single "E" (int 10h teletype) and stop.
disk_error:
    mov ax, 0x0E45
    xor bx, bx
    int 0x10
.halt:
    cli
    hlt
    jmp .halt

bits 32
pm_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax                      ; esp stays below 0x7C00; the kernel sets its own stack
    jmp 0x08:0x10000

; ---- data ---------------------------------------------------------------------------
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 code, flat 4 GiB, 32-bit
    dq 0x00CF92000000FFFF           ; 0x10 data, flat 4 GiB
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

dap:                                ; int 13h AH=42h disk address packet
    db 0x10, 0
dap_count: dw 0
    dw 0                            ; buffer offset
dap_seg: dw KERNEL_SEG
dap_lba: dd 1, 0

sectors_left: dw KERNEL_SECTORS
spt:        dw 0
heads:      dw 0
boot_drive: db 0

times 446 - ($ - $$) db 0           ; code must end before the (empty) partition table
times 510 - ($ - $$) db 0
    dw 0xAA55
