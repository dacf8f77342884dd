/* Scancode tables: set 2 -> set 1, key names, US-layout characters. */
#ifndef KEYMAP_H
#define KEYMAP_H
#include "types.h"
void keymap_init(void);
/* Set-2 code (after any E0/F0 prefix) -> set-1 make code; 0 if unknown. */
u8 keymap_set2_to_set1(u8 set2);
const char *keymap_name(u16 code);
char keymap_char(u8 set1, int shift);
#endif
