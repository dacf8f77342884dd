/* Everything that arrives through the IDT ends in trap_dispatch(). */
#include "interrupts.h"
#include "cpu.h"
#include "io.h"
#include "lib.h"
#include "keyboard.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define PIC_READ_ISR 0x0B

#define PIT_CH0 0x40
#define PIT_MODE 0x43
#define PIT_INPUT_HZ 1193182u

static volatile u32 ticks;

void pic_init(void)
{
    /* ICW1: edge, cascade, ICW4 follows; ICW2: vector base; ICW3: slave on IR2; ICW4: 8086 mode */
    outb(PIC1_CMD, 0x11);
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, IRQ_BASE);
    outb(PIC2_DATA, IRQ_BASE + 8);
    outb(PIC1_DATA, 0x04);
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01);
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xF8); /* unmask IRQ0 (PIT), IRQ1 (keyboard), IRQ2 (cascade) */
    outb(PIC2_DATA, 0xFF);
}

void pit_init(void)
{
    u32 divisor = (PIT_INPUT_HZ + TICK_HZ / 2) / TICK_HZ; /* 11932 */
    outb(PIT_MODE, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
    outb(PIT_CH0, (u8)divisor);
    outb(PIT_CH0, (u8)(divisor >> 8));
}

u32 ticks_now(void) { return ticks; }

void sleep_ticks(u32 n)
{
    u32 start = ticks;
    while (ticks - start < n)
        cpu_sti_hlt();
}

static u32 tsc_per_ms;

/* Count TSC cycles over TSC_CAL_TICKS PIT periods, starting at a tick edge. Needs IF=1. */
#define TSC_CAL_TICKS 10
void tsc_calibrate(void)
{
    u32 t = ticks;
    while (ticks == t)
        cpu_sti_hlt();
    t = ticks;
    u64 c0 = cpu_rdtsc();
    while (ticks - t < TSC_CAL_TICKS)
        cpu_sti_hlt();
    u64 c1 = cpu_rdtsc();
    u64 per_ms = udiv64(c1 - c0, TSC_CAL_TICKS * (1000 / TICK_HZ), NULL);
    tsc_per_ms = per_ms > 0xFFFFFFFFu ? 0xFFFFFFFFu : (u32)per_ms;
}

u32 tsc_cycles_per_ms(void) { return tsc_per_ms; }

static const char *const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 error", "alignment check", "machine check", "SIMD error", "virtualization",
    "control protection", "reserved", "reserved", "reserved", "reserved", "reserved",
    "reserved", "reserved", "reserved", "reserved", "reserved"};

static void handle_exception(struct trap_frame *f)
{
    int from_user = (f->cs & 3) == 3;
    kprintf("\n*** exception %u (%s) err=%x at %x:%08x%s\n", f->vector, exception_names[f->vector],
            f->error, f->cs, f->eip, from_user ? " in ring 3" : "");
    if (from_user) {
        /* Only where exceptions at CPL 3 go through the IDT (QEMU, real hardware); the
         * software-assisted KVM kills the guest instead, so ring-3 code must not fault. */
        kprintf("*** user program aborted\n");
        user_leave(0xFFFFFFFFu);
    }
    kprintf("*** kernel halted\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void handle_irq(u32 irq)
{
    if (irq == 7 || irq == 15) {
        /* Spurious IRQ: the PIC raised INT but nothing was in service; no EOI for it. */
        outb(irq == 7 ? PIC1_CMD : PIC2_CMD, PIC_READ_ISR);
        u8 isr = inb(irq == 7 ? PIC1_CMD : PIC2_CMD);
        if (!(isr & 0x80)) {
            if (irq == 15)
                outb(PIC1_CMD, PIC_EOI); /* the master did see the cascade */
            return;
        }
    }
    if (irq == 0)
        ticks++;
    else if (irq == 1)
        keyboard_irq();
    if (irq >= 8)
        outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < 32)
        handle_exception(f);
    else if (f->vector < 48)
        handle_irq(f->vector - IRQ_BASE);
}
