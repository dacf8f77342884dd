/* Output to the PL011 and, when the machine has one, the VGA text screen.
 *
 * VGA text memory is plain RAM at 0xB8000 (80x25 cells of character + attribute, written
 * as aligned 16-bit stores); the hardware cursor is programmed through CRTC registers
 * 0x0E/0x0F at ports 0x3D4/0x3D5 in the ISA window. */
#include "hw.h"

#define COLS 80
#define ROWS 25

/* PL011 registers and bits (ARM DDI 0183). */
#define UART_DR   0x00
#define UART_FR   0x18
#define UART_IMSC 0x38
#define FR_RXFE   (1U << 4)
#define FR_TXFF   (1U << 5)
#define INT_RX    (1U << 4)
#define INT_RT    (1U << 6)

static int with_vga;
static int row, col;
static u8 attr = 0x07;

void serial_putc(char c)
{
    while (mmio_read32(PL011_BASE + UART_FR) & FR_TXFF)
        ;
    mmio_write32(PL011_BASE + UART_DR, (u8)c);
}

int serial_getc(void)
{
    if (mmio_read32(PL011_BASE + UART_FR) & FR_RXFE)
        return -1;
    return (int)(mmio_read32(PL011_BASE + UART_DR) & 0xff);
}

/* Lets received bytes raise the PL011's interrupt line, so WFI wakes on them. */
void serial_enable_rx_irq(void)
{
    mmio_write32(PL011_BASE + UART_IMSC, INT_RX | INT_RT);
}

static volatile u16 *cell(int r, int c)
{
    return (volatile u16 *)VGA_TEXT_BASE + r * COLS + c;
}

void vga_put_cell(int r, int c, char ch, u8 a)
{
    if (with_vga && r >= 0 && r < ROWS && c >= 0 && c < COLS)
        *cell(r, c) = (u16)((u8)ch | (a << 8));
}

static void vga_cursor(void)
{
    u16 pos = (u16)(row * COLS + col);
    outb(0x3D4, 0x0E);
    outb(0x3D5, (u8)(pos >> 8));
    outb(0x3D4, 0x0F);
    outb(0x3D5, (u8)pos);
}

void vga_clear(void)
{
    if (!with_vga)
        return;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            *cell(r, c) = (u16)(' ' | (0x07 << 8));
    row = col = 0;
    vga_cursor();
}

static void vga_scroll(void)
{
    for (int r = 1; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            *cell(r - 1, c) = *cell(r, c);
    for (int c = 0; c < COLS; c++)
        *cell(ROWS - 1, c) = (u16)(' ' | (0x07 << 8));
    row = ROWS - 1;
}

static void vga_putc(char c)
{
    if (c == '\n') {
        col = 0;
        row++;
    } else if (c == '\b') {
        if (col > 0)
            col--;
        *cell(row, col) = (u16)(' ' | (attr << 8));
    } else {
        *cell(row, col) = (u16)((u8)c | (attr << 8));
        if (++col == COLS) {
            col = 0;
            row++;
        }
    }
    if (row == ROWS)
        vga_scroll();
    vga_cursor();
}

int vga_present(void) { return with_vga; }

void console_init(int vga)
{
    with_vga = vga;
    vga_clear();
}

void console_set_attr(u8 a) { attr = a; }

void putc_all(char c)
{
    if (c == '\n')
        serial_putc('\r');
    if (c == '\b') {
        serial_putc('\b');
        serial_putc(' ');
    }
    serial_putc(c);
    if (with_vga)
        vga_putc(c);
}

void puts_all(const char *s)
{
    while (*s)
        putc_all(*s++);
}

void put_hex(u32 v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        putc_all(hex[(v >> (i * 4)) & 0xf]);
}
