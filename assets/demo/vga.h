/* Direct VGA register programming: mode 3 (80x25 text) and mode 13h (320x200x256). */
#ifndef VGA_H
#define VGA_H
#include "types.h"

#define VGA_GFX ((volatile u8 *)0xA0000)
#define VGA_GFX_W 320
#define VGA_GFX_H 200

void vga_set_mode13(void);
/* Registers, 16-colour DAC and the 8x16 font in plane 2; does not touch the text. */
void vga_set_mode3(void);
void vga_set_dac(u8 index, u8 r, u8 g, u8 b); /* 6-bit components */
/* Attribute mode control bit 3: 1 = attribute bit 7 blinks, 0 = 16 background colours. */
int vga_get_blink(void);
void vga_set_blink(int on);
#endif
