/* CMOS real-time clock (ports 0x70/0x71). */
#ifndef CMOS_H
#define CMOS_H
#include "types.h"
struct rtc_time {
    u32 year;
    u8 month, day, hour, minute, second;
};
/* Returns 0 on success, -1 if the clock kept updating. */
int cmos_read_time(struct rtc_time *t);
#endif
