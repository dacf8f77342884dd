/* i8042 keyboard controller: polled controller commands and the CTR. */
#ifndef I8042_H
#define I8042_H
#include "types.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_COMMAND 0x64

#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_AUXDATA 0x20

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_XLATE 0x40

/* Read the controller configuration byte (command 0x20). Returns -1 on timeout.
 * Keyboard bytes already waiting are moved into the keyboard driver's queue first. */
int i8042_read_ctr(void);
/* Write the CTR (command 0x60). Returns 0, or -1 on timeout. */
int i8042_write_ctr(u8 ctr);
/* Pulse the CPU reset line (command 0xFE). */
void i8042_reset_cpu(void);
#endif
