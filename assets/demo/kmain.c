/* Kernel entry from entry.asm: bring up the CPU tables, interrupts, devices, then the shell. */
#include "bootinfo.h"
#include "commands.h"
#include "console.h"
#include "cpu.h"
#include "interrupts.h"
#include "io.h"
#include "keyboard.h"
#include "lib.h"
#include "serial.h"
#include "shell.h"

void kmain(void)
{
    serial_init();
    serial_puts("\n" DEMO_VERSION ": kernel started\n");
    cpu_init();
    pic_init();
    pit_init();
    console_init();
    keyboard_init(); /* reads the CTR, so interrupts are on from here */
    cpu_sti();
    tsc_calibrate(); /* 100 ms against the PIT; user times ring 3 (IF=0) with the TSC */

    console_set_attr(0x1F);
    kprintf("%-79s\n", " " DEMO_VERSION " - a tiny OS for the hv hypervisor (keyboard + VGA demo)");
    console_put_at(0, CON_COLS - 1, ' ', 0x1F);
    console_set_attr(ATTR_DEFAULT);
    kprintf("protected mode: GDT with ring-3 segments + TSS, IDT, PIC 0x20/0x28, PIT %u Hz\n",
            TICK_HZ);
    u32 tsc_khz = tsc_cycles_per_ms();
    kprintf("TSC %u.%03u MHz (measured against the PIT), ring 3 via sysexit/sysenter%s\n",
            tsc_khz / 1000, tsc_khz % 1000, cpu_has_sysenter() ? "" : ": unavailable (no SEP)");
    kprintf("booted from drive 0x%02x, %u E820 entries, i8042 translation %s\n", BOOTINFO->drive,
            BOOTINFO->e820_count, keyboard_translation() ? "on (set 1)" : "off (set 2)");
    kprintf("Type 'help' for commands.\n\n");
    shell_run();
}
