//! Linux bzImage kernels through the 64-bit boot protocol.
//!
//! The setup header is read from the file and checked here (HdrS magic, protocol 2.06 or
//! newer, a bzImage rather than a zImage, `XLF_KERNEL_64`); the protected-mode kernel is
//! copied to its `code32_start`, and boot_params (the "zero page", [`zero_page`]) is
//! written as the real-mode setup code would have filled it: the setup header from the
//! file with the loader's fields set, the E820 map, the command line, the initrd, and
//! `screen_info` for the VGA text console (mode 3, 80x25, 16-line font). The kernel is
//! entered in long mode at load address + 0x200 with RSI = boot_params
//! (`Documentation/arch/x86/boot.rst`, "64-bit Boot Protocol").
//!
//! This is hv's own code rather than the `linux-loader` crate because linux-loader (0.14)
//! depends on `vm-memory` with its unix-only `rawfd` feature, so it cannot build for
//! Windows; the loader is plain byte manipulation and builds and is tested on every host.
//!
//! Low-memory layout (all below the first kernel byte at 1 MiB):
//!
//! ```text
//! 0x0500  GDT
//! 0x7000  boot_params (the "zero page")
//! 0x8FF0  initial stack (grows down)
//! 0x9000  page tables (6 pages: PML4, PDPT, 4 page directories)
//! 0x20000 command line
//! ```

pub mod zero_page;

use super::e820::{e820_map, ram_end};
use super::{BootImage, LoadError, Loaded, disk::Drives};
use crate::arch::x86::long_mode;
use crate::machine::layout::{EBDA_START, HIGH_MEMORY_START};
use crate::memory::GuestMemory;
use zero_page::*;

/// "HdrS".
pub const HDRS_MAGIC: u32 = 0x5372_6448;
/// `boot_flag`'s value.
pub const BOOT_FLAG_MAGIC: u16 = 0xAA55;
/// Smallest boot protocol hv accepts.
pub const MIN_PROTOCOL: u16 = 0x0206;
/// `loadflags` bit 0: the protected-mode kernel is loaded at 1 MiB (a bzImage).
pub const LOADED_HIGH: u8 = 1 << 0;
/// `xloadflags` bit 0: the kernel has the 64-bit entry point at +0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `type_of_loader` for a loader without an assigned ID.
pub const LOADER_TYPE_UNDEFINED: u8 = 0xFF;
/// `vid_mode` "normal" (boot.rst, "Special Command Line Options": `vga=normal`).
pub const VID_MODE_NORMAL: u16 = 0xFFFF;

/// GDT address.
pub const GDT_AT: u64 = 0x500;
/// boot_params address.
pub const ZERO_PAGE_AT: u64 = 0x7000;
/// Initial RSP.
pub const STACK_TOP: u64 = 0x8FF0;
/// Page tables.
pub const PAGE_TABLES_AT: u64 = 0x9000;
/// Command line.
pub const CMDLINE_AT: u64 = 0x2_0000;
/// Longest command line that fits below the EBDA.
pub const CMDLINE_MAX: u64 = EBDA_START - CMDLINE_AT - 1;

const PAGE: u64 = 0x1000;
const SECTOR: u64 = 512;

fn invalid(msg: String) -> LoadError {
    LoadError::Invalid(msg)
}

/// True when `bytes` carry a Linux setup header ("HdrS" at 0x202 and the 0xAA55 boot
/// flag at 0x1FE).
pub fn is_bzimage(bytes: &[u8]) -> bool {
    HEADER.read(bytes) == Some(HDRS_MAGIC) && BOOT_FLAG.read(bytes) == Some(BOOT_FLAG_MAGIC)
}

/// Reads the setup header out of the file into an otherwise zero boot_params.
pub fn setup_header_of(bytes: &[u8]) -> Result<ZeroPage, LoadError> {
    ZeroPage::with_header_of(bytes).ok_or_else(|| {
        invalid(format!(
            "too short for a Linux setup header ({} bytes; the header ends at {SETUP_HEADER_END:#x})",
            bytes.len(),
        ))
    })
}

/// The initrd (`--initrd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initrd {
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// A checked bzImage with its command line and initrd, ready to load.
#[derive(Clone)]
pub struct BzImageLinux {
    bytes: Vec<u8>,
    /// boot_params as the file gives it: its setup header, everything else zero.
    hdr: ZeroPage,
    /// File offset of the protected-mode kernel.
    pm_offset: usize,
    load_addr: u64,
    cmdline: String,
    initrd: Option<(u64, Initrd)>,
    ram_end: u64,
}

impl std::fmt::Debug for BzImageLinux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self.hdr.get(VERSION);
        f.debug_struct("BzImageLinux")
            .field("bytes", &self.bytes.len())
            .field("protocol", &format_args!("{version:#06x}"))
            .field("load_addr", &format_args!("{:#x}", self.load_addr))
            .field("cmdline", &self.cmdline)
            .field(
                "initrd",
                &self.initrd.as_ref().map(|(a, i)| (a, i.bytes.len())),
            )
            .finish()
    }
}

impl BzImageLinux {
    /// Checks `bytes` as a 64-bit bzImage for a machine whose RAM ends at `ram_end` and
    /// places the initrd.
    pub fn new(
        bytes: Vec<u8>,
        cmdline: String,
        initrd: Option<Initrd>,
        ram_end: u64,
    ) -> Result<Self, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        let hdr = setup_header_of(&bytes)?;
        let (boot_flag, magic, version) = (hdr.get(BOOT_FLAG), hdr.get(HEADER), hdr.get(VERSION));
        if boot_flag != BOOT_FLAG_MAGIC || magic != HDRS_MAGIC {
            return Err(invalid(
                "not a Linux bzImage (no \"HdrS\" setup header at offset 0x202)".into(),
            ));
        }
        let proto = format!("{}.{:02}", version >> 8, version & 0xFF);
        if version < MIN_PROTOCOL {
            return Err(invalid(format!(
                "Linux boot protocol {proto} is too old; hv enters the 64-bit entry point and needs 2.06 or newer"
            )));
        }
        if hdr.get(LOADFLAGS) & LOADED_HIGH == 0 {
            return Err(invalid(
                "a zImage (loaded below 1 MiB), not a bzImage; hv boots bzImages".into(),
            ));
        }
        let xloadflags = hdr.get(XLOADFLAGS);
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(invalid(format!(
                "no 64-bit entry point (XLF_KERNEL_64 is clear: xloadflags {xloadflags:#x}, boot protocol {proto}); hv boots 64-bit kernels"
            )));
        }
        // boot.rst: "If this field is 0, the real value is 4"; the boot sector comes first.
        let setup_sects = match hdr.get(SETUP_SECTS) {
            0 => 4,
            n => u64::from(n),
        };
        let pm_offset = (setup_sects + 1) * SECTOR;
        let len = bytes.len() as u64;
        if pm_offset >= len {
            return Err(invalid(format!(
                "truncated: the setup code is {setup_sects} sectors, so the kernel starts at offset {pm_offset:#x}, but the file has {len:#x} bytes"
            )));
        }
        let kernel_size = len - pm_offset;
        if kernel_size <= 0x200 {
            return Err(invalid(format!(
                "truncated: the protected-mode kernel is {kernel_size} bytes, too small to hold the 64-bit entry point at +0x200"
            )));
        }
        let load_addr = u64::from(hdr.get(CODE32_START));
        if load_addr < HIGH_MEMORY_START || load_addr % PAGE != 0 {
            return Err(invalid(format!(
                "code32_start {load_addr:#x} is not a page-aligned address from 1 MiB up, where a bzImage loads"
            )));
        }
        // The kernel decompresses in place and needs init_size bytes from its load address.
        let init_size = if version >= 0x020A {
            u64::from(hdr.get(INIT_SIZE))
        } else {
            0
        };
        let need = kernel_size.max(init_size);
        let kernel_end = load_addr
            .checked_add(need)
            .filter(|&e| e <= ram_end)
            .ok_or_else(|| {
                invalid(format!(
                    "the kernel needs {} MiB of RAM from {load_addr:#x} (kernel {kernel_size} bytes, init_size {init_size}) but RAM ends at {} MiB; give more --memory",
                    need.div_ceil(1 << 20),
                    ram_end >> 20
                ))
            })?;

        let cmdline_size = u64::from(hdr.get(CMDLINE_SIZE));
        let max_cmdline = cmdline_size.saturating_sub(1).min(CMDLINE_MAX);
        if cmdline.len() as u64 > max_cmdline {
            return Err(invalid(format!(
                "the command line is {} bytes; this kernel accepts at most {max_cmdline}",
                cmdline.len()
            )));
        }
        if cmdline.contains('\0') {
            return Err(invalid("the command line contains a NUL byte".into()));
        }

        let initrd = match initrd {
            None => None,
            Some(i) => {
                let size = i.bytes.len() as u64;
                let addr_max = u64::from(hdr.get(INITRD_ADDR_MAX));
                let top = addr_max.saturating_add(1).min(ram_end).min(1 << 32);
                let lowest = kernel_end.div_ceil(PAGE) * PAGE;
                let at = top
                    .checked_sub(size)
                    .map(|a| a & !(PAGE - 1))
                    .filter(|&a| a >= lowest)
                    .ok_or_else(|| {
                        invalid(format!(
                            "the initrd ({size} bytes) does not fit between the kernel (ends at {lowest:#x}) and {top:#x} (the lower of initrd_addr_max {addr_max:#x} and the end of RAM); give more --memory"
                        ))
                    })?;
                Some((at, i))
            }
        };
        Ok(Self {
            bytes,
            hdr,
            // Below the file's length, checked above.
            pm_offset: pm_offset as usize,
            load_addr,
            cmdline,
            initrd,
            ram_end,
        })
    }

    /// Where the protected-mode kernel goes.
    pub fn load_addr(&self) -> u64 {
        self.load_addr
    }

    /// Where the initrd goes, if there is one.
    pub fn initrd_addr(&self) -> Option<u64> {
        self.initrd.as_ref().map(|(a, _)| *a)
    }

    /// boot_params for this kernel in `mem`: the file's setup header with the loader's
    /// fields filled, and what the real-mode setup code would have gathered from the BIOS.
    fn boot_params(&self, mem: &GuestMemory) -> ZeroPage {
        let ram = ram_end(mem);
        let mut p = self.hdr.clone();
        p.set(TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
        p.set(VID_MODE, VID_MODE_NORMAL);
        p.set(CMD_LINE_PTR, CMDLINE_AT as u32);
        // At most CMDLINE_MAX bytes (checked in new), so this fits.
        p.set(CMDLINE_SIZE, self.cmdline.len() as u32 + 1);
        // The header comes from the image file: without an initrd its ramdisk fields must
        // be cleared, or the kernel trusts whatever the file held there. The initrd is
        // placed below 4 GiB (new), so the ext_ fields stay zero.
        let (rd_at, rd_size) = match &self.initrd {
            Some((at, i)) => (*at as u32, i.bytes.len() as u32),
            None => (0, 0),
        };
        p.set(RAMDISK_IMAGE, rd_at);
        p.set(RAMDISK_SIZE, rd_size);
        let ext_kib = (ram.min(1 << 32).saturating_sub(HIGH_MEMORY_START)) / 1024;
        p.set(ALT_MEM_K, ext_kib as u32);
        // screen_info as the real-mode setup fills it for an 80x25 colour VGA text mode:
        // cursor at 0,0, page 0, mode 3, EGA BX = 3 (256 KiB, colour), 16-line font.
        p.set(ORIG_X, 0);
        p.set(ORIG_Y, 0);
        p.set(EXT_MEM_K, ext_kib.min(0xFFFF) as u16);
        p.set(ORIG_VIDEO_PAGE, 0);
        p.set(ORIG_VIDEO_MODE, 3);
        p.set(ORIG_VIDEO_COLS, 80);
        p.set(SCREEN_FLAGS, 0);
        p.set(ORIG_VIDEO_EGA_BX, 3);
        p.set(ORIG_VIDEO_LINES, 25);
        p.set(ORIG_VIDEO_IS_VGA, 1);
        p.set(ORIG_VIDEO_POINTS, 16);
        p.set_e820(e820_map(mem).iter().map(|e| (e.base, e.len, e.kind)));
        p
    }
}

impl BootImage for BzImageLinux {
    fn load(&self, mem: &GuestMemory, _drives: &Drives) -> Result<Loaded, LoadError> {
        let ram = ram_end(mem);
        if ram < self.ram_end {
            return Err(invalid(format!(
                "the kernel was checked for {} MiB of RAM but the machine has {} MiB",
                self.ram_end >> 20,
                ram >> 20
            )));
        }
        let write = |at: u64, b: &[u8]| {
            mem.write(at, b)
                .map_err(|e| invalid(format!("writing guest memory at {at:#x}: {e}")))
        };
        let kernel = self.bytes.get(self.pm_offset..).ok_or_else(|| {
            invalid("the protected-mode kernel is past the end of the file".into())
        })?;
        write(self.load_addr, kernel)?;
        write(CMDLINE_AT, self.cmdline.as_bytes())?;
        write(CMDLINE_AT + self.cmdline.len() as u64, &[0])?;
        if let Some((at, i)) = &self.initrd {
            write(*at, &i.bytes)?;
        }
        write(ZERO_PAGE_AT, self.boot_params(mem).as_bytes())?;
        let mut entry = long_mode(
            mem,
            PAGE_TABLES_AT,
            GDT_AT,
            self.load_addr + 0x200,
            STACK_TOP,
        )
        .map_err(|e| invalid(e.to_string()))?;
        entry.regs.rsi = ZERO_PAGE_AT;
        Ok(Loaded { entry })
    }
}

#[cfg(test)]
mod tests;
