/* colors: every foreground x background attribute, and the blink bit. */
#include "commands.h"
#include "console.h"
#include "keyboard.h"
#include "lib.h"
#include "vga.h"

static struct console_snapshot saved;

static void put_text(int row, int col, const char *s, u8 attr)
{
    for (; *s; s++)
        console_put_at(row, col++, *s, attr);
}

static void draw(int blink)
{
    static const char hex[] = "0123456789ABCDEF";
    console_set_attr(ATTR_DEFAULT);
    console_clear();
    put_text(0, 0, "Text attributes: byte = background << 4 | foreground (cell shows the hex value)",
             0x0F);
    put_text(1, 0, "bg\\fg", 0x07);
    for (int fg = 0; fg < 16; fg++)
        console_put_at(1, 7 + fg * 4, hex[fg], 0x07);
    for (int bg = 0; bg < 16; bg++) {
        console_put_at(2 + bg, 2, hex[bg], 0x07);
        for (int fg = 0; fg < 16; fg++) {
            u8 attr = (u8)(bg << 4 | fg);
            int col = 5 + fg * 4;
            console_put_at(2 + bg, col, ' ', attr);
            console_put_at(2 + bg, col + 1, hex[bg], attr);
            console_put_at(2 + bg, col + 2, hex[fg], attr);
            console_put_at(2 + bg, col + 3, ' ', attr);
        }
    }
    if (blink) {
        put_text(19, 0, "Blink mode (AR10 bit 3 = 1): bit 7 blinks the text; backgrounds 8-F show as 0-7.",
                 0x07);
        put_text(20, 0, " This line has bit 7 set and blinks ", 0x8E);
        put_text(20, 38, " so does this one ", 0xCF);
    } else {
        put_text(19, 0, "Bright mode (AR10 bit 3 = 0): bit 7 selects 16 background colours, no blinking.",
                 0x07);
        put_text(20, 0, " This line has bit 7 set: bright bg ", 0x8E);
        put_text(20, 38, " no blink here ", 0xCF);
    }
    put_text(22, 0, "B: toggle blink / bright backgrounds    any other key: back to the shell", 0x0A);
    console_show_cursor(0);
}

void cmd_colors(const char *args)
{
    (void)args;
    console_save(&saved);
    int blink = vga_get_blink();
    int original = blink;
    for (;;) {
        draw(blink);
        struct key_event ev;
        keyboard_wait_press(&ev);
        if (ev.code != 0x30) /* B */
            break;
        blink = !blink;
        vga_set_blink(blink);
    }
    vga_set_blink(original);
    console_restore(&saved);
    kprintf("colors: done\n");
}
