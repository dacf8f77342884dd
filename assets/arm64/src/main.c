/* hv arm64 demo: a banner on the PL011, then a small shell on the VGA text screen (and
 * on the serial line), with input from the i8042 keyboard and the PL011.
 *
 * Under QEMU `virt` there is no i8042 and no VGA: the device tree has no "hv,isa-window"
 * node, so the demo says so and runs the shell on the serial line alone. */
#include "hw.h"

#define PSCI_SYSTEM_OFF   0x84000008U
#define PSCI_SYSTEM_RESET 0x84000009U

static struct machine m;

void psci_call(u32 function)
{
    register u64 x0 __asm__("x0") = function;
    __asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Waits for the next input event: a character (from either source) or, with raw_keys,
 * a raw scancode marked with bit 8. */
#define RAW 0x100
static int next_input(int raw_keys)
{
    for (;;) {
        int c = serial_getc();
        if (c >= 0)
            return c;
        if (m.has_isa_window) {
            int code = kbd_read_scancode();
            if (code >= 0) {
                if (raw_keys)
                    return RAW | code;
                int ch = kbd_scancode_to_ascii((u8)code);
                if (ch >= 0)
                    return ch;
                continue;
            }
        }
        /* Nothing waiting: sleep if a device interrupt can wake us (WFI wakes on a
         * pending IRQ even with PSTATE.I masked), else poll. */
        if (m.wfi_wakes_on_device_irq)
            __asm__ volatile("wfi");
    }
}

static void help(void)
{
    puts_all("commands:\n"
             "  help      this list\n"
             "  keys      show raw keyboard scancodes (Esc leaves)\n"
             "  colors    the 16 text colours\n"
             "  clear     clear the screen\n"
             "  reboot    PSCI SYSTEM_RESET\n"
             "  poweroff  PSCI SYSTEM_OFF\n");
}

static void keys(void)
{
    if (!m.has_isa_window) {
        puts_all("keys: this machine has no i8042 (not running on hv)\n");
        return;
    }
    puts_all("press keys; Esc leaves\n");
    for (;;) {
        int ev = next_input(1);
        if (!(ev & RAW))
            continue; /* serial input is not a scancode */
        u8 code = (u8)ev;
        puts_all("  ");
        put_hex(code, 2);
        puts_all(code == 0xe0 ? "  (extended prefix)\n" : (code & 0x80) ? "  break\n" : "  make\n");
        if (code == 0x01)
            return;
    }
}

static const char *const colour_names[16] = {
    "black", "blue", "green", "cyan", "red", "magenta", "brown", "light grey",
    "dark grey", "light blue", "light green", "light cyan", "light red",
    "light magenta", "yellow", "white",
};

static void colors(void)
{
    /* ANSI codes for the serial side, in VGA colour order. */
    static const char ansi[8] = {'0', '4', '2', '6', '1', '5', '3', '7'};
    for (int i = 0; i < 16; i++) {
        serial_putc('\033'); serial_putc('[');
        if (i >= 8) { serial_putc('1'); serial_putc(';'); }
        serial_putc('3'); serial_putc(ansi[i & 7]); serial_putc('m');
        console_set_attr((u8)(i == 0 ? 0x70 : i));
        puts_all("  ##  ");
        puts_all(colour_names[i]);
        serial_putc('\033'); serial_putc('['); serial_putc('0'); serial_putc('m');
        console_set_attr(0x07);
        putc_all('\n');
    }
}

static void banner(void)
{
    console_set_attr(0x1f);
    puts_all("hv arm64 demo");
    console_set_attr(0x07);
    puts_all("\n");
}

static void shell(void)
{
    char line[64];
    for (;;) {
        unsigned n = 0;
        console_set_attr(0x0a);
        puts_all("> ");
        console_set_attr(0x07);
        for (;;) {
            int c = next_input(0);
            if (c == '\r' || c == '\n') {
                putc_all('\n');
                break;
            }
            if (c == '\b' || c == 0x7f) {
                if (n > 0) {
                    n--;
                    putc_all('\b');
                }
            } else if (c >= ' ' && c < 0x7f && n < sizeof(line) - 1) {
                line[n++] = (char)c;
                putc_all((char)c);
            }
        }
        line[n] = 0;
        if (n == 0)
            continue;
        if (str_eq(line, "help"))
            help();
        else if (str_eq(line, "keys"))
            keys();
        else if (str_eq(line, "colors") || str_eq(line, "colours"))
            colors();
        else if (str_eq(line, "clear"))
            vga_clear();
        else if (str_eq(line, "reboot"))
            psci_call(PSCI_SYSTEM_RESET);
        else if (str_eq(line, "poweroff")) {
            puts_all("bye\n");
            psci_call(PSCI_SYSTEM_OFF);
            puts_all("PSCI SYSTEM_OFF returned\n");
        } else {
            puts_all("unknown command: ");
            puts_all(line);
            puts_all(" (try help)\n");
        }
    }
}

void demo_exception(u64 vector, u64 esr, u64 elr, u64 far)
{
    puts_all("\nunexpected exception, vector ");
    put_hex((u32)vector, 2);
    puts_all(" esr ");
    put_hex((u32)esr, 8);
    puts_all(" elr ");
    put_hex((u32)(elr >> 32), 8);
    put_hex((u32)elr, 8);
    puts_all(" far ");
    put_hex((u32)(far >> 32), 8);
    put_hex((u32)far, 8);
    puts_all("\n");
    psci_call(PSCI_SYSTEM_OFF);
}

void demo_main(const void *dtb)
{
    m.has_isa_window = fdt_has_compatible(dtb, "hv,isa-window");
    m.wfi_wakes_on_device_irq = fdt_has_compatible(dtb, "hv,arm64-board") &&
                                !fdt_has_compatible(dtb, "arm,gic-v3");
    console_init(m.has_isa_window);
    banner();
    if (m.has_isa_window) {
        puts_all("VGA text screen and i8042 keyboard found (hv,isa-window)\n");
    } else {
        puts_all("no hv,isa-window in the device tree: no VGA or i8042 here, "
                 "serial console only\n");
    }
    if (m.wfi_wakes_on_device_irq)
        serial_enable_rx_irq();
    puts_all("type help\n");
    shell();
}
