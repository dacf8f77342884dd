; hv demo OS - kernel entry and low-level CPU glue (32-bit protected mode).
;
; boot.asm jumps to _start at linear 0x10000 with flat 4 GiB code/data segments.
; This file holds only what C cannot express: the entry point, the interrupt stubs
; (which build a struct trap_frame, see cpu.h) and the ring-3 enter/leave path.
;
; No iret anywhere, and no interrupt or exception is ever taken at CPL 3. The reason is
; the software-assisted KVM (kvm_pvm) hv is developed on: it runs CPL-0 code through
; KVM's instruction emulator, which implements IRET only in real mode (a protected-mode
; iret stops the guest with "KVM emulation failure"), and it delivers events that arrive
; at CPL 3 through its own paravirtual entry rather than the IDT (int 0x80, IRQs or faults
; in ring 3 triple-fault). What works there, and behaves identically on real hardware and
; other hypervisors, is used instead:
;   - interrupt handlers return with popfd + retf 4 (see trap_common), which is enough
;     because interrupts only ever interrupt CPL-0 code;
;   - ring 3 is entered with sysexit (IF=0) and left with sysenter (see user_run).

bits 32

KERNEL_CS equ 0x08                  ; = SYSENTER_CS (cpu.c); sysenter loads SS = +8
KERNEL_DS equ 0x10
USER_CS   equ 0x18 | 3              ; sysexit loads CS = SYSENTER_CS + 16 | 3
USER_DS   equ 0x20 | 3              ;            and SS = SYSENTER_CS + 24 | 3

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
    ; Return without iret (not emulated at CPL 0 in protected mode, see the top). The
    ; stack holds EIP, CS, EFLAGS of interrupted CPL-0 code (ring 3 always runs with IF=0,
    ; so nothing returns here to ring 3). popfd restores EFLAGS with IF clear; if the
    ; interrupted code had IF=1, sti sets it, and sti's one-instruction interrupt shadow
    ; lets retf complete before a new interrupt is taken, so the stack cannot grow with
    ; nested half-returned frames. retf 4 pops EIP and CS and drops the saved EFLAGS.
    ; The saved IF is tested *before* popfd: a test after it would clobber the restored
    ; arithmetic flags of the interrupted code (an interrupt between a cmp and its jcc
    ; would then take the wrong branch).
    test byte [esp + 9], 0x02       ; saved EFLAGS.IF (bit 9)
    jnz .if_on
    push dword [esp + 8]            ; saved EFLAGS (IF already clear)
    popfd
    retf 4
.if_on:
    push dword [esp + 8]            ; saved EFLAGS ...
    and dword [esp], ~0x200         ; ... with IF cleared (popfd replaces the flags it sets)
    popfd
    sti
    retf 4

; Table of stub addresses for cpu.c: vectors 0..47 (exceptions, then PIC IRQs).
section .rodata
global trap_stub_table
trap_stub_table:
%assign v 0
%rep 48
    dd trap_stub_%[v]
  %assign v v + 1
%endrep

section .text
; ---- ring 3 -----------------------------------------------------------------------
; u32 user_run(u32 (*fn)(u32), u32 arg, u32 user_stack_top)
; Runs fn(arg) at CPL 3 on its own stack and returns its result once fn returns (into
; user_exit_trampoline, which executes sysenter).
;
; Entry is sysexit, exit is sysenter (cpu.c sets SYSENTER_CS/ESP/EIP; the GDT has user
; code/data at SYSENTER_CS+16 / +24 as sysexit requires). The whole stint in ring 3 runs
; with IF=0 and on known-good code and stack: on the software-assisted KVM an interrupt or
; exception taken at CPL 3 does not go through the IDT and kills the guest (see the top).
; IRQs raised meanwhile stay pending and are taken once user_run restores the caller's
; EFLAGS. The kernel's callee-saved registers, EFLAGS and stack pointer are parked here.
global user_run, user_leave, sysenter_entry
user_run:
    push ebp
    push ebx
    push esi
    push edi
    pushfd                          ; the caller's IF, restored on the way back
    cli                             ; IF=0 for all of ring 3 (sysexit keeps EFLAGS)
    mov [saved_kernel_esp], esp
    mov eax, [esp + 24]             ; fn
    mov ecx, [esp + 28]             ; arg
    mov edx, [esp + 32]             ; user stack top
    sub edx, 8
    mov [edx + 4], ecx              ; fn's argument
    mov dword [edx], user_exit_trampoline ; fn's return address
    mov ecx, edx                    ; sysexit: ESP <- ECX
    mov edx, eax                    ;          EIP <- EDX
    mov ax, USER_DS                 ; data segments for ring 3 (sysexit sets only CS, SS)
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    sysexit                         ; CS = SYSENTER_CS+16 | 3, SS = SYSENTER_CS+24 | 3

; Ring-3 code: fn returned its result in eax; hand it to the kernel. sysenter leaves eax
; alone, so it carries the result.
user_exit_trampoline:
    sysenter
    ud2                             ; not reached

; sysenter lands here: CPL 0, CS = KERNEL_CS, SS = KERNEL_DS, ESP = SYSENTER_ESP (a scratch
; stack, unused), IF=0. The data segments still hold the user selector.
sysenter_entry:
    mov cx, KERNEL_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    mov esp, [saved_kernel_esp]
    jmp user_return

; void user_leave(u32 result) - called from trap_dispatch (ring 0, kernel segments
; loaded) when ring-3 code faulted: abandon the trap frame and return from user_run with
; result. Only reachable where exceptions at CPL 3 go through the IDT (real hardware,
; QEMU, ordinary VT-x/SVM KVM); see the top.
user_leave:
    mov eax, [esp + 4]
    mov esp, [saved_kernel_esp]
user_return:                        ; eax = result, esp = saved_kernel_esp
    popfd                           ; the caller's IF (pending IRQs are taken from here on)
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .bss
align 16
saved_kernel_esp: resd 1
global sysenter_stack_top
sysenter_stack: resb 256            ; SYSENTER_ESP: sysenter_entry switches away at once
sysenter_stack_top:
kernel_stack: resb 16384
kernel_stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
