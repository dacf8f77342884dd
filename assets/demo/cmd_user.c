/* user: the same integer loop in ring 3 (native under hardware virtualization) and,
 * scaled down, in ring 0 (emulated on a software-assisted KVM), timed with the TSC.
 *
 * Ring 3 is entered with sysexit and left with sysenter, with IF=0 throughout (see
 * entry.asm for why), so the PIT does not tick during the ring-3 run: its time comes
 * from the TSC, converted with the rate tsc_calibrate() measured against the PIT at boot. */
#include "commands.h"
#include "cpu.h"
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

/* cycles as milliseconds with one decimal, from the boot-time TSC calibration */
static void print_ms(u64 cycles)
{
    u32 per_ms = tsc_cycles_per_ms();
    if (!per_ms) {
        kprintf("? ms");
        return;
    }
    u32 rem;
    u64 ms = udiv64(cycles, per_ms, &rem);
    kprint_u64(ms);
    kprintf(".%u ms", (u32)udiv64((u64)rem * 10, per_ms, NULL));
}

void cmd_user(const char *args)
{
    (void)args;
    if (!cpu_has_sysenter())
        kprintf("(no sysenter/sysexit on this CPU: the \"ring 3\" run stays in ring 0)\n");
    kprintf("ring 3: %u xorshift iterations (sysexit to CPL 3 with IF=0, back via sysenter)\n",
            USER_ITERATIONS);
    u64 c0 = cpu_rdtsc();
    u32 r3 = run_in_ring3(compute_loop, USER_ITERATIONS);
    u64 c1 = cpu_rdtsc();
    u64 user_cycles = c1 - c0;
    kprintf("  result %08x, TSC ", r3);
    kprint_u64(user_cycles);
    kprintf(" cycles = ");
    print_ms(user_cycles);
    kprintf("\n");

    u32 small = USER_ITERATIONS / KERNEL_SCALE;
    kprintf("ring 0: %u iterations of the same loop\n", small);
    u32 t0 = ticks_now();
    c0 = cpu_rdtsc();
    u32 r0 = compute_loop(small);
    c1 = cpu_rdtsc();
    u32 t1 = ticks_now();
    u64 kernel_cycles = c1 - c0;
    kprintf("  result %08x, TSC ", r0);
    kprint_u64(kernel_cycles);
    kprintf(" cycles = ");
    print_ms(kernel_cycles);
    kprintf(" (%u PIT ticks)\n", t1 - t0);

    /* per-iteration cost ring 0 / ring 3 = (kernel_cycles / small) / (user_cycles / N) */
    kprintf("ring 0 per iteration costs ");
    print_ratio(kernel_cycles * KERNEL_SCALE, user_cycles);
    kprintf("x ring 3 (full loop in ring 0: ~");
    print_ms(kernel_cycles * KERNEL_SCALE);
    kprintf(")\n");
}
