/* RTC read: wait out an update cycle, read twice until stable, convert BCD / 12-hour. */
#include "cmos.h"
#include "io.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define NMI_DISABLE 0x80

static u8 cmos_read(u8 reg)
{
    outb(CMOS_INDEX, (u8)(NMI_DISABLE | reg));
    return inb(CMOS_DATA);
}

static int update_in_progress(void) { return cmos_read(0x0A) & 0x80; }

static void read_raw(u8 r[7])
{
    static const u8 regs[7] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32}; /* s m h D M Y century */
    for (int i = 0; i < 7; i++)
        r[i] = cmos_read(regs[i]);
}

static u8 from_bcd(u8 v) { return (u8)((v >> 4) * 10 + (v & 0x0F)); }

int cmos_read_time(struct rtc_time *t)
{
    u8 a[7], b[7];
    int tries = 0, same;
    do {
        /* An update takes < 2 ms; a few hundred polls cover it even on real hardware. */
        for (int i = 0; i < 1000 && update_in_progress(); i++)
            ;
        read_raw(a);
        read_raw(b);
        same = 1;
        for (int i = 0; i < 7; i++)
            same &= a[i] == b[i];
    } while (!same && ++tries < 5);
    if (!same)
        return -1;

    u8 status_b = cmos_read(0x0B);
    int pm = a[2] & 0x80;
    a[2] &= 0x7F;
    if (!(status_b & 0x04)) /* bit 2 clear: values are BCD */
        for (int i = 0; i < 7; i++)
            a[i] = from_bcd(a[i]);
    if (!(status_b & 0x02)) { /* bit 1 clear: 12-hour clock */
        a[2] %= 12;
        if (pm)
            a[2] += 12;
    }
    t->second = a[0];
    t->minute = a[1];
    t->hour = a[2];
    t->day = a[3];
    t->month = a[4];
    t->year = a[6] ? a[6] * 100u + a[5] : 2000u + a[5];
    return 0;
}
