/* Just enough device-tree reading to ask "is there a node compatible with X?".
 *
 * The blob comes from the hypervisor or QEMU, but it is still checked: the header's
 * sizes and offsets must stay inside the 2 MiB the boot protocol allows, and every read
 * is bounds-checked against them. With the MMU off all memory is Device memory, so
 * 32-bit words are read aligned and assembled from big-endian by hand. */
#include "hw.h"

#define FDT_MAGIC      0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9
#define FDT_MAX_SIZE   (2U << 20)

static u32 be32(const u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static int str_eq(const u8 *a, u32 alen, const char *b)
{
    u32 i = 0;
    for (; i < alen && b[i]; i++)
        if (a[i] != (u8)b[i])
            return 0;
    return i == alen && b[i] == 0;
}

/* Length of the NUL-terminated string at p, or -1 if it runs past end. */
static long str_len(const u8 *p, const u8 *end)
{
    const u8 *s = p;
    while (s < end && *s)
        s++;
    return s < end ? s - p : -1;
}

int fdt_has_compatible(const void *dtb, const char *compatible)
{
    const u8 *base = dtb;
    if (!base || ((uptr)base & 7) || be32(base) != FDT_MAGIC)
        return 0;
    u32 total = be32(base + 4), off_struct = be32(base + 8), off_strings = be32(base + 12);
    u32 size_struct = be32(base + 36);
    if (total > FDT_MAX_SIZE || off_struct >= total || off_strings >= total ||
        size_struct > total - off_struct || (off_struct & 3))
        return 0;
    const u8 *p = base + off_struct, *end = p + size_struct;
    const u8 *strings = base + off_strings, *strings_end = base + total;

    while (p + 4 <= end) {
        u32 token = be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            long n = str_len(p, end);
            if (n < 0)
                return 0;
            p += (n + 1 + 3) & ~3UL;
        } else if (token == FDT_PROP) {
            if (p + 8 > end)
                return 0;
            u32 len = be32(p), name_off = be32(p + 4);
            const u8 *value = p + 8;
            if (len > (u32)(end - value) || name_off >= (u32)(strings_end - strings))
                return 0;
            long name_len = str_len(strings + name_off, strings_end);
            if (name_len >= 0 && str_eq(strings + name_off, (u32)name_len, "compatible")) {
                /* A list of NUL-terminated strings. */
                u32 i = 0;
                while (i < len) {
                    long s = str_len(value + i, value + len);
                    if (s < 0)
                        break;
                    if (str_eq(value + i, (u32)s, compatible))
                        return 1;
                    i += (u32)s + 1;
                }
            }
            p = value + ((len + 3) & ~3U);
        } else if (token == FDT_END_NODE || token == FDT_NOP) {
            continue;
        } else {
            break; /* FDT_END or garbage */
        }
    }
    return 0;
}
