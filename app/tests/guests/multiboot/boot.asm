; Multiboot entry for the C test kernel (the osdev "Bare Bones" shape): the header,
; a 16 KiB stack, and a call to kmain(magic, info).
bits 32
MB_FLAGS equ 0x3                       ; page-align modules, memory information
MB_MAGIC equ 0x1BADB002

section .multiboot
align 4
  dd MB_MAGIC
  dd MB_FLAGS
  dd -(MB_MAGIC + MB_FLAGS)

section .bss
align 16
stack_bottom:
  resb 16384
stack_top:

section .text
global _start
extern kmain
_start:
  mov esp, stack_top
  push ebx
  push eax
  call kmain
.hang:
  cli
  hlt
  jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
