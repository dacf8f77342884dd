//! `struct boot_params` (the "zero page") as a 4 KiB little-endian byte image with its
//! fields at named offsets.
//!
//! Offsets and sizes come from Linux's `arch/x86/include/uapi/asm/bootparam.h`
//! (`struct boot_params`, `struct setup_header`, `struct boot_e820_entry`),
//! `include/uapi/linux/screen_info.h` (`struct screen_info`, at offset 0), and the tables in
//! `Documentation/arch/x86/boot.rst` and `zero-page.rst`; the table-driven test in
//! `bzimage/tests.rs` pins each one with its source. `boot_params.hdr` sits at 0x1F1, the
//! same offset the setup header has in the kernel file, so one offset names a setup-header
//! field in both.
//!
//! Named here are the fields hv reads or writes and the ones its tests check stay zero;
//! everything outside the setup header starts zero, as the boot protocol asks of a loader
//! (boot_params "allocated ... and initialized to all zero", then the setup header copied
//! in from offset 0x1F1 of the file).

use std::marker::PhantomData;

/// `sizeof(struct boot_params)` (`BOOT_PARAMS_SIZE` in the kernel's own headers).
pub const ZERO_PAGE_SIZE: usize = 0x1000;

/// `boot_params.hdr`: where the setup header starts, in the file and in boot_params.
pub const SETUP_HEADER_START: usize = 0x1F1;
/// One past the last setup-header field hv knows (`kernel_info_offset`, 0x268/4, protocol
/// 2.15): `sizeof(struct setup_header)` is `SETUP_HEADER_END - SETUP_HEADER_START`.
pub const SETUP_HEADER_END: usize = 0x26C;

/// `boot_params.e820_table`.
pub const E820_TABLE: usize = 0x2D0;
/// `sizeof(struct boot_e820_entry)`: `addr` u64 at 0, `size` u64 at 8, `type` u32 at 16.
pub const E820_ENTRY_SIZE: usize = 20;
/// `E820_MAX_ENTRIES_ZEROPAGE`.
pub const E820_MAX_ENTRIES: usize = 128;

/// A little-endian integer type a [`Field`] holds.
pub trait LeInt: Copy + Into<u64> {
    /// Width in bytes.
    const SIZE: usize;
    /// From exactly `SIZE` bytes.
    fn from_le(bytes: &[u8]) -> Self;
    /// Into exactly `SIZE` bytes.
    fn put_le(self, out: &mut [u8]);
}

macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl LeInt for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
            fn put_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64);

/// An integer field of boot_params: its offset, and its width through `T`.
#[derive(Debug, PartialEq, Eq)]
pub struct Field<T> {
    offset: usize,
    width: PhantomData<T>,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Field<T> {}

impl<T: LeInt> Field<T> {
    /// The field at `offset`; refuses (at compile time, for the constants below) a field
    /// that would end past the zero page.
    pub const fn at(offset: usize) -> Self {
        assert!(
            offset + T::SIZE <= ZERO_PAGE_SIZE,
            "field past the zero page"
        );
        Self {
            offset,
            width: PhantomData,
        }
    }

    /// (offset, size): the offset from the start of boot_params (for setup-header fields,
    /// also from the start of the file) and the width in bytes.
    pub const fn span(self) -> (usize, usize) {
        (self.offset, T::SIZE)
    }

    fn range(self) -> std::ops::Range<usize> {
        self.offset..self.offset + T::SIZE
    }

    /// The field's value in `bytes` laid out as boot_params or a kernel file; `None` when
    /// `bytes` ends before the field does.
    pub fn read(self, bytes: &[u8]) -> Option<T> {
        bytes.get(self.range()).map(T::from_le)
    }
}

// struct screen_info (include/uapi/linux/screen_info.h), boot_params + 0x000.
/// `screen_info.orig_x`: cursor column.
pub const ORIG_X: Field<u8> = Field::at(0x00);
/// `screen_info.orig_y`: cursor row.
pub const ORIG_Y: Field<u8> = Field::at(0x01);
/// `screen_info.ext_mem_k`: extended memory in KiB (int 15h AH=88h; 16 bits).
pub const EXT_MEM_K: Field<u16> = Field::at(0x02);
/// `screen_info.orig_video_page`.
pub const ORIG_VIDEO_PAGE: Field<u16> = Field::at(0x04);
/// `screen_info.orig_video_mode`: the BIOS video mode.
pub const ORIG_VIDEO_MODE: Field<u8> = Field::at(0x06);
/// `screen_info.orig_video_cols`.
pub const ORIG_VIDEO_COLS: Field<u8> = Field::at(0x07);
/// `screen_info.flags` (`VIDEO_FLAGS_NOCURSOR`).
pub const SCREEN_FLAGS: Field<u8> = Field::at(0x08);
/// `screen_info.orig_video_ega_bx`: BX of int 10h AH=12h BL=10h (EGA information).
pub const ORIG_VIDEO_EGA_BX: Field<u16> = Field::at(0x0A);
/// `screen_info.orig_video_lines`.
pub const ORIG_VIDEO_LINES: Field<u8> = Field::at(0x0E);
/// `screen_info.orig_video_isVGA`.
pub const ORIG_VIDEO_IS_VGA: Field<u8> = Field::at(0x0F);
/// `screen_info.orig_video_points`: character height in scan lines.
pub const ORIG_VIDEO_POINTS: Field<u16> = Field::at(0x10);

// struct boot_params (arch/x86/include/uapi/asm/bootparam.h).
/// `ext_ramdisk_image`: bits 63:32 of the initrd address.
pub const EXT_RAMDISK_IMAGE: Field<u32> = Field::at(0x0C0);
/// `ext_ramdisk_size`: bits 63:32 of the initrd size.
pub const EXT_RAMDISK_SIZE: Field<u32> = Field::at(0x0C4);
/// `ext_cmd_line_ptr`: bits 63:32 of the command-line address.
pub const EXT_CMD_LINE_PTR: Field<u32> = Field::at(0x0C8);
/// `alt_mem_k`: memory above 1 MiB in KiB (int 15h AX=E801h).
pub const ALT_MEM_K: Field<u32> = Field::at(0x1E0);
/// `e820_entries`: how many of `e820_table` are valid.
pub const E820_ENTRIES: Field<u8> = Field::at(0x1E8);
/// `sentinel`: nonzero when a loader copied more than the setup header.
pub const SENTINEL: Field<u8> = Field::at(0x1EF);

// struct setup_header (bootparam.h; boot.rst "The Real-Mode Kernel Header"), at 0x1F1.
/// `setup_sects`: setup code size in 512-byte sectors (0 means 4).
pub const SETUP_SECTS: Field<u8> = Field::at(0x1F1);
/// `vid_mode`: video mode control (0xFFFF "normal").
pub const VID_MODE: Field<u16> = Field::at(0x1FA);
/// `boot_flag`: 0xAA55.
pub const BOOT_FLAG: Field<u16> = Field::at(0x1FE);
/// `header`: "HdrS".
pub const HEADER: Field<u32> = Field::at(0x202);
/// `version`: boot protocol, (major << 8) | minor.
pub const VERSION: Field<u16> = Field::at(0x206);
/// `type_of_loader`: boot loader ID.
pub const TYPE_OF_LOADER: Field<u8> = Field::at(0x210);
/// `loadflags`.
pub const LOADFLAGS: Field<u8> = Field::at(0x211);
/// `code32_start`: where the protected-mode kernel is loaded.
pub const CODE32_START: Field<u32> = Field::at(0x214);
/// `ramdisk_image`: the initrd's address.
pub const RAMDISK_IMAGE: Field<u32> = Field::at(0x218);
/// `ramdisk_size`: the initrd's size.
pub const RAMDISK_SIZE: Field<u32> = Field::at(0x21C);
/// `cmd_line_ptr`: the command line's address.
pub const CMD_LINE_PTR: Field<u32> = Field::at(0x228);
/// `initrd_addr_max`: highest address the initrd may occupy (2.03+).
pub const INITRD_ADDR_MAX: Field<u32> = Field::at(0x22C);
/// `kernel_alignment` (2.05+).
pub const KERNEL_ALIGNMENT: Field<u32> = Field::at(0x230);
/// `xloadflags` (2.12+).
pub const XLOADFLAGS: Field<u16> = Field::at(0x236);
/// `cmdline_size`: longest command line, without its NUL (2.06+).
pub const CMDLINE_SIZE: Field<u32> = Field::at(0x238);
/// `init_size`: memory the kernel needs from its load address while it decompresses
/// (2.10+).
pub const INIT_SIZE: Field<u32> = Field::at(0x260);
/// `kernel_info_offset` (2.15+): the last field of the setup header.
pub const KERNEL_INFO_OFFSET: Field<u32> = Field::at(0x268);

/// boot_params as the bytes written to guest memory.
#[derive(Clone, PartialEq, Eq)]
pub struct ZeroPage(Box<[u8; ZERO_PAGE_SIZE]>);

impl std::fmt::Debug for ZeroPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroPage")
            .field("version", &format_args!("{:#06x}", self.get(VERSION)))
            .field("e820_entries", &self.get(E820_ENTRIES))
            .finish_non_exhaustive()
    }
}

impl ZeroPage {
    /// A zero page that is zero except for the setup header (0x1F1-0x26B), copied from
    /// `kernel`; `None` if the file ends before the header does.
    pub fn with_header_of(kernel: &[u8]) -> Option<Self> {
        let hdr = kernel.get(SETUP_HEADER_START..SETUP_HEADER_END)?;
        let mut page = Box::new([0u8; ZERO_PAGE_SIZE]);
        page[SETUP_HEADER_START..SETUP_HEADER_END].copy_from_slice(hdr);
        Some(Self(page))
    }

    /// A field's value.
    pub fn get<T: LeInt>(&self, f: Field<T>) -> T {
        // Field::at keeps every field inside the page.
        T::from_le(&self.0[f.range()])
    }

    /// Sets a field.
    pub fn set<T: LeInt>(&mut self, f: Field<T>, v: T) {
        v.put_le(&mut self.0[f.range()]);
    }

    /// Fills `e820_table` from `entries` (address, size, type) and sets `e820_entries`;
    /// entries past the table's 128 are dropped. Returns how many were written.
    pub fn set_e820(&mut self, entries: impl IntoIterator<Item = (u64, u64, u32)>) -> u8 {
        let mut n = 0u8;
        for (slot, (addr, size, kind)) in self.0[E820_TABLE..]
            .chunks_exact_mut(E820_ENTRY_SIZE)
            .take(E820_MAX_ENTRIES)
            .zip(entries)
        {
            addr.put_le(&mut slot[0..8]);
            size.put_le(&mut slot[8..16]);
            kind.put_le(&mut slot[16..20]);
            n += 1;
        }
        self.set(E820_ENTRIES, n);
        n
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; ZERO_PAGE_SIZE] {
        &self.0
    }
}
