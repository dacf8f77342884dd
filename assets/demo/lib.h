/* Small freestanding helpers: memory, strings, formatted output, 64-bit division. */
#ifndef LIB_H
#define LIB_H
#include "types.h"

void *memset(void *dst, int c, u32 n);
void *memcpy(void *dst, const void *src, u32 n);
void *memmove(void *dst, const void *src, u32 n);
u32 strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, u32 n);

/* printf subset: %s %c %d %u %x %X with optional '0' flag and width; %% */
void kprintf(const char *fmt, ...);
/* Same, but into buf (always NUL-terminated, truncated to size). */
void ksnprintf(char *buf, u32 size, const char *fmt, ...);
/* Print a 64-bit value as 0x + 16 hex digits. */
void kprint_hex64(u64 v);
/* Print a 64-bit unsigned value in decimal. */
void kprint_u64(u64 v);

/* 64-by-32 bit unsigned division (gcc would otherwise need libgcc's __udivdi3). */
u64 udiv64(u64 n, u32 d, u32 *rem);
#endif
