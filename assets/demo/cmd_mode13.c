/* mode13: program the VGA for 320x200x256, animate a plasma with palette cycling, and
 * restore text mode (registers, DAC, font in plane 2, screen contents).
 *
 * Each frame is drawn by a function running in ring 3: that is native speed under
 * hardware virtualization, while ring-0 code may be emulated. Only the DAC upload and
 * the register programming run in the kernel. Ring 3 runs with interrupts off (see
 * entry.asm), so it draws one row per trip: a short IF=0 stretch loses no timer tick
 * even where ring 3 is slow. Integer math only. */
#include "commands.h"
#include "console.h"
#include "interrupts.h"
#include "keyboard.h"
#include "lib.h"
#include "serial.h"
#include "usermode.h"
#include "vga.h"

static struct console_snapshot saved;
static u8 sine[256]; /* 32 + 31*sin(2*pi*i/256), filled once */
static int sine_ready;

/* sin(d degrees) * 1024 for d in 0..180 by Bhaskara I's rational approximation:
 * sin(d) ~= 4d(180-d) / (40500 - d(180-d)), error < 0.2 %. */
static s32 sin_deg_1024(s32 d)
{
    s32 p = d * (180 - d);
    return 4 * p * 1024 / (40500 - p);
}

static void init_sine(void)
{
    for (s32 i = 0; i < 256; i++) {
        s32 tenth_deg = i * 3600 / 256; /* 0..3585 tenths of a degree */
        s32 deg = tenth_deg / 10;
        s32 v = deg <= 180 ? sin_deg_1024(deg) : -sin_deg_1024(deg - 180);
        sine[i] = (u8)(32 + v * 31 / 1024);
    }
    sine_ready = 1;
}

/* Ring 3: draw row y (arg bits 16..31) of the plasma frame for time t (bits 0..15).
 * Sum of three sine waves -> 0..189. */
static u32 draw_plasma_row(u32 arg)
{
    volatile u8 *fb = VGA_GFX;
    u32 t = arg & 0xFFFF, y = arg >> 16; /* t wraps at 65536, a multiple of 512: seamless */
    u32 row = sine[(y * 2 + t) & 255];
    u32 diag = y + t * 3;
    for (u32 x = 0; x < VGA_GFX_W; x++) {
        u32 v = row + sine[(x + (t >> 1)) & 255] + sine[((x + diag) >> 1) & 255] +
                sine[(sine[(x >> 1) & 255] + y + t) & 255];
        fb[y * VGA_GFX_W + x] = (u8)v;
    }
    return 0;
}

/* A smooth colour wheel: triangle waves for R, G, B a third of a turn apart. */
static u8 wave(u32 i)
{
    i &= 255;
    return (u8)(i < 128 ? i / 2 : (255 - i) / 2);
}

static void load_palette(u32 shift)
{
    for (u32 i = 0; i < 256; i++) {
        u32 k = i + shift;
        vga_set_dac((u8)i, wave(k), wave(k + 85), wave(k + 170));
    }
}

void cmd_mode13(const char *args)
{
    (void)args;
    if (!sine_ready)
        init_sine();
    serial_puts("hv-demo: mode13 on\n");
    console_save(&saved);
    vga_set_mode13();

    struct key_event ev;
    keyboard_flush();
    u32 frame = 0;
    u32 start = ticks_now();
    for (;;) {
        u32 failed = 0;
        for (u32 y = 0; y < VGA_GFX_H && !failed; y++)
            failed = run_in_ring3(draw_plasma_row, (y << 16) | ((frame * 2) & 0xFFFF));
        if (failed)
            break; /* the drawing code faulted */
        load_palette(frame * 3);
        frame++;
        if (frame == 1)
            serial_puts("hv-demo: mode13 first frame\n"); /* a cue for headless tests */
        sleep_ticks(2); /* ~50 frames per second at most */
        int pressed = 0;
        while (keyboard_poll_event(&ev))
            if (!ev.reply && !ev.released)
                pressed = 1;
        if (pressed)
            break;
    }
    u32 elapsed = ticks_now() - start;

    vga_set_mode3();
    console_restore(&saved);
    kprintf("mode13: %u frames in %u ticks; text mode, font and screen restored\n", frame, elapsed);
}
