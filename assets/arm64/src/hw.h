/* Device access for the hv arm64 demo.
 *
 * MMIO goes through plain ldr/str with a base register and no writeback, written in
 * inline assembly: a trapped access then always carries a valid syndrome (ESR ISV=1),
 * which is what a hypervisor needs to emulate it. The compiler could otherwise pick
 * pre/post-indexed forms or load/store pairs. */
#ifndef HW_H
#define HW_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long uptr;

static inline u8 mmio_read8(uptr addr)
{
    u32 v;
    __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return (u8)v;
}

static inline void mmio_write8(uptr addr, u8 v)
{
    __asm__ volatile("strb %w0, [%1]" : : "r"((u32)v), "r"(addr) : "memory");
}

static inline u32 mmio_read32(uptr addr)
{
    u32 v;
    __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

static inline void mmio_write32(uptr addr, u32 v)
{
    __asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

/* Board addresses (hv's arm64 board and QEMU virt agree on the PL011). */
#define PL011_BASE      0x09000000UL
#define ISA_WINDOW_BASE 0x0B000000UL   /* port p at ISA_WINDOW_BASE + p */
#define VGA_TEXT_BASE   0x000B8000UL   /* VGA memory is RAM at the PC address */

static inline u8 inb(u16 port) { return mmio_read8(ISA_WINDOW_BASE + port); }
static inline void outb(u16 port, u8 v) { mmio_write8(ISA_WINDOW_BASE + port, v); }

/* What the device tree says this machine has. */
struct machine {
    int has_isa_window;   /* "hv,isa-window": i8042 and VGA are reachable */
    /* hv's board without a GIC ("hv,arm64-board", no "arm,gic-v3"): device interrupt
     * lines drive the CPU's IRQ input directly, so WFI wakes on them. Anywhere else
     * (QEMU's GICv2/v3, hv with its GIC) they go through a GIC this demo does not
     * program, and WFI could sleep forever. */
    int wfi_wakes_on_device_irq;
};

/* fdt.c */
int fdt_has_compatible(const void *dtb, const char *compatible);

/* console.c */
void console_init(int with_vga);
void putc_all(char c);
void puts_all(const char *s);
void put_hex(u32 v, int digits);
void vga_clear(void);
void console_set_attr(u8 attr);
void vga_put_cell(int row, int col, char c, u8 attr);
int vga_present(void);
void serial_putc(char c);
int serial_getc(void);        /* -1 when nothing is waiting */
void serial_enable_rx_irq(void);

/* kbd.c */
int kbd_read_scancode(void);  /* -1 when nothing is waiting */
int kbd_scancode_to_ascii(u8 code);  /* 0 for keys without a character, -1 if none */

/* psci */
void psci_call(u32 function);

#endif
