/* Descriptor tables (GDT with ring-3 segments and a TSS, IDT) and the trap frame. */
#ifndef CPU_H
#define CPU_H
#include "types.h"

#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_CODE (0x18 | 3)
#define SEL_USER_DATA (0x20 | 3)
#define SEL_TSS 0x28

#define IRQ_BASE 0x20      /* PIC master vectors 0x20-0x27, slave 0x28-0x2F */
#define SYSCALL_VECTOR 0x80

/* Layout pushed by entry.asm trap_common (lowest address first). */
struct trap_frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pusha */
    u32 vector, error;
    u32 eip, cs, eflags;
    u32 user_esp, user_ss; /* only when coming from ring 3 */
};

void cpu_init(void);

/* From entry.asm. */
u32 user_run(u32 (*fn)(u32), u32 arg, u32 user_stack_top);
void user_leave(u32 result) __attribute__((noreturn));
#endif
