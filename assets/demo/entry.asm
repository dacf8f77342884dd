; hv demo OS - kernel entry and low-level CPU glue (32-bit protected mode).
;
; boot.asm jumps to _start at linear 0x10000 with flat 4 GiB code/data segments.
; This file holds only what C cannot express: the entry point, the interrupt stubs
; (which build a struct trap_frame, see cpu.h) and the ring-3 enter/leave path.

bits 32

KERNEL_CS equ 0x08
KERNEL_DS equ 0x10
USER_CS   equ 0x18 | 3
USER_DS   equ 0x20 | 3

section .text.entry
global _start
extern kmain
extern __bss_start, __bss_end
_start:
    cld
    mov esp, kernel_stack_top
    mov edi, __bss_start            ; .bss is not in the flat binary: zero it
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .text

; ---- interrupt stubs -------------------------------------------------------------
; Every stub pushes (error code or 0) and its vector, then joins trap_common, which saves
; the registers, loads kernel data segments and calls trap_dispatch(struct trap_frame *).
extern trap_dispatch

%macro TRAP_NOERR 1
trap_stub_%1:
    push dword 0
    push dword %1
    jmp trap_common
%endmacro
%macro TRAP_ERR 1
trap_stub_%1:
    push dword %1                   ; the CPU already pushed an error code
    jmp trap_common
%endmacro

%assign v 0
%rep 32
  %if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21
    TRAP_ERR v
  %else
    TRAP_NOERR v
  %endif
  %assign v v + 1
%endrep
%assign v 32
%rep 16
    TRAP_NOERR v
  %assign v v + 1
%endrep
TRAP_NOERR 128

trap_common:
    pusha
    push ds
    push es
    push fs
    push gs
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    cld
    push esp                        ; struct trap_frame *
    call trap_dispatch
    add esp, 4
    pop gs
    pop fs
    pop es
    pop ds
    popa
    add esp, 8                      ; vector + error code
    iret

; Table of stub addresses for cpu.c: 0..47 then 0x80.
section .rodata
global trap_stub_table
trap_stub_table:
%assign v 0
%rep 48
    dd trap_stub_%[v]
  %assign v v + 1
%endrep
    dd trap_stub_128

section .text
; ---- ring 3 -----------------------------------------------------------------------
; u32 user_run(u32 (*fn)(u32), u32 arg, u32 user_stack_top)
; Runs fn(arg) at CPL 3 with interrupts enabled and returns its result once the user
; code executes the exit syscall (int 0x80, eax = 0, ebx = result). The kernel's
; callee-saved registers and stack pointer are parked here meanwhile; interrupts taken
; in ring 3 run on the TSS esp0 stack.
global user_run, user_leave
user_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_kernel_esp], esp
    mov eax, [esp + 20]             ; fn
    mov ecx, [esp + 24]             ; arg
    mov edx, [esp + 28]             ; user stack top
    sub edx, 8
    mov [edx + 4], ecx              ; fn's argument
    mov dword [edx], user_exit_trampoline ; fn's return address
    mov cx, USER_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    push dword USER_DS              ; ss
    push edx                        ; esp
    push dword 0x202                ; eflags: IF=1, IOPL=0
    push dword USER_CS              ; cs
    push eax                        ; eip
    iret

; Ring-3 code: fn returned its result in eax; hand it to the kernel.
user_exit_trampoline:
    mov ebx, eax
    xor eax, eax                    ; syscall 0 = exit
    int 0x80
    ud2                             ; not reached

; void user_leave(u32 result) - called from trap_dispatch (ring 0, kernel segments
; loaded): abandon the trap frame and return from user_run with result.
user_leave:
    mov eax, [esp + 4]
    mov esp, [saved_kernel_esp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    sti
    ret

section .bss
align 16
saved_kernel_esp: resd 1
kernel_stack: resb 16384
kernel_stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
