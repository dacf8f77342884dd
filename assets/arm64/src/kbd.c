/* The i8042 keyboard controller through the ISA window, polled.
 *
 * hv's i8042 starts as a PC BIOS leaves it (command byte 0x61: translation to scancode
 * set 1 on, keyboard interrupt on), so port 0x60 delivers set-1 make/break codes. */
#include "hw.h"

#define KBD_DATA   0x60
#define KBD_STATUS 0x64
#define ST_OBF     0x01   /* output buffer full */
#define ST_AUX     0x20   /* ... and the byte is from the mouse */

static int shift;

int kbd_read_scancode(void)
{
    for (;;) {
        u8 st = inb(KBD_STATUS);
        if (!(st & ST_OBF))
            return -1;
        u8 code = inb(KBD_DATA);
        if (!(st & ST_AUX))
            return code;
        /* Mouse bytes are not for us: drop them and look again. */
    }
}

/* Set 1 make codes 0x00-0x39, US layout. */
static const char plain[0x3a] =
    "\0\0331234567890-=\b\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
static const char shifted[0x3a] =
    "\0\033!@#$%^&*()_+\b\tQWERTYUIOP{}\n\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

int kbd_scancode_to_ascii(u8 code)
{
    switch (code) {
    case 0x2a: case 0x36: shift = 1; return -1;   /* shift down */
    case 0xaa: case 0xb6: shift = 0; return -1;   /* shift up */
    }
    if (code >= sizeof(plain))
        return -1;                                /* break codes, extended keys */
    char c = shift ? shifted[code] : plain[code];
    return c ? c : -1;
}
