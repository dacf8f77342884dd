/* GDT, TSS and IDT setup. Segmentation is flat (base 0, limit 4 GiB) for both rings;
 * there is no paging, so ring 3 is kept out of privileged work only by the CPL checks
 * on instructions and I/O (IOPL = 0, no I/O bitmap). */
#include "cpu.h"
#include "lib.h"

struct gdt_entry {
    u16 limit_lo, base_lo;
    u8 base_mid, access, flags_limit_hi, base_hi;
} __attribute__((packed));

struct idt_entry {
    u16 offset_lo, selector;
    u8 zero, type_attr;
    u16 offset_hi;
} __attribute__((packed));

struct table_ptr {
    u16 limit;
    u32 base;
} __attribute__((packed));

/* 32-bit TSS: only ss0:esp0 (the stack for exceptions taken in ring 3) matters here, and
 * only where such exceptions go through the IDT (not on the software-assisted KVM, see
 * entry.asm). ltr is still required for a well-formed protected-mode setup. */
struct tss {
    u32 prev, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
} __attribute__((packed));

static struct gdt_entry gdt[6];
static struct idt_entry idt[256];
static struct tss tss;
static u8 ring0_trap_stack[8192] __attribute__((aligned(16)));

extern const u32 trap_stub_table[48];
extern const u8 sysenter_stack_top[];
void sysenter_entry(void);
static int has_sysenter;

static void wrmsr(u32 msr, u32 lo, u32 hi)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(hi));
}

int cpu_has_sysenter(void) { return has_sysenter; }

static void gdt_set(int i, u32 base, u32 limit, u8 access, u8 flags)
{
    gdt[i].limit_lo = (u16)limit;
    gdt[i].base_lo = (u16)base;
    gdt[i].base_mid = (u8)(base >> 16);
    gdt[i].access = access;
    gdt[i].flags_limit_hi = (u8)((flags << 4) | ((limit >> 16) & 0x0F));
    gdt[i].base_hi = (u8)(base >> 24);
}

static void idt_set(int vector, u32 handler, u8 dpl)
{
    idt[vector].offset_lo = (u16)handler;
    idt[vector].selector = SEL_KERNEL_CODE;
    idt[vector].zero = 0;
    idt[vector].type_attr = (u8)(0x80 | (dpl << 5) | 0x0E); /* present, 32-bit interrupt gate */
    idt[vector].offset_hi = (u16)(handler >> 16);
}

void cpu_init(void)
{
    /* access: 0x9A/0x92 = present ring-0 code/data, 0xFA/0xF2 = ring-3; flags 0xC = 4K granular, 32-bit */
    /* The order kernel code, kernel data, user code, user data is what sysenter/sysexit
     * require (selectors derived from SYSENTER_CS = 0x08, see cpu.h). */
    gdt_set(0, 0, 0, 0, 0);
    gdt_set(1, 0, 0xFFFFF, 0x9A, 0xC);
    gdt_set(2, 0, 0xFFFFF, 0x92, 0xC);
    gdt_set(3, 0, 0xFFFFF, 0xFA, 0xC);
    gdt_set(4, 0, 0xFFFFF, 0xF2, 0xC);
    memset(&tss, 0, sizeof tss);
    tss.ss0 = SEL_KERNEL_DATA;
    tss.esp0 = (u32)(ring0_trap_stack + sizeof ring0_trap_stack);
    tss.iomap_base = sizeof tss; /* no I/O permission bitmap: ring 3 has no port access */
    gdt_set(5, (u32)&tss, sizeof tss - 1, 0x89, 0x0); /* available 32-bit TSS */

    struct table_ptr gp = {sizeof gdt - 1, (u32)gdt};
    __asm__ volatile(
        "lgdt %0\n\t"
        "ljmp %1, $1f\n"
        "1:\n\t"
        "mov %2, %%ax\n\t"
        "mov %%ax, %%ds\n\t"
        "mov %%ax, %%es\n\t"
        "mov %%ax, %%fs\n\t"
        "mov %%ax, %%gs\n\t"
        "mov %%ax, %%ss\n\t"
        "mov %3, %%ax\n\t"
        "ltr %%ax"
        :
        : "m"(gp), "i"(SEL_KERNEL_CODE), "i"(SEL_KERNEL_DATA), "i"(SEL_TSS)
        : "eax", "memory");

    /* Exceptions and IRQs only, all DPL 0. There is no int 0x80 system call gate: ring 3
     * leaves with sysenter, because an int from CPL 3 triple-faults on the software-
     * assisted KVM (see entry.asm). */
    for (int v = 0; v < 48; v++)
        idt_set(v, trap_stub_table[v], 0);
    struct table_ptr ip = {sizeof idt - 1, (u32)idt};
    __asm__ volatile("lidt %0" : : "m"(ip));

    /* sysenter/sysexit: CPUID.1:EDX bit 11 (SEP). Every CPU since the Pentium II has it. */
    u32 a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    has_sysenter = (d >> 11) & 1;
    if (has_sysenter) {
        wrmsr(MSR_SYSENTER_CS, SEL_KERNEL_CODE, 0);
        wrmsr(MSR_SYSENTER_ESP, (u32)sysenter_stack_top, 0);
        wrmsr(MSR_SYSENTER_EIP, (u32)sysenter_entry, 0);
    }
}
