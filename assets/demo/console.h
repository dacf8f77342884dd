/* VGA text-mode console (mode 3, 80x25 at 0xB8000) with a serial mirror. */
#ifndef CONSOLE_H
#define CONSOLE_H
#include "types.h"

#define CON_COLS 80
#define CON_ROWS 25
#define CON_TEXT ((volatile u16 *)0xB8000)
#define ATTR_DEFAULT 0x07

void console_init(void);
void console_clear(void);
void console_putc(char c);
void console_puts(const char *s);
void console_set_attr(u8 attr);
u8 console_attr(void);
void console_get_pos(int *row, int *col);
void console_set_pos(int row, int col);
/* Write one cell without moving the cursor or scrolling. */
void console_put_at(int row, int col, char c, u8 attr);
/* Mirror everything console_putc prints to COM1 (on by default). */
void console_set_mirror(int on);
void console_show_cursor(int on);
/* Move the hardware cursor to the software cursor (console_putc does it only on newline). */
void console_sync_cursor(void);

/* Save / restore the whole text screen and cursor (for full-screen commands). */
struct console_snapshot {
    u16 cells[CON_COLS * CON_ROWS];
    int row, col;
    u8 attr;
};
void console_save(struct console_snapshot *s);
void console_restore(const struct console_snapshot *s);
#endif
