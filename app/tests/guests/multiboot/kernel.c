/* A freestanding multiboot test kernel: checks the boot magic, prints the multiboot
 * information (command line, loader name, modules, memory map) to VGA text memory and
 * COM1, then halts. Integer-only: hv's test hosts cannot run x87/SSE at CPL 0. */
#include <stdint.h>

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_mod {
    uint32_t start, end, string, reserved;
} __attribute__((packed));

struct mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

static volatile uint16_t *const vga = (uint16_t *)0xB8000;
static int row, col;

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void putc(char c) {
    outb(0x3F8, (uint8_t)c);
    if (c == '\n') {
        col = 0;
        if (++row == 25)
            row = 24;
        return;
    }
    if (col < 80)
        vga[row * 80 + col++] = (uint16_t)(0x0700 | (uint8_t)c);
}

static void puts(const char *s) {
    while (*s)
        putc(*s++);
}

static void hex(uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--)
        putc("0123456789ABCDEF"[(v >> (4 * i)) & 0xF]);
}

void kmain(uint32_t magic, const struct mb_info *mbi) {
    for (int i = 0; i < 80 * 25; i++)
        vga[i] = 0x0720;
    if (magic != 0x2BADB002) {
        puts("BAD MAGIC ");
        hex(magic, 8);
        puts("\n");
        return;
    }
    puts("MULTIBOOT OK flags=");
    hex(mbi->flags, 8);
    puts(" lower=");
    hex(mbi->mem_lower, 8);
    puts(" upper=");
    hex(mbi->mem_upper, 8);
    puts("\n");
    if (mbi->flags & (1u << 9)) {
        puts("loader=");
        puts((const char *)mbi->boot_loader_name);
        puts("\n");
    }
    if (mbi->flags & (1u << 2)) {
        puts("cmdline=");
        puts((const char *)mbi->cmdline);
        puts("\n");
    }
    if (mbi->flags & (1u << 3)) {
        const struct mb_mod *m = (const struct mb_mod *)mbi->mods_addr;
        for (uint32_t i = 0; i < mbi->mods_count; i++) {
            puts("module first=");
            putc(*(const char *)m[i].start);
            puts(" at ");
            hex(m[i].start, 8);
            putc(' ');
            puts((const char *)m[i].string);
            puts("\n");
        }
    }
    if (mbi->flags & (1u << 6)) {
        uint32_t p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
        while (p < end) {
            const struct mb_mmap *e = (const struct mb_mmap *)p;
            puts("mmap ");
            hex(e->addr, 16);
            putc(' ');
            hex(e->len, 16);
            putc(' ');
            hex(e->type, 1);
            puts("\n");
            p += e->size + 4;
        }
    }
    puts("MMAP DONE\n");
}
