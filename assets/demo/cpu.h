/* Descriptor tables (GDT with ring-3 segments and a TSS, IDT) and the trap frame. */
#ifndef CPU_H
#define CPU_H
#include "types.h"

#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_CODE (0x18 | 3)
#define SEL_USER_DATA (0x20 | 3)
#define SEL_TSS 0x28
/* sysenter/sysexit derive all four selectors from SYSENTER_CS: kernel CS = it, SS = +8,
 * user CS = +16 | 3, SS = +24 | 3. The GDT above is laid out for SYSENTER_CS = 0x08. */
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#define IRQ_BASE 0x20      /* PIC master vectors 0x20-0x27, slave 0x28-0x2F */

/* Layout pushed by entry.asm trap_common (lowest address first). */
struct trap_frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pusha */
    u32 vector, error;
    u32 eip, cs, eflags;
    u32 user_esp, user_ss; /* only for an exception in ring 3 (see entry.asm) */
};

void cpu_init(void);
/* CPUID.1:EDX.SEP - sysenter/sysexit are available (checked by cpu_init). */
int cpu_has_sysenter(void);

/* From entry.asm. */
/* Ring 3 via sysexit with IF=0, back via sysenter; see entry.asm. */
u32 user_run(u32 (*fn)(u32), u32 arg, u32 user_stack_top);
void user_leave(u32 result) __attribute__((noreturn));
#endif
