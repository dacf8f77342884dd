; Enters 32-bit protected mode at CPL 0 and executes an x87 instruction (fld1). On a
; KVM that emulates kernel-mode code this stops the guest with an emulation failure
; (KVM_EXIT_INTERNAL_ERROR); hv must explain it (x87, -mgeneral-regs-only) and exit 1.
; On hardware KVM fld1 simply runs; the guest then exits with 0x33 (status 0x67).
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdt_desc]
  mov eax, cr0
  or al, 1
  and eax, ~0x0C              ; EM = 0, TS = 0: the FPU is usable
  mov cr0, eax
  jmp 0x08:pm
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  mov esp, 0x7000
  fninit
  fld1
  mov al, 0x33
  out 0xF4, al
  hlt
align 8
gdt:
  dq 0
  dq 0x00CF9A000000FFFF       ; flat 32-bit code
  dq 0x00CF92000000FFFF       ; flat data
gdt_desc:
  dw gdt_desc - gdt - 1
  dd gdt
