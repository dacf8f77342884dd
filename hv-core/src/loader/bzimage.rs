//! Linux bzImage kernels through the 64-bit boot protocol.
//!
//! The setup header is checked here (HdrS magic, protocol 2.06 or newer, a bzImage
//! rather than a zImage, `XLF_KERNEL_64`); `linux-loader` copies the protected-mode
//! kernel to its `code32_start` and writes the zero page. hv fills `boot_params` as the
//! real-mode setup code would have: the E820 map, the command line, the initrd, and
//! `screen_info` for the VGA text console (mode 3, 80x25, 16-line font). The kernel is
//! entered in long mode at load address + 0x200 with RSI = boot_params.
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

use std::io::Cursor;

use linux_loader::configurator::linux::LinuxBootConfigurator;
use linux_loader::configurator::{BootConfigurator, BootParams};
use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{KernelLoader, bzimage::BzImage};
use vm_memory::{ByteValued, GuestAddress};

use super::e820::{e820_map, ram_end};
use super::{BootImage, LoadError, Loaded, disk::Drives};
use crate::arch::x86::long_mode;
use crate::machine::layout::{EBDA_START, HIGH_MEMORY_START};
use crate::memory::GuestMemory;

/// Where the setup header starts in the file (and in boot_params).
pub const SETUP_HEADER_OFFSET: usize = 0x1F1;
/// "HdrS".
pub const HDRS_MAGIC: u32 = 0x5372_6448;
/// Smallest boot protocol hv accepts.
pub const MIN_PROTOCOL: u16 = 0x0206;
/// `loadflags` bit 0: the protected-mode kernel is loaded at 1 MiB (a bzImage).
pub const LOADED_HIGH: u8 = 1 << 0;
/// `xloadflags` bit 0: the kernel has the 64-bit entry point at +0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `type_of_loader` for a loader without an assigned ID.
pub const LOADER_TYPE_UNDEFINED: u8 = 0xFF;

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

fn invalid(msg: String) -> LoadError {
    LoadError::Invalid(msg)
}

/// True when `bytes` carry a Linux setup header ("HdrS" at 0x202 and the 0xAA55 boot
/// flag at 0x1FE).
pub fn is_bzimage(bytes: &[u8]) -> bool {
    bytes.get(0x202..0x206) == Some(&HDRS_MAGIC.to_le_bytes()[..])
        && bytes.get(0x1FE..0x200) == Some(&[0x55, 0xAA][..])
}

/// Reads the setup header out of the file.
pub fn setup_header_of(bytes: &[u8]) -> Result<setup_header, LoadError> {
    let size = std::mem::size_of::<setup_header>();
    let raw = bytes
        .get(SETUP_HEADER_OFFSET..SETUP_HEADER_OFFSET + size)
        .ok_or_else(|| {
            invalid(format!(
                "too short for a Linux setup header ({} bytes; the header ends at {:#x})",
                bytes.len(),
                SETUP_HEADER_OFFSET + size
            ))
        })?;
    let mut h = setup_header::default();
    h.as_mut_slice().copy_from_slice(raw);
    Ok(h)
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
    hdr: setup_header,
    load_addr: u64,
    cmdline: String,
    initrd: Option<(u64, Initrd)>,
    ram_end: u64,
}

impl std::fmt::Debug for BzImageLinux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self.hdr.version;
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
        let (boot_flag, magic, version) = (hdr.boot_flag, hdr.header, hdr.version);
        if boot_flag != 0xAA55 || magic != HDRS_MAGIC {
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
        if hdr.loadflags & LOADED_HIGH == 0 {
            return Err(invalid(
                "a zImage (loaded below 1 MiB), not a bzImage; hv boots bzImages".into(),
            ));
        }
        let xloadflags = hdr.xloadflags;
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(invalid(format!(
                "no 64-bit entry point (XLF_KERNEL_64 is clear: xloadflags {xloadflags:#x}, boot protocol {proto}); hv boots 64-bit kernels"
            )));
        }
        let setup_sects = match hdr.setup_sects {
            0 => 4,
            n => u64::from(n),
        };
        let pm_offset = (setup_sects + 1) * 512;
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
        let load_addr = u64::from(hdr.code32_start);
        if load_addr < HIGH_MEMORY_START || load_addr % PAGE != 0 {
            return Err(invalid(format!(
                "code32_start {load_addr:#x} is not a page-aligned address from 1 MiB up, where a bzImage loads"
            )));
        }
        // The kernel decompresses in place and needs init_size bytes from its load address.
        let init_size = if version >= 0x020A {
            u64::from(hdr.init_size)
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

        let cmdline_size = u64::from(hdr.cmdline_size);
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
                let addr_max = u64::from(hdr.initrd_addr_max);
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

    fn boot_params(&self, hdr: setup_header, mem: &GuestMemory) -> boot_params {
        let ram = ram_end(mem);
        let mut p = boot_params {
            hdr,
            ..Default::default()
        };
        p.hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
        p.hdr.vid_mode = 0xFFFF; // "normal"
        p.hdr.cmd_line_ptr = CMDLINE_AT as u32;
        p.hdr.cmdline_size = self.cmdline.len() as u32 + 1;
        // The header comes from the image file: without an initrd its ramdisk fields must
        // be cleared, or the kernel trusts whatever the file held there.
        (p.hdr.ramdisk_image, p.hdr.ramdisk_size) = match &self.initrd {
            Some((at, i)) => (*at as u32, i.bytes.len() as u32),
            None => (0, 0),
        };
        let ext_kib = (ram.min(1 << 32).saturating_sub(HIGH_MEMORY_START)) / 1024;
        p.alt_mem_k = ext_kib as u32;
        // screen_info as the real-mode setup fills it for an 80x25 colour VGA text mode.
        let si = &mut p.screen_info;
        si.orig_x = 0;
        si.orig_y = 0;
        si.ext_mem_k = ext_kib.min(0xFFFF) as u16;
        si.orig_video_page = 0;
        si.orig_video_mode = 3;
        si.orig_video_cols = 80;
        si.flags = 0;
        si.orig_video_ega_bx = 3;
        si.orig_video_lines = 25;
        si.orig_video_isVGA = 1;
        si.orig_video_points = 16;
        let map = e820_map(mem);
        for (slot, e) in p.e820_table.iter_mut().zip(&map) {
            *slot = boot_e820_entry {
                addr: e.base,
                size: e.len,
                r#type: e.kind,
            };
        }
        p.e820_entries = map.len().min(p.e820_table.len()) as u8;
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
        let loaded = BzImage::load(
            mem.mmap(),
            Some(GuestAddress(self.load_addr)),
            &mut Cursor::new(&self.bytes[..]),
            Some(GuestAddress(HIGH_MEMORY_START)),
        )
        .map_err(|e| invalid(format!("loading the kernel: {e}")))?;
        let hdr = loaded.setup_header.unwrap_or(self.hdr);
        let params = self.boot_params(hdr, mem);
        let write = |at: u64, b: &[u8]| {
            mem.write(at, b)
                .map_err(|e| invalid(format!("writing guest memory at {at:#x}: {e}")))
        };
        write(CMDLINE_AT, self.cmdline.as_bytes())?;
        write(CMDLINE_AT + self.cmdline.len() as u64, &[0])?;
        if let Some((at, i)) = &self.initrd {
            write(*at, &i.bytes)?;
        }
        LinuxBootConfigurator::write_bootparams::<vm_memory::GuestMemoryMmap>(
            &BootParams::new::<boot_params>(&params, GuestAddress(ZERO_PAGE_AT)),
            mem.mmap(),
        )
        .map_err(|e| invalid(format!("writing boot_params: {e}")))?;
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
