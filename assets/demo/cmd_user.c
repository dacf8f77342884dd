/* user: the same integer loop in ring 3 (native under hardware virtualization) and,
 * scaled down, in ring 0 (emulated on a software-assisted KVM), timed with the PIT and
 * the TSC. */
#include "commands.h"
#include "interrupts.h"
#include "io.h"
#include "lib.h"
#include "usermode.h"

#define USER_ITERATIONS 20000000u
#define KERNEL_SCALE 1000u /* ring 0 runs USER_ITERATIONS / KERNEL_SCALE */

/* xorshift32 mixing; the sum makes the result depend on every step so nothing is
 * optimised away. Runs at either privilege level. */
static u32 compute_loop(u32 iterations)
{
    u32 x = 2463534242u, sum = 0;
    for (u32 i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        sum += x;
    }
    return sum;
}

static void print_ratio(u64 num, u64 den)
{
    while (den >> 32) { /* udiv64 takes a 32-bit divisor */
        num >>= 1;
        den >>= 1;
    }
    if (!den) {
        kprintf("n/a");
        return;
    }
    u32 rem;
    u64 whole = udiv64(num, (u32)den, &rem);
    u32 tenth = (u32)udiv64((u64)rem * 10, (u32)den, NULL);
    kprint_u64(whole);
    kprintf(".%u", tenth);
}

void cmd_user(const char *args)
{
    (void)args;
    kprintf("ring 3: %u xorshift iterations (iret to CPL 3, back via int 0x80)...\n",
            USER_ITERATIONS);
    u32 t0 = ticks_now();
    u64 c0 = cpu_rdtsc();
    u32 r3 = run_in_ring3(compute_loop, USER_ITERATIONS);
    u64 c1 = cpu_rdtsc();
    u32 t1 = ticks_now();
    u64 user_cycles = c1 - c0;
    u32 user_ticks = t1 - t0;
    kprintf("  result %08x, %u ticks (%u ms), TSC ", r3, user_ticks, user_ticks * (1000 / TICK_HZ));
    kprint_u64(user_cycles);
    kprintf(" cycles\n");

    u32 small = USER_ITERATIONS / KERNEL_SCALE;
    kprintf("ring 0: %u iterations of the same loop...\n", small);
    t0 = ticks_now();
    c0 = cpu_rdtsc();
    u32 r0 = compute_loop(small);
    c1 = cpu_rdtsc();
    t1 = ticks_now();
    u64 kernel_cycles = c1 - c0;
    kprintf("  result %08x, %u ticks, TSC ", r0, t1 - t0);
    kprint_u64(kernel_cycles);
    kprintf(" cycles\n");

    /* per-iteration cost ring 0 / ring 3 = (kernel_cycles / small) / (user_cycles / N) */
    kprintf("ring 0 per iteration costs ");
    print_ratio(kernel_cycles * KERNEL_SCALE, user_cycles);
    kprintf("x ring 3");
    if (user_ticks > 0) {
        /* TSC cycles per ms from the ring-3 run (PIT-timed) give the ring-0 estimate. */
        kprintf(" (full loop in ring 0: ~");
        print_ratio(kernel_cycles * KERNEL_SCALE * user_ticks * (1000 / TICK_HZ), user_cycles);
        kprintf(" ms)");
    }
    kprintf("\n");
}
