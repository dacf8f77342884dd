/* Freestanding library routines used across the kernel. */
#include <stdarg.h>
#include "lib.h"
#include "console.h"

void *memset(void *dst, int c, u32 n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, u32 n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, u32 n)
{
    u8 *d = dst;
    const u8 *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

u32 strlen(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, u32 n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (u8)*a - (u8)*b;
    }
    return 0;
}

u64 udiv64(u64 n, u32 d, u32 *rem)
{
    /* Schoolbook long division, one bit at a time: only used for printing and ratios. */
    u64 q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= (u64)1 << i;
        }
    }
    if (rem)
        *rem = (u32)r;
    return q;
}

/* Output sink: either the console or a bounded buffer. */
struct sink {
    char *buf;
    u32 size, len;
};

static void sink_putc(struct sink *s, char c)
{
    if (!s->buf) {
        console_putc(c);
        return;
    }
    if (s->len + 1 < s->size)
        s->buf[s->len++] = c;
}

static void put_number(struct sink *s, u32 v, u32 base, int upper, int width, char pad, int negative)
{
    char tmp[12];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (negative)
        width--;
    if (negative && pad == '0')
        sink_putc(s, '-');
    for (int i = n; i < width; i++)
        sink_putc(s, pad);
    if (negative && pad != '0')
        sink_putc(s, '-');
    while (n)
        sink_putc(s, tmp[--n]);
}

static void vformat(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_putc(s, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, left = 0;
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            int len = (int)strlen(str);
            if (!left)
                for (int i = len; i < width; i++)
                    sink_putc(s, ' ');
            while (*str)
                sink_putc(s, *str++);
            if (left)
                for (int i = len; i < width; i++)
                    sink_putc(s, ' ');
            break;
        }
        case 'c':
            sink_putc(s, (char)va_arg(ap, int));
            break;
        case 'd': {
            s32 v = va_arg(ap, s32);
            put_number(s, v < 0 ? (u32)-v : (u32)v, 10, 0, width, pad, v < 0);
            break;
        }
        case 'u':
            put_number(s, va_arg(ap, u32), 10, 0, width, pad, 0);
            break;
        case 'x':
        case 'X':
            put_number(s, va_arg(ap, u32), 16, *fmt == 'X', width, pad, 0);
            break;
        case '%':
            sink_putc(s, '%');
            break;
        case 0:
            return;
        default:
            sink_putc(s, '%');
            sink_putc(s, *fmt);
        }
    }
}

void kprintf(const char *fmt, ...)
{
    struct sink s = {0, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(&s, fmt, ap);
    va_end(ap);
    console_sync_cursor();
}

void ksnprintf(char *buf, u32 size, const char *fmt, ...)
{
    struct sink s = {buf, size, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(&s, fmt, ap);
    va_end(ap);
    if (size)
        buf[s.len] = 0;
}

void kprint_hex64(u64 v)
{
    kprintf("0x%08x%08x", (u32)(v >> 32), (u32)v);
}

void kprint_u64(u64 v)
{
    char tmp[21];
    int n = 0;
    do {
        u32 r;
        v = udiv64(v, 10, &r);
        tmp[n++] = (char)('0' + r);
    } while (v);
    while (n)
        console_putc(tmp[--n]);
}
