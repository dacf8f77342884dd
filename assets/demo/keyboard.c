/* Keyboard driver. IRQ1 only moves bytes from port 0x60 into a ring; decoding happens
 * in the caller's context so the `keys` viewer can show the bytes of each event. */
#include "keyboard.h"
#include "i8042.h"
#include "io.h"
#include "lib.h"
#include "keymap.h"

#define RING_SIZE 256 /* power of two */

static volatile u8 ring[RING_SIZE];
static volatile u32 ring_head, ring_tail; /* head: IRQ writes; tail: reader */

static int xlate = 1; /* the i8042 translates to set 1 (SeaBIOS leaves CTR = 0x61) */

/* Decoder state for the sequence in progress. */
static struct key_event pending;
static int ext_prefix, release_prefix, pause_left;

/* Modifier state for character mapping. */
static int shift_l, shift_r, ctrl, caps;

void keyboard_queue_raw(u8 b)
{
    u32 next = (ring_head + 1) & (RING_SIZE - 1);
    if (next == ring_tail)
        return; /* full: drop, like a real keyboard buffer overrun */
    ring[ring_head] = b;
    ring_head = next;
}

void keyboard_irq(void)
{
    u8 status = inb(I8042_STATUS);
    /* IRQ1 can also be left over from a polled controller reply we already consumed. */
    if (!(status & I8042_STR_OBF) || (status & I8042_STR_AUXDATA))
        return;
    keyboard_queue_raw(inb(I8042_DATA));
}

static int ring_pop(u8 *b)
{
    if (ring_tail == ring_head)
        return 0;
    *b = ring[ring_tail];
    ring_tail = (ring_tail + 1) & (RING_SIZE - 1);
    return 1;
}

static void decoder_reset(void)
{
    memset(&pending, 0, sizeof pending);
    ext_prefix = release_prefix = pause_left = 0;
}

int keyboard_translation(void) { return xlate; }

int keyboard_sync_translation(void)
{
    int ctr = i8042_read_ctr();
    if (ctr >= 0) {
        xlate = (ctr & I8042_CTR_XLATE) != 0;
        decoder_reset();
    }
    return ctr;
}

void keyboard_init(void)
{
    ring_head = ring_tail = 0;
    keymap_init();
    keyboard_sync_translation();
}

void keyboard_flush(void)
{
    cpu_cli();
    ring_tail = ring_head;
    cpu_sti();
    decoder_reset();
}

static int is_reply_byte(u8 b)
{
    /* ACK, echo, resend, overrun; in set 2 also the BAT result 0xAA (in set 1 0xAA is the
     * LShift break code, so it is read as a key there). */
    return b == 0xFA || b == 0xEE || b == 0xFE || b == 0x00 || b == 0xFF || (!xlate && b == 0xAA);
}

/* Feed one byte; returns 1 when `pending` holds a complete event. */
static int decode_byte(u8 b)
{
    if (pending.nbytes < sizeof pending.bytes)
        pending.bytes[pending.nbytes++] = b;
    pending.set = xlate ? 1 : 2;

    if (pause_left) { /* Pause has no break code: E1 + 5 bytes (set 1) or 7 bytes (set 2) */
        if (--pause_left == 0) {
            pending.code = KEY_PAUSE;
            return 1;
        }
        return 0;
    }
    if (pending.nbytes == 1 && is_reply_byte(b)) {
        pending.reply = 1;
        return 1;
    }
    if (b == 0xE0) {
        ext_prefix = 1;
        return 0;
    }
    if (b == 0xE1) {
        pause_left = xlate ? 5 : 7;
        return 0;
    }
    if (xlate) {
        pending.released = (b & 0x80) != 0;
        pending.code = (u16)((b & 0x7F) | (ext_prefix ? KEY_EXT : 0));
        return 1;
    }
    if (b == 0xF0) {
        release_prefix = 1;
        return 0;
    }
    u8 sc1 = keymap_set2_to_set1(b);
    pending.released = (u8)release_prefix;
    pending.code = sc1 ? (u16)(sc1 | (ext_prefix ? KEY_EXT : 0)) : KEY_NONE;
    return 1;
}

int keyboard_poll_event(struct key_event *ev)
{
    u8 b;
    while (ring_pop(&b)) {
        if (decode_byte(b)) {
            *ev = pending;
            decoder_reset();
            return 1;
        }
    }
    return 0;
}

void keyboard_wait_event(struct key_event *ev)
{
    for (;;) {
        if (keyboard_poll_event(ev))
            return;
        cpu_cli();
        if (ring_tail == ring_head)
            cpu_sti_hlt(); /* woken by the next interrupt (keyboard or timer) */
        else
            cpu_sti();
    }
}

void keyboard_wait_press(struct key_event *ev)
{
    do
        keyboard_wait_event(ev);
    while (ev->reply || ev->released);
}

const char *keyboard_key_name(u16 code) { return keymap_name(code); }

int keyboard_event_char(const struct key_event *ev)
{
    if (ev->reply)
        return 0;
    int down = !ev->released;
    switch (ev->code) {
    case 0x2A: shift_l = down; return 0;
    case 0x36: shift_r = down; return 0;
    case 0x1D:
    case 0x1D | KEY_EXT: ctrl = down; return 0;
    case 0x3A: if (down) caps = !caps; return 0;
    }
    if (!down)
        return 0;
    switch (ev->code) {
    case 0x48 | KEY_EXT: return CH_UP;
    case 0x50 | KEY_EXT: return CH_DOWN;
    case 0x4B | KEY_EXT: return CH_LEFT;
    case 0x4D | KEY_EXT: return CH_RIGHT;
    case 0x47 | KEY_EXT: return CH_HOME;
    case 0x4F | KEY_EXT: return CH_END;
    case 0x53 | KEY_EXT: return CH_DELETE;
    case 0x1C | KEY_EXT: return '\n';
    case 0x35 | KEY_EXT: return '/';
    }
    if (ev->code & ~0x7F)
        return 0;
    int shift = shift_l || shift_r;
    char c = keymap_char((u8)ev->code, shift);
    if (c >= 'a' && c <= 'z' && caps)
        c = (char)(c - 'a' + 'A');
    else if (c >= 'A' && c <= 'Z' && caps)
        c = (char)(c - 'A' + 'a');
    if (ctrl && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        c = (char)((c & 0x1F)); /* Ctrl+letter = control character */
    return (u8)c;
}

int keyboard_getchar(void)
{
    struct key_event ev;
    for (;;) {
        keyboard_wait_event(&ev);
        int c = keyboard_event_char(&ev);
        if (c)
            return c;
    }
}
