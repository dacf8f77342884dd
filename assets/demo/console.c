/* Text console: writes character/attribute words straight into VGA memory and moves the
 * hardware cursor through CRTC registers 0x0E/0x0F. No BIOS involved. */
#include "console.h"
#include "io.h"
#include "lib.h"
#include "serial.h"

#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5

static int cur_row, cur_col;
static u8 cur_attr = ATTR_DEFAULT;
static int mirror = 1;

static void crtc_write(u8 index, u8 value)
{
    outb(CRTC_INDEX, index);
    outb(CRTC_DATA, value);
}

static void update_hw_cursor(void)
{
    u16 pos = (u16)(cur_row * CON_COLS + cur_col);
    crtc_write(0x0E, (u8)(pos >> 8));
    crtc_write(0x0F, (u8)pos);
}

void console_show_cursor(int on)
{
    /* Cursor start register: bit 5 disables; scanlines 13-14 as the BIOS sets for 8x16. */
    crtc_write(0x0A, on ? 0x0D : 0x20);
    crtc_write(0x0B, 0x0E);
}

void console_init(void)
{
    crtc_write(0x0C, 0); /* display start address = 0: row 0 is the top line */
    crtc_write(0x0D, 0);
    console_show_cursor(1);
    console_clear();
}

void console_clear(void)
{
    u32 fill = (u32)(((u16)cur_attr << 8) | ' ');
    fill |= fill << 16;
    void *d = (void *)CON_TEXT;
    u32 n = CON_COLS * CON_ROWS / 2;
    __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(fill) : "memory");
    cur_row = cur_col = 0;
    update_hw_cursor();
}

static void scroll_up(void)
{
    memmove((void *)CON_TEXT, (const void *)(CON_TEXT + CON_COLS), (CON_ROWS - 1) * CON_COLS * 2);
    for (int c = 0; c < CON_COLS; c++)
        CON_TEXT[(CON_ROWS - 1) * CON_COLS + c] = (u16)((cur_attr << 8) | ' ');
}

static void putc_screen(char c)
{
    switch (c) {
    case '\n':
        cur_col = 0;
        cur_row++;
        break;
    case '\r':
        cur_col = 0;
        break;
    case '\b':
        if (cur_col > 0)
            cur_col--;
        break;
    case '\t':
        cur_col = (cur_col + 8) & ~7;
        break;
    default:
        CON_TEXT[cur_row * CON_COLS + cur_col] = (u16)((cur_attr << 8) | (u8)c);
        cur_col++;
    }
    if (cur_col >= CON_COLS) {
        cur_col = 0;
        cur_row++;
    }
    if (cur_row >= CON_ROWS) {
        scroll_up();
        cur_row = CON_ROWS - 1;
    }
}

void console_putc(char c)
{
    putc_screen(c);
    if (mirror)
        serial_putc(c);
    if (c == '\n')
        update_hw_cursor();
}

void console_puts(const char *s)
{
    while (*s)
        putc_screen(*s), mirror ? serial_putc(*s) : (void)0, s++;
    update_hw_cursor();
}

void console_sync_cursor(void) { update_hw_cursor(); }

void console_set_attr(u8 attr) { cur_attr = attr; }
u8 console_attr(void) { return cur_attr; }
void console_set_mirror(int on) { mirror = on; }

void console_get_pos(int *row, int *col)
{
    *row = cur_row;
    *col = cur_col;
}

void console_set_pos(int row, int col)
{
    cur_row = row;
    cur_col = col;
    update_hw_cursor();
}

void console_put_at(int row, int col, char c, u8 attr)
{
    if (row >= 0 && row < CON_ROWS && col >= 0 && col < CON_COLS)
        CON_TEXT[row * CON_COLS + col] = (u16)((attr << 8) | (u8)c);
}

void console_save(struct console_snapshot *s)
{
    memcpy(s->cells, (const void *)CON_TEXT, sizeof s->cells);
    s->row = cur_row;
    s->col = cur_col;
    s->attr = cur_attr;
}

void console_restore(const struct console_snapshot *s)
{
    memcpy((void *)CON_TEXT, s->cells, sizeof s->cells);
    cur_attr = s->attr;
    console_show_cursor(1);
    console_set_pos(s->row, s->col);
}
