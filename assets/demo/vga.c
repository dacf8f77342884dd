/* Register values are the standard IBM VGA ones for modes 03h and 13h. Programming them
 * directly (no int 10h) is the point: the hv VGA emulation sees every register write. */
#include "vga.h"
#include "io.h"

#define VGA_AC_INDEX 0x3C0
#define VGA_AC_READ 0x3C1
#define VGA_MISC_WRITE 0x3C2
#define VGA_SEQ_INDEX 0x3C4
#define VGA_SEQ_DATA 0x3C5
#define VGA_DAC_WRITE_INDEX 0x3C8
#define VGA_DAC_DATA 0x3C9
#define VGA_GC_INDEX 0x3CE
#define VGA_GC_DATA 0x3CF
#define VGA_CRTC_INDEX 0x3D4
#define VGA_CRTC_DATA 0x3D5
#define VGA_INSTAT1 0x3DA
#define AC_PAS 0x20 /* palette address source: set = display on */

struct vga_mode_regs {
    u8 misc;
    u8 seq[5];
    u8 crtc[25];
    u8 gc[9];
    u8 ac[21];
};

static const struct vga_mode_regs mode13 = {
    0x63,
    {0x03, 0x01, 0x0F, 0x00, 0x0E}, /* SR4 0x0E: chain-4 */
    {0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
     0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00},
};

static const struct vga_mode_regs mode3 = {
    0x67,
    {0x03, 0x00, 0x03, 0x00, 0x02},
    {0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
     0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x0F, 0xFF},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C,
     0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00},
};

extern const u8 font8x16[256 * 16];

static void write_regs(const struct vga_mode_regs *m)
{
    outb(VGA_MISC_WRITE, m->misc);
    outb(VGA_SEQ_INDEX, 0);
    outb(VGA_SEQ_DATA, 0x01); /* synchronous reset while the clocking changes */
    for (u8 i = 1; i < 5; i++) {
        outb(VGA_SEQ_INDEX, i);
        outb(VGA_SEQ_DATA, m->seq[i]);
    }
    outb(VGA_SEQ_INDEX, 0);
    outb(VGA_SEQ_DATA, 0x03);

    /* CR11 bit 7 write-protects CR0-7: clear it first (the tables keep it clear too). */
    outb(VGA_CRTC_INDEX, 0x11);
    outb(VGA_CRTC_DATA, (u8)(inb(VGA_CRTC_DATA) & 0x7F));
    for (u8 i = 0; i < 25; i++) {
        outb(VGA_CRTC_INDEX, i);
        outb(VGA_CRTC_DATA, i == 0x11 ? (u8)(m->crtc[i] & 0x7F) : m->crtc[i]);
    }
    for (u8 i = 0; i < 9; i++) {
        outb(VGA_GC_INDEX, i);
        outb(VGA_GC_DATA, m->gc[i]);
    }
    inb(VGA_INSTAT1); /* reset the attribute controller flip-flop to "index" */
    for (u8 i = 0; i < 21; i++) {
        outb(VGA_AC_INDEX, i);
        outb(VGA_AC_INDEX, m->ac[i]);
    }
    outb(VGA_AC_INDEX, AC_PAS); /* hand the palette back to the display (unblank) */
}

void vga_set_dac(u8 index, u8 r, u8 g, u8 b)
{
    outb(VGA_DAC_WRITE_INDEX, index);
    outb(VGA_DAC_DATA, r);
    outb(VGA_DAC_DATA, g);
    outb(VGA_DAC_DATA, b);
}

/* The 64-entry EGA palette the text attributes index through AR0-F: bits 0-2 are
 * B,G,R at 2/3 intensity, bits 3-5 add 1/3 intensity. */
static void load_ega_dac(void)
{
    outb(VGA_DAC_WRITE_INDEX, 0);
    for (u8 i = 0; i < 64; i++) {
        outb(VGA_DAC_DATA, (u8)(((i >> 2) & 1) * 0x2A + ((i >> 5) & 1) * 0x15));
        outb(VGA_DAC_DATA, (u8)(((i >> 1) & 1) * 0x2A + ((i >> 4) & 1) * 0x15));
        outb(VGA_DAC_DATA, (u8)((i & 1) * 0x2A + ((i >> 3) & 1) * 0x15));
    }
}

/* Write the font into plane 2 (32 bytes per glyph). In mode 13h chain-4 spreads pixel
 * bytes over all four planes, so the font is gone after mode 13h and must be rewritten. */
static void load_font(void)
{
    outb(VGA_SEQ_INDEX, 0x02);
    outb(VGA_SEQ_DATA, 0x04); /* map mask: plane 2 only */
    outb(VGA_SEQ_INDEX, 0x04);
    outb(VGA_SEQ_DATA, 0x06); /* sequential addressing (odd/even off), no chain-4 */
    outb(VGA_GC_INDEX, 0x04);
    outb(VGA_GC_DATA, 0x02); /* read map: plane 2 */
    outb(VGA_GC_INDEX, 0x05);
    outb(VGA_GC_DATA, 0x00); /* write mode 0, odd/even off */
    outb(VGA_GC_INDEX, 0x06);
    outb(VGA_GC_DATA, 0x04); /* memory map A0000, 64 KiB, text */

    volatile u8 *plane = VGA_GFX;
    for (u32 ch = 0; ch < 256; ch++) {
        for (u32 line = 0; line < 16; line++)
            plane[ch * 32 + line] = font8x16[ch * 16 + line];
        for (u32 line = 16; line < 32; line++)
            plane[ch * 32 + line] = 0;
    }

    /* back to the text-mode memory setup */
    outb(VGA_SEQ_INDEX, 0x02);
    outb(VGA_SEQ_DATA, mode3.seq[2]);
    outb(VGA_SEQ_INDEX, 0x04);
    outb(VGA_SEQ_DATA, mode3.seq[4]);
    outb(VGA_GC_INDEX, 0x04);
    outb(VGA_GC_DATA, mode3.gc[4]);
    outb(VGA_GC_INDEX, 0x05);
    outb(VGA_GC_DATA, mode3.gc[5]);
    outb(VGA_GC_INDEX, 0x06);
    outb(VGA_GC_DATA, mode3.gc[6]);
}

void vga_set_mode13(void) { write_regs(&mode13); }

void vga_set_mode3(void)
{
    write_regs(&mode3);
    load_ega_dac();
    load_font();
}

int vga_get_blink(void)
{
    inb(VGA_INSTAT1);
    outb(VGA_AC_INDEX, AC_PAS | 0x10);
    return (inb(VGA_AC_READ) & 0x08) != 0;
}

void vga_set_blink(int on)
{
    inb(VGA_INSTAT1);
    outb(VGA_AC_INDEX, AC_PAS | 0x10);
    u8 v = inb(VGA_AC_READ);
    v = on ? (u8)(v | 0x08) : (u8)(v & ~0x08);
    inb(VGA_INSTAT1);
    outb(VGA_AC_INDEX, AC_PAS | 0x10);
    outb(VGA_AC_INDEX, v);
    outb(VGA_AC_INDEX, AC_PAS);
}
