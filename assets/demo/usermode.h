/* Running code at CPL 3 (see entry.asm user_run) on a dedicated user stack. */
#ifndef USERMODE_H
#define USERMODE_H
#include "types.h"
/* Call fn(arg) in ring 3 with IF=0; returns its result, or 0xFFFFFFFF if it faulted
 * (where faults in ring 3 reach the IDT at all, see entry.asm). */
u32 run_in_ring3(u32 (*fn)(u32), u32 arg);
#endif
