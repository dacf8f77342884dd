/* Running code at CPL 3 (see entry.asm user_run) on a dedicated user stack. */
#ifndef USERMODE_H
#define USERMODE_H
#include "types.h"
/* Call fn(arg) in ring 3 (IF=0); returns its result, or 0xFFFFFFFF if it faulted. */
u32 run_in_ring3(u32 (*fn)(u32), u32 arg);
/* Mask all IRQs at the PICs around a series of ring-3 trips, and restore the masks. */
void user_irqs_mask(void);
void user_irqs_restore(void);
#endif
