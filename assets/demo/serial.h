/* COM1 (0x3F8) 16550 UART output, for headless tests. */
#ifndef SERIAL_H
#define SERIAL_H
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
#endif
