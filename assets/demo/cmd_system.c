/* help, version, clear, echo, uptime, mem, reboot, poweroff. */
#include "bootinfo.h"
#include "cmos.h"
#include "commands.h"
#include "console.h"
#include "i8042.h"
#include "interrupts.h"
#include "io.h"
#include "lib.h"

const struct command commands[] = {
    {"help", "", "this list", cmd_help},
    {"keys", "", "live scancode viewer (Esc exits)", cmd_keys},
    {"xlate", "on|off", "i8042 set 2 -> set 1 translation (CTR bit 6)", cmd_xlate},
    {"colors", "", "16x16 text attributes and blink", cmd_colors},
    {"mode13", "", "320x200x256 graphics demo (any key returns)", cmd_mode13},
    {"user", "", "compute loop in ring 3 vs ring 0", cmd_user},
    {"uptime", "", "PIT ticks since boot and the CMOS clock", cmd_uptime},
    {"mem", "", "E820 memory map from the BIOS", cmd_mem},
    {"echo", "text", "print text", cmd_echo},
    {"clear", "", "clear the screen", cmd_clear},
    {"version", "", "version and build facts", cmd_version},
    {"reboot", "", "reset via the i8042 (command 0xFE)", cmd_reboot},
    {"poweroff", "", "exit via the debug-exit port 0xF4", cmd_poweroff},
};
const unsigned command_count = ARRAY_LEN(commands);

void cmd_help(const char *args)
{
    (void)args;
    kprintf("Commands:\n");
    for (unsigned i = 0; i < command_count; i++) {
        char left[24];
        ksnprintf(left, sizeof left, "%s %s", commands[i].name, commands[i].usage);
        kprintf("  %-16s %s\n", left, commands[i].help);
    }
    kprintf("Line editing: Left/Right/Home/End, Backspace/Delete, Up/Down history, Ctrl+C.\n");
}

void cmd_version(const char *args)
{
    (void)args;
    kprintf("%s - 32-bit protected mode, no paging, PIC 0x20/0x28, PIT %u Hz\n", DEMO_VERSION,
            TICK_HZ);
    kprintf("booted from drive 0x%02x via int 13h %s\n", BOOTINFO->drive,
            BOOTINFO->load_method == 1 ? "AH=42h (LBA)" : "AH=02h (CHS)");
}

void cmd_clear(const char *args)
{
    (void)args;
    console_clear();
}

void cmd_echo(const char *args) { kprintf("%s\n", args); }

void cmd_uptime(const char *args)
{
    (void)args;
    u32 t = ticks_now();
    u32 sec = t / TICK_HZ;
    kprintf("uptime: %u ticks at %u Hz = %u:%02u:%02u.%02u\n", t, TICK_HZ, sec / 3600,
            (sec / 60) % 60, sec % 60, t % TICK_HZ);
    struct rtc_time rt;
    if (cmos_read_time(&rt))
        kprintf("CMOS clock: not readable (kept updating)\n");
    else
        kprintf("CMOS clock: %04u-%02u-%02u %02u:%02u:%02u\n", rt.year, rt.month, rt.day, rt.hour,
                rt.minute, rt.second);
}

static const char *e820_type_name(u32 type)
{
    switch (type) {
    case 1: return "usable";
    case 2: return "reserved";
    case 3: return "ACPI reclaimable";
    case 4: return "ACPI NVS";
    case 5: return "bad memory";
    default: return "other";
    }
}

void cmd_mem(const char *args)
{
    (void)args;
    const struct bootinfo *bi = BOOTINFO;
    if (bi->magic != BOOTINFO_MAGIC || bi->e820_count == 0) {
        kprintf("no E820 map (the BIOS did not answer int 15h EAX=E820h)\n");
        return;
    }
    kprintf("E820 map (%u entries):\n  base               length             type\n",
            bi->e820_count);
    u64 usable = 0;
    for (u32 i = 0; i < bi->e820_count && i < E820_MAX; i++) {
        const struct e820_entry *e = &bi->e820[i];
        kprintf("  ");
        kprint_hex64(e->base);
        kprintf(" ");
        kprint_hex64(e->length);
        kprintf(" %u %s\n", e->type, e820_type_name(e->type));
        if (e->type == 1)
            usable += e->length;
    }
    kprintf("usable: ");
    kprint_u64(usable >> 10);
    kprintf(" KiB\n");
}

void cmd_reboot(const char *args)
{
    (void)args;
    kprintf("rebooting via i8042 command 0xFE...\n");
    i8042_reset_cpu();
    sleep_ticks(TICK_HZ / 2);
    kprintf("still running: the i8042 did not reset the CPU; trying a triple fault\n");
    sleep_ticks(TICK_HZ / 10);
    static const struct {
        u16 limit;
        u32 base;
    } __attribute__((packed)) empty_idt = {0, 0};
    __asm__ volatile("cli; lidt %0; int3" : : "m"(empty_idt));
}

void cmd_poweroff(const char *args)
{
    (void)args;
    kprintf("powering off via isa-debug-exit (port 0xF4, value 0 -> exit status 1)...\n");
    outb(0xF4, 0);
    sleep_ticks(TICK_HZ / 10);
    kprintf("still running: no debug-exit device at port 0xF4\n");
}
