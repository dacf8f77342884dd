/* What boot.asm leaves at linear 0x500 for the kernel. Keep in sync with boot.asm. */
#ifndef BOOTINFO_H
#define BOOTINFO_H
#include "types.h"

#define BOOTINFO_MAGIC 0x4D445648u /* "HVDM" */
#define E820_MAX 32

struct e820_entry {
    u64 base;
    u64 length;
    u32 type;
    u32 ext_attr;
} __attribute__((packed));

struct bootinfo {
    u32 magic;
    u32 drive;
    u32 e820_count;
    u32 load_method; /* 1 = int 13h AH=42h (LBA), 2 = AH=02h (CHS) */
    struct e820_entry e820[E820_MAX];
} __attribute__((packed));

#define BOOTINFO ((const struct bootinfo *)0x500)
#endif
