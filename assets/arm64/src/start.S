// Entry point and arm64 Image header of the hv arm64 demo.
//
// The 64-byte header (Linux Documentation/arch/arm64/booting.rst) makes both hv and
// QEMU's -kernel load the image at RAM base + text_offset (0x40080000, where it is
// linked) and pass the device tree address in x0. We arrive at EL1 with the MMU off,
// so every data access is Device memory: the C code is built with -mstrict-align.

    .section .text.head, "ax"
    .globl  _start
_start:
    b       entry                   // code0
    .long   0                       // code1
    .quad   0x80000                 // text_offset
    .quad   _image_size             // image_size: file + bss + stack
    .quad   0x2                     // flags: little-endian, 4K pages, near RAM base
    .quad   0, 0, 0                 // res2-res4
    .byte   'A', 'R', 'M', 0x64     // magic "ARM\x64"
    .long   0                       // res5 (no PE header)

entry:
    mov     x19, x0                 // the DTB, kept across the BSS clear
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    isb
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  mov     x0, x19
    bl      demo_main
3:  wfi
    b       3b

// Every exception is fatal for the demo: report it on the UART and power off.
    .balign 0x800
vectors:
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .balign 0x80
    mov     x0, #\n
    b       exception
    .endr

exception:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    adrp    x4, __stack_top
    add     x4, x4, :lo12:__stack_top
    mov     sp, x4
    bl      demo_exception
4:  wfi
    b       4b
