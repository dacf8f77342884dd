/* PS/2 keyboard driver: IRQ1 byte queue, scancode set 1 / set 2 decoders, key names
 * and a US-layout character mapping for the shell. */
#ifndef KEYBOARD_H
#define KEYBOARD_H
#include "types.h"

/* Key codes are set-1 make codes; keys sent with an E0 prefix get KEY_EXT added. */
#define KEY_EXT 0x80
#define KEY_PAUSE 0x100
#define KEY_NONE 0

/* Values returned by keyboard_getchar() besides ASCII. */
enum {
    CH_UP = 0x101, CH_DOWN, CH_LEFT, CH_RIGHT, CH_HOME, CH_END, CH_DELETE
};

struct key_event {
    u8 bytes[8];    /* the raw bytes read from port 0x60 that made up this event */
    u8 nbytes;
    u8 set;         /* scancode set the bytes were decoded as: 1 (translated) or 2 */
    u8 released;    /* break code */
    u8 reply;       /* not a key: a keyboard/controller reply byte (ACK, BAT, echo...) */
    u16 code;       /* KEY_* / set-1 code; 0 with reply=0 means "unknown code" */
};

void keyboard_init(void);
void keyboard_irq(void);
void keyboard_queue_raw(u8 b);
/* Which set the decoder expects: 1 when the i8042 translates, else 2. */
int keyboard_translation(void);
/* Re-read the CTR and switch the decoder to match; returns the CTR or -1. */
int keyboard_sync_translation(void);
/* Non-blocking: 1 and fills ev when a complete event is available. */
int keyboard_poll_event(struct key_event *ev);
/* Blocking (hlt between interrupts). */
void keyboard_wait_event(struct key_event *ev);
/* Wait for the next key press (ignoring releases and replies). */
void keyboard_wait_press(struct key_event *ev);
/* Drop everything queued so far. */
void keyboard_flush(void);
const char *keyboard_key_name(u16 code);
/* Track modifiers for ev and return its character (ASCII or CH_*), or 0. */
int keyboard_event_char(const struct key_event *ev);
/* Blocking: next character typed. */
int keyboard_getchar(void);
#endif
