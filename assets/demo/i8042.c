/* Controller commands are done with interrupts off and the keyboard port disabled
 * (0xAD), so a keystroke can never be mistaken for the controller's reply. Emulated
 * controllers answer synchronously, so the polls below end after one or two reads. */
#include "i8042.h"
#include "io.h"
#include "keyboard.h"

#define POLL_LIMIT 100000

static int wait_input_empty(void)
{
    for (int i = 0; i < POLL_LIMIT; i++)
        if (!(inb(I8042_STATUS) & I8042_STR_IBF))
            return 0;
    return -1;
}

static int wait_output_full(void)
{
    for (int i = 0; i < POLL_LIMIT; i++)
        if (inb(I8042_STATUS) & I8042_STR_OBF)
            return 0;
    return -1;
}

static int send_command(u8 cmd)
{
    if (wait_input_empty())
        return -1;
    outb(I8042_COMMAND, cmd);
    return 0;
}

/* Move any byte still waiting in the output buffer to the keyboard queue. */
static void drain_output(void)
{
    for (int i = 0; i < 32; i++) {
        u8 status = inb(I8042_STATUS);
        if (!(status & I8042_STR_OBF))
            return;
        u8 b = inb(I8042_DATA);
        if (!(status & I8042_STR_AUXDATA))
            keyboard_queue_raw(b);
    }
}

static int read_ctr_locked(void)
{
    if (send_command(0x20) || wait_output_full())
        return -1;
    return inb(I8042_DATA);
}

int i8042_read_ctr(void)
{
    cpu_cli();
    send_command(0xAD); /* keyboard port off: no new key bytes enter the output buffer */
    drain_output();
    int ctr = read_ctr_locked();
    send_command(0xAE); /* keyboard port on (clears CTR.KBDDIS again) */
    cpu_sti();
    if (ctr >= 0)
        ctr &= ~I8042_CTR_KBDDIS; /* report the CTR as it is outside this window */
    return ctr;
}

int i8042_write_ctr(u8 ctr)
{
    int rc = -1;
    cpu_cli();
    send_command(0xAD);
    drain_output();
    if (!send_command(0x60) && !wait_input_empty()) {
        outb(I8042_DATA, (u8)(ctr | I8042_CTR_KBDDIS));
        rc = 0;
    }
    send_command(0xAE);
    cpu_sti();
    return rc;
}

void i8042_reset_cpu(void)
{
    cpu_cli();
    send_command(0xFE);
    cpu_sti();
}
