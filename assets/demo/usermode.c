#include "usermode.h"
#include "cpu.h"

static u8 user_stack[16384] __attribute__((aligned(16)));

u32 run_in_ring3(u32 (*fn)(u32), u32 arg)
{
    if (!cpu_has_sysenter())
        return fn(arg); /* pre-Pentium II CPU: no sysexit; run it in ring 0 instead */
    return user_run(fn, arg, (u32)(user_stack + sizeof user_stack));
}
