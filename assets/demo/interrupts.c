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

#define SYS_EXIT 0

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
    else if (f->vector == SYSCALL_VECTOR) {
        if (f->eax == SYS_EXIT)
            user_leave(f->ebx);
        f->eax = 0xFFFFFFFFu; /* unknown syscall */
    }
}
