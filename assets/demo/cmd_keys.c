/* keys: the keyboard path made visible; xlate: switch i8042 translation. */
#include "commands.h"
#include "console.h"
#include "i8042.h"
#include "keyboard.h"
#include "lib.h"

static void print_event(const struct key_event *ev)
{
    char bytes[32];
    u32 n = 0;
    for (u32 i = 0; i < ev->nbytes && n + 4 < sizeof bytes; i++) {
        ksnprintf(bytes + n, sizeof bytes - n, "%02X ", ev->bytes[i]);
        n += 3;
    }
    int ctr = i8042_read_ctr();
    const char *kind;
    const char *name;
    if (ev->reply) {
        kind = "reply";
        name = ev->bytes[0] == 0xFA ? "ACK" : ev->bytes[0] == 0xAA ? "self-test passed"
             : ev->bytes[0] == 0xEE ? "echo" : ev->bytes[0] == 0xFE ? "resend" : "overrun/error";
    } else if (ev->code == KEY_NONE) {
        kind = "?";
        name = "(unknown code)";
    } else {
        kind = ev->code == KEY_PAUSE ? "make" : ev->released ? "break" : "make";
        name = keyboard_key_name(ev->code);
    }
    console_set_attr(0x0E);
    kprintf("%-24s", bytes);
    console_set_attr(ATTR_DEFAULT);
    if (ctr < 0)
        kprintf("set %u  CTR ??           ", ev->set);
    else
        kprintf("set %u  CTR %02X xlate %-3s ", ev->set, (u32)ctr, (ctr & I8042_CTR_XLATE) ? "on" : "off");
    console_set_attr(ev->released ? 0x08 : 0x0F);
    kprintf("%-6s", kind);
    console_set_attr(0x0B);
    kprintf("%s\n", name);
    console_set_attr(ATTR_DEFAULT);
}

void cmd_keys(const char *args)
{
    (void)args;
    kprintf("Scancode viewer: every byte read from port 0x60, grouped into key events.\n");
    kprintf("Decoding set %u (translation %s). Press Esc to exit.\n", keyboard_translation() ? 1 : 2,
            keyboard_translation() ? "on" : "off");
    console_set_attr(0x70);
    kprintf("%-24s%-24s%-6s%-26s\n", "bytes from port 0x60", "set / CTR (cmd 0x20)", "event", "key");
    console_set_attr(ATTR_DEFAULT);
    for (;;) {
        struct key_event ev;
        keyboard_wait_event(&ev);
        print_event(&ev);
        if (!ev.reply && ev.code == 0x01 && !ev.released)
            break;
    }
    kprintf("scancode viewer done\n");
}

void cmd_xlate(const char *args)
{
    int before = i8042_read_ctr();
    if (before < 0) {
        kprintf("i8042 did not answer command 0x20\n");
        return;
    }
    int want;
    if (!strcmp(args, "on"))
        want = 1;
    else if (!strcmp(args, "off"))
        want = 0;
    else {
        kprintf("translation is %s (CTR = 0x%02X); usage: xlate on|off\n",
                (before & I8042_CTR_XLATE) ? "on" : "off", (u32)before);
        return;
    }
    u8 after = want ? (u8)(before | I8042_CTR_XLATE) : (u8)(before & ~I8042_CTR_XLATE);
    if (after == before) {
        kprintf("translation already %s (CTR = 0x%02X), nothing changed\n", want ? "on" : "off",
                (u32)before);
        return;
    }
    if (i8042_write_ctr(after)) {
        kprintf("i8042 did not accept command 0x60\n");
        return;
    }
    int now = keyboard_sync_translation(); /* read back and switch the decoder */
    kprintf("CTR 0x%02X -> 0x%02X (written with command 0x60, read back with 0x20)\n",
            (u32)before, (u32)now);
    if (now >= 0 && ((now & I8042_CTR_XLATE) != 0) == want)
        kprintf("translation %s: keyboard bytes now arrive %s\n", want ? "on" : "off",
                want ? "as set 1 (break = make | 0x80)" : "as set 2 (break = F0 prefix)");
    else
        kprintf("the controller did not take the new value\n");
}
