/* Trap dispatch, 8259 PIC pair and 8254 PIT (IRQ0 at 100 Hz). */
#ifndef INTERRUPTS_H
#define INTERRUPTS_H
#include "types.h"

#define TICK_HZ 100

void pic_init(void);
void pit_init(void);
u32 ticks_now(void);
/* Sleep with hlt until n more timer ticks have passed. */
void sleep_ticks(u32 n);
/* Measure the TSC rate against the PIT (100 ms, at boot; interrupts on). */
void tsc_calibrate(void);
/* TSC cycles per millisecond (0 before tsc_calibrate). */
u32 tsc_cycles_per_ms(void);
#endif
