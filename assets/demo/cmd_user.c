/* user: the same integer loop in ring 3 (native under hardware virtualization) and in
 * ring 0 (emulated on a software-assisted KVM), timed with the TSC.
 *
 * Ring 3 is entered with sysexit and left with sysenter, with IF=0 throughout (see
 * entry.asm for why), so the PIT does not tick while ring 3 runs: times come from the TSC,
 * converted with the rate tsc_calibrate() measured against the PIT at boot.
 *
 * The ring-3 loop runs in chunks, one sysexit/sysenter round trip each, sized from the
 * previous chunk's speed to take about USER_CHUNK_MS: that keeps each IF=0 stretch
 * shorter than a PIT period (no timer tick is lost) and lets the kernel stop after a time
 * budget where ring 3 turns out not to be native (it would take minutes). The state
 * carries over between chunks, so the result equals that of one uninterrupted loop. */
#include "commands.h"
#include "cpu.h"
#include "interrupts.h"
#include "io.h"
#include "lib.h"
#include "usermode.h"

#define USER_ITERATIONS 20000000u
#define USER_CHUNK_MS 5u       /* target length of one trip to ring 3 (PIT period 10 ms) */
#define USER_CHUNK_MIN 500u    /* iterations in the first trip, and at least per trip */
#define USER_BUDGET_MS 2000u   /* start no new chunk after this */
#define KERNEL_ITERATIONS 20000u /* ring 0: 1/1000 of the full ring-3 loop */

struct loop_state {
    u32 x, sum, iterations;
};

/* xorshift32 mixing; the sum makes the result depend on every step so nothing is
 * optimised away. Runs at either privilege level (in ring 3 it reaches its state through
 * the flat user data segment). */
static u32 compute_loop(u32 state_addr)
{
    struct loop_state *st = (struct loop_state *)state_addr;
    u32 x = st->x, sum = st->sum;
    for (u32 i = 0; i < st->iterations; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        sum += x;
    }
    st->x = x;
    st->sum = sum;
    return sum;
}

static struct loop_state user_state, kernel_state;

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

/* "C cycles = T ms, P ns per iteration" */
static void print_timing(u64 cycles, u32 iterations)
{
    kprint_u64(cycles);
    kprintf(" TSC cycles = ");
    print_ms(cycles);
    kprintf(", ");
    print_ratio(cycles * 1000000u, (u64)tsc_cycles_per_ms() * iterations);
    kprintf(" ns/iteration\n");
}

void cmd_user(const char *args)
{
    (void)args;
    if (!cpu_has_sysenter())
        kprintf("(no sysenter/sysexit on this CPU: the \"ring 3\" run stays in ring 0)\n");
    kprintf("ring 3: %u xorshift iterations, sysexit (IF=0) / sysenter every ~%u ms\n",
            USER_ITERATIONS, USER_CHUNK_MS);
    user_state.x = 2463534242u;
    user_state.sum = 0;
    u64 budget = (u64)tsc_cycles_per_ms() * USER_BUDGET_MS;
    u64 chunk_cycles = (u64)tsc_cycles_per_ms() * USER_CHUNK_MS;
    u32 done = 0, trips = 0, r3 = 0, chunk = USER_CHUNK_MIN;
    u64 c0 = cpu_rdtsc(), c1 = c0;
    while (done < USER_ITERATIONS && c1 - c0 < budget) {
        if (chunk > USER_ITERATIONS - done)
            chunk = USER_ITERATIONS - done;
        user_state.iterations = chunk;
        u64 t = cpu_rdtsc();
        r3 = run_in_ring3(compute_loop, (u32)&user_state);
        c1 = cpu_rdtsc();
        done += chunk;
        trips++;
        /* next chunk: as many iterations as fit in USER_CHUNK_MS at this trip's speed */
        u64 took = c1 - t;
        while (took >> 32) { /* udiv64 takes a 32-bit divisor */
            took >>= 1;
            chunk_cycles >>= 1;
        }
        u64 next = took ? udiv64(chunk_cycles * chunk, (u32)took, NULL) : USER_ITERATIONS;
        chunk_cycles = (u64)tsc_cycles_per_ms() * USER_CHUNK_MS;
        chunk = next < USER_CHUNK_MIN ? USER_CHUNK_MIN
              : next > USER_ITERATIONS ? USER_ITERATIONS : (u32)next;
    }
    u64 user_cycles = c1 - c0;
    kprintf("  result %08x, %u trips to ring 3", r3, trips);
    if (done < USER_ITERATIONS)
        kprintf("; stopped after %u iterations (%u ms budget)", done, USER_BUDGET_MS);
    kprintf("\n  ");
    print_timing(user_cycles, done);

    kprintf("ring 0: %u iterations of the same loop\n", KERNEL_ITERATIONS);
    kernel_state.x = 2463534242u;
    kernel_state.sum = 0;
    kernel_state.iterations = KERNEL_ITERATIONS;
    u32 t0 = ticks_now();
    c0 = cpu_rdtsc();
    u32 r0 = compute_loop((u32)&kernel_state);
    c1 = cpu_rdtsc();
    u32 t1 = ticks_now();
    u64 kernel_cycles = c1 - c0;
    kprintf("  result %08x, %u PIT ticks, ", r0, t1 - t0);
    print_timing(kernel_cycles, KERNEL_ITERATIONS);

    /* per-iteration cost ring 0 / ring 3 = (kernel_cycles / K) / (user_cycles / done) */
    kprintf("ring 0 per iteration costs ");
    print_ratio(kernel_cycles * done, user_cycles * KERNEL_ITERATIONS);
    kprintf("x ring 3 (the full loop in ring 0: ~");
    print_ms(udiv64(kernel_cycles * USER_ITERATIONS, KERNEL_ITERATIONS, NULL));
    kprintf(")\n");
}
