#include "usermode.h"
#include "cpu.h"
#include "io.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1

static u8 user_stack[16384] __attribute__((aligned(16)));
static u8 saved_mask1, saved_mask2;

u32 run_in_ring3(u32 (*fn)(u32), u32 arg)
{
    if (!cpu_has_sysenter())
        return fn(arg); /* pre-Pentium II CPU: no sysexit; run it in ring 0 instead */
    return user_run(fn, arg, (u32)(user_stack + sizeof user_stack));
}

/* On the software-assisted KVM, interrupts injected while a series of ring-3 trips is
 * under way (between one sysenter and the next sysexit, or pending during ring 3 with
 * IF=0) made ring 3 about twice as slow and, at random after some dozens of trips, left
 * the guest stuck for good (see assets/README.md). So the callers mask every IRQ at the
 * PICs around such a series. Edges that arrive meanwhile stay latched in the PICs'
 * request registers (one per line) and are delivered after the masks are restored. */
void user_irqs_mask(void)
{
    saved_mask1 = inb(PIC1_DATA);
    saved_mask2 = inb(PIC2_DATA);
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
}

void user_irqs_restore(void)
{
    outb(PIC2_DATA, saved_mask2);
    outb(PIC1_DATA, saved_mask1);
}
