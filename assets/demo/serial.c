/* Polled COM1 output at 115200 8N1. Reads nothing; interrupts stay off (IER = 0). */
#include "serial.h"
#include "io.h"

#define COM1 0x3F8
#define LSR_THR_EMPTY 0x20

static int serial_present;

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* IER: no interrupts */
    outb(COM1 + 3, 0x80); /* LCR: DLAB on to set the divisor */
    outb(COM1 + 0, 0x01); /* divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR + RTS */
    /* An absent UART floats the bus to 0xFF; don't wait on it then. */
    serial_present = inb(COM1 + 5) != 0xFF;
}

void serial_putc(char c)
{
    if (!serial_present)
        return;
    if (c == '\n')
        serial_putc('\r');
    /* An emulated UART reports THR empty at once; the bound only matters on a stuck one. */
    for (int i = 0; i < 1000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); i++)
        ;
    outb(COM1, (u8)c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}
