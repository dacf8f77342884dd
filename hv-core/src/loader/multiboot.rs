//! Multiboot (version 1) kernels: the osdev "Bare Bones" kind.
//!
//! The header is searched in the first 8 KiB at 32-bit alignment (magic 0x1BADB002,
//! `magic + flags + checksum == 0`). The kernel is an ELF32 executable whose `PT_LOAD`
//! segments are loaded at their physical addresses, or, when header flag bit 16 is set,
//! any file described by the header's address fields (the "a.out kludge"). Modules given
//! with `--module` follow the kernel, page-aligned. The kernel is entered in flat 32-bit
//! protected mode (paging and interrupts off) with EAX = 0x2BADB002 and EBX = the
//! multiboot information structure, which lives in a block of its own that overlaps
//! neither the kernel nor the modules.
//!
//! Every field read from the file is bounds-checked; segments may not touch the
//! interrupt vector table and BIOS data area, the EBDA, VGA memory or the ROM area, or
//! lie beyond RAM.

use super::e820::{E820Entry, e820_map, ram_end};
use super::{BootImage, LoadError, Loaded, disk::Drives};
use crate::arch::x86::entry::GDT_SIZE;
use crate::arch::x86::protected_mode;
use crate::machine::layout::{EBDA_START, HIGH_MEMORY_START};
use crate::memory::GuestMemory;

/// The header magic.
pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
/// What the kernel finds in EAX.
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// The Multiboot2 header magic (detected, not supported).
pub const MULTIBOOT2_MAGIC: u32 = 0xE852_50D6;
/// How far into the file the header may start.
pub const SEARCH_BYTES: usize = 8192;
/// How far into the file a Multiboot2 header may start.
pub const MULTIBOOT2_SEARCH_BYTES: usize = 32768;

/// Header flag: align modules on 4 KiB (always done).
const FLAG_PAGE_ALIGN: u32 = 1 << 0;
/// Header flag: the kernel wants memory information (always given).
const FLAG_MEMORY_INFO: u32 = 1 << 1;
/// Header flag: the kernel would like a video mode (hv leaves the VGA in text mode 3,
/// which the specification allows).
const FLAG_VIDEO_MODE: u32 = 1 << 2;
/// Header flag: the address fields are valid (the a.out kludge).
const FLAG_AOUT_KLUDGE: u32 = 1 << 16;
/// Header flags a loader must understand or refuse the kernel.
const REQUIRED_MASK: u32 = 0xFFFF;
const UNDERSTOOD: u32 = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

/// Info flags.
const INFO_MEMORY: u32 = 1 << 0;
const INFO_BOOT_DEVICE: u32 = 1 << 1;
const INFO_CMDLINE: u32 = 1 << 2;
const INFO_MODS: u32 = 1 << 3;
const INFO_MMAP: u32 = 1 << 6;
const INFO_LOADER_NAME: u32 = 1 << 9;

/// Size of `struct multiboot_info` (up to and including the framebuffer fields).
pub const INFO_SIZE: u64 = 116;
/// Offsets inside the loader's block.
const BLOCK_GDT: u64 = 0;
const BLOCK_INFO: u64 = 0x40;
const BLOCK_MMAP: u64 = 0x100;
const BLOCK_MODS: u64 = 0x200;
/// Stack given to the kernel at the top of the block (the specification leaves ESP
/// undefined; a valid one costs nothing).
const BLOCK_STACK: u64 = 0x1000;
/// Most modules accepted.
pub const MAX_MODULES: usize = 64;

/// The loader's name in `boot_loader_name`.
pub const LOADER_NAME: &str = "hv";

const PAGE: u64 = 0x1000;

fn align_up(v: u64, a: u64) -> Option<u64> {
    v.checked_add(a - 1).map(|x| x & !(a - 1))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// A multiboot header as found in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// File offset of the magic.
    pub offset: usize,
    /// Header flags.
    pub flags: u32,
    /// Address fields (header_addr, load_addr, load_end_addr, bss_end_addr,
    /// entry_addr), when flag bit 16 is set.
    pub aout: Option<[u32; 5]>,
}

/// What a search for a multiboot header found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderSearch {
    /// A valid header.
    Found(Header),
    /// The magic, but no valid checksum: (offset, flags, checksum) of the first one.
    BadChecksum(usize, u32, u32),
    /// The magic, but the header runs past the end of the file.
    Truncated(usize),
    /// No magic at all.
    None,
}

/// Searches the first 8 KiB of `bytes` for a multiboot header.
pub fn find_header(bytes: &[u8]) -> HeaderSearch {
    let mut first_bad = None;
    let limit = bytes.len().min(SEARCH_BYTES);
    for off in (0..limit).step_by(4) {
        if u32_at(bytes, off) != Some(HEADER_MAGIC) {
            continue;
        }
        let (Some(flags), Some(checksum)) = (u32_at(bytes, off + 4), u32_at(bytes, off + 8)) else {
            return first_bad.unwrap_or(HeaderSearch::Truncated(off));
        };
        if HEADER_MAGIC.wrapping_add(flags).wrapping_add(checksum) != 0 {
            first_bad.get_or_insert(HeaderSearch::BadChecksum(off, flags, checksum));
            continue;
        }
        let aout = if flags & FLAG_AOUT_KLUDGE != 0 {
            let mut f = [0u32; 5];
            for (i, v) in f.iter_mut().enumerate() {
                match u32_at(bytes, off + 12 + 4 * i) {
                    Some(x) => *v = x,
                    None => return HeaderSearch::Truncated(off),
                }
            }
            Some(f)
        } else {
            None
        };
        return HeaderSearch::Found(Header {
            offset: off,
            flags,
            aout,
        });
    }
    first_bad.unwrap_or(HeaderSearch::None)
}

/// The offset of a Multiboot2 header (magic, architecture, length and checksum that
/// sum to zero, 8-byte aligned in the first 32 KiB), if there is one.
pub fn find_multiboot2(bytes: &[u8]) -> Option<usize> {
    let limit = bytes.len().min(MULTIBOOT2_SEARCH_BYTES);
    (0..limit).step_by(8).find(|&off| {
        u32_at(bytes, off) == Some(MULTIBOOT2_MAGIC)
            && matches!(
                (u32_at(bytes, off + 4), u32_at(bytes, off + 8), u32_at(bytes, off + 12)),
                (Some(a), Some(l), Some(c))
                    if MULTIBOOT2_MAGIC.wrapping_add(a).wrapping_add(l).wrapping_add(c) == 0
            )
    })
}

/// A piece of the file to copy into guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Guest-physical address.
    addr: u64,
    /// File offset of the bytes to copy.
    file_off: usize,
    /// Bytes copied from the file.
    file_len: usize,
    /// Bytes occupied in memory (the rest is zeroed).
    mem_len: u64,
}

/// A module (`--module PATH[,ARGS]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its string in the module list (conventionally the path and its arguments).
    pub string: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// What the user adds to the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultibootOptions {
    /// The kernel command line (`--append`).
    pub cmdline: String,
    /// Modules in order.
    pub modules: Vec<Module>,
}

/// A checked multiboot kernel with its modules, ready to load.
#[derive(Debug, Clone)]
pub struct MultibootImage {
    bytes: Vec<u8>,
    segments: Vec<Segment>,
    entry: u32,
    modules: Vec<(u64, Module)>,
    cmdline: String,
    block: u64,
    block_len: u64,
    ram_end: u64,
}

fn invalid(msg: String) -> LoadError {
    LoadError::Invalid(msg)
}

/// Refuses a range that is not plain RAM the kernel may own.
fn check_range(what: &str, start: u64, len: u64, ram_end: u64) -> Result<(), LoadError> {
    let end = start
        .checked_add(len)
        .ok_or_else(|| invalid(format!("{what} at {start:#x} ({len} bytes) wraps around")))?;
    if end > ram_end.min(1 << 32) {
        return Err(invalid(format!(
            "{what} {start:#x}-{end:#x} lies beyond the end of RAM ({} MiB); give more --memory",
            ram_end >> 20
        )));
    }
    const FORBIDDEN: [(u64, u64, &str); 4] = [
        (0, 0x500, "the interrupt vector table and BIOS data area"),
        (EBDA_START, 0xA_0000, "the extended BIOS data area"),
        (0xA_0000, 0xC_0000, "VGA memory"),
        (
            0xC_0000,
            HIGH_MEMORY_START,
            "the option-ROM and BIOS ROM area",
        ),
    ];
    for (lo, hi, name) in FORBIDDEN {
        if start < hi && end > lo {
            return Err(invalid(format!(
                "{what} {start:#x}-{end:#x} overlaps {name} ({lo:#x}-{hi:#x})"
            )));
        }
    }
    Ok(())
}

/// ELF32 program headers -> segments and the physical entry point.
fn elf_segments(bytes: &[u8]) -> Result<(Vec<Segment>, u32), LoadError> {
    const EHDR32: usize = 52;
    const PT_LOAD: u32 = 1;
    if bytes.len() < 16 {
        return Err(invalid("the ELF header is truncated".into()));
    }
    match bytes[4] {
        1 => {}
        2 => {
            return Err(invalid(
                "a 64-bit ELF file, but multiboot kernels are 32-bit ELF (build with -m32 and link with -m elf_i386)".into(),
            ));
        }
        c => return Err(invalid(format!("unknown ELF class {c}"))),
    }
    if bytes[5] != 1 {
        return Err(invalid(
            "a big-endian ELF file; multiboot kernels are little-endian x86".into(),
        ));
    }
    if bytes.len() < EHDR32 {
        return Err(invalid(format!(
            "the ELF header is truncated ({} of {EHDR32} bytes)",
            bytes.len()
        )));
    }
    let field16 = |off| u16_at(bytes, off).unwrap_or(0);
    let field32 = |off| u32_at(bytes, off).unwrap_or(0);
    let (e_type, e_machine) = (field16(16), field16(18));
    if e_machine != 3 {
        return Err(invalid(format!(
            "an ELF file for machine {e_machine}, not for i386 (3)"
        )));
    }
    if e_type != 2 {
        return Err(invalid(format!(
            "not an ELF executable (e_type {e_type}; link it into an executable)"
        )));
    }
    let e_entry = field32(24);
    let phoff = field32(28) as usize;
    let phentsize = usize::from(field16(42));
    let phnum = usize::from(field16(44));
    if phnum == 0 {
        return Err(invalid("the ELF file has no program headers".into()));
    }
    if phentsize < 32 {
        return Err(invalid(format!(
            "ELF program header size {phentsize} is smaller than 32"
        )));
    }
    let table_end = phnum
        .checked_mul(phentsize)
        .and_then(|n| n.checked_add(phoff))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            invalid(format!(
                "the ELF program headers ({phnum} at offset {phoff:#x}) run past the end of the file"
            ))
        })?;
    let _ = table_end;
    let mut segments = Vec::new();
    let mut entry = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let at = |k: usize| u32_at(bytes, ph + k).unwrap_or(0);
        if at(0) != PT_LOAD {
            continue;
        }
        let (offset, vaddr, paddr, filesz, memsz) = (at(4), at(8), at(12), at(16), at(20));
        if memsz == 0 {
            continue;
        }
        if filesz > memsz {
            return Err(invalid(format!(
                "ELF segment {i} has more file bytes ({filesz:#x}) than memory bytes ({memsz:#x})"
            )));
        }
        let file_end = u64::from(offset) + u64::from(filesz);
        if file_end > bytes.len() as u64 {
            return Err(invalid(format!(
                "ELF segment {i} (file offset {offset:#x}, {filesz:#x} bytes) runs past the end of the file ({:#x} bytes); the file is truncated",
                bytes.len()
            )));
        }
        let (vaddr, paddr, memsz64) = (u64::from(vaddr), u64::from(paddr), u64::from(memsz));
        if entry.is_none() && (vaddr..vaddr + memsz64).contains(&u64::from(e_entry)) {
            entry = Some(paddr + (u64::from(e_entry) - vaddr));
        }
        segments.push(Segment {
            addr: paddr,
            file_off: offset as usize,
            file_len: filesz as usize,
            mem_len: memsz64,
        });
    }
    if segments.is_empty() {
        return Err(invalid(
            "the ELF file has no loadable (PT_LOAD) segment".into(),
        ));
    }
    let entry = entry.and_then(|e| u32::try_from(e).ok()).ok_or_else(|| {
        invalid(format!(
            "the ELF entry point {e_entry:#x} is not inside any loadable segment"
        ))
    })?;
    Ok((segments, entry))
}

/// The a.out-kludge address fields -> one segment and the entry point.
fn aout_segment(bytes: &[u8], h: &Header, f: [u32; 5]) -> Result<(Vec<Segment>, u32), LoadError> {
    let [
        header_addr,
        load_addr,
        load_end_addr,
        bss_end_addr,
        entry_addr,
    ] = f.map(u64::from);
    let fields = format!(
        "header_addr {header_addr:#x}, load_addr {load_addr:#x}, load_end_addr {load_end_addr:#x}, bss_end_addr {bss_end_addr:#x}"
    );
    let file_off = header_addr
        .checked_sub(load_addr)
        .and_then(|d| (h.offset as u64).checked_sub(d))
        .ok_or_else(|| {
            invalid(format!(
                "the multiboot address fields are inconsistent: the header at file offset {:#x} cannot be at {header_addr:#x} if loading starts at {load_addr:#x}",
                h.offset
            ))
        })?;
    let available = bytes.len() as u64 - file_off;
    let load_len = if load_end_addr == 0 {
        available
    } else {
        load_end_addr.checked_sub(load_addr).ok_or_else(|| {
            invalid(format!(
                "multiboot load_end_addr is below load_addr ({fields})"
            ))
        })?
    };
    if load_len > available {
        return Err(invalid(format!(
            "the multiboot address fields ask for {load_len:#x} bytes from file offset {file_off:#x}, but the file has only {available:#x}; the file is truncated"
        )));
    }
    let mem_len = if bss_end_addr == 0 {
        load_len
    } else {
        bss_end_addr
            .checked_sub(load_addr)
            .filter(|&m| m >= load_len)
            .ok_or_else(|| {
                invalid(format!(
                    "multiboot bss_end_addr is below load_end_addr ({fields})"
                ))
            })?
    };
    if !(load_addr..load_addr + mem_len.max(1)).contains(&entry_addr) {
        return Err(invalid(format!(
            "the multiboot entry_addr {entry_addr:#x} is outside the loaded image ({fields})"
        )));
    }
    Ok((
        vec![Segment {
            addr: load_addr,
            file_off: file_off as usize,
            file_len: load_len as usize,
            mem_len,
        }],
        entry_addr as u32,
    ))
}

impl MultibootImage {
    /// Checks `bytes` as a multiboot kernel for a machine whose RAM ends at `ram_end`
    /// and lays out the kernel, the modules and the information block.
    pub fn new(bytes: Vec<u8>, opts: MultibootOptions, ram_end: u64) -> Result<Self, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        let header = match find_header(&bytes) {
            HeaderSearch::Found(h) => h,
            HeaderSearch::BadChecksum(off, flags, checksum) => {
                return Err(invalid(format!(
                    "multiboot header checksum is wrong (flags {flags:#x}, checksum {checksum:#x}, expected {:#x}; header at offset {off:#x})",
                    0u32.wrapping_sub(HEADER_MAGIC).wrapping_sub(flags)
                )));
            }
            HeaderSearch::Truncated(off) => {
                return Err(invalid(format!(
                    "the multiboot header at offset {off:#x} runs past the end of the file"
                )));
            }
            HeaderSearch::None => {
                return Err(invalid(match find_multiboot2(&bytes) {
                    Some(off) => format!(
                        "a Multiboot2 kernel (magic 0xE85250D6 at offset {off:#x}); hv boots Multiboot 1 kernels (header magic 0x1BADB002)"
                    ),
                    None => "no multiboot header (magic 0x1BADB002) in the first 8 KiB".into(),
                }));
            }
        };
        // The kernel reads C strings: a NUL would silently cut the command line short.
        if opts.cmdline.contains('\0') {
            return Err(invalid("the command line contains a NUL byte".into()));
        }
        if let Some(m) = opts.modules.iter().find(|m| m.string.contains('\0')) {
            return Err(invalid(format!(
                "the module string {:?} contains a NUL byte",
                m.string
            )));
        }
        let unknown = header.flags & REQUIRED_MASK & !UNDERSTOOD;
        if unknown != 0 {
            return Err(invalid(format!(
                "the multiboot header asks for features hv does not provide (flags {:#x}, unknown required bits {unknown:#x})",
                header.flags
            )));
        }
        let (segments, entry) = match header.aout {
            Some(f) => aout_segment(&bytes, &header, f)?,
            None if bytes.starts_with(b"\x7fELF") => elf_segments(&bytes)?,
            None => {
                return Err(invalid(
                    "not an ELF file, and its multiboot header has no address fields (flag bit 16)"
                        .into(),
                ));
            }
        };
        for (i, s) in segments.iter().enumerate() {
            check_range(&format!("kernel segment {i}"), s.addr, s.mem_len, ram_end)?;
        }
        let kernel_end = segments
            .iter()
            .map(|s| s.addr + s.mem_len)
            .max()
            .unwrap_or(0);

        // Modules: page-aligned after the kernel (and above 1 MiB).
        if opts.modules.len() > MAX_MODULES {
            return Err(invalid(format!(
                "{} modules given; at most {MAX_MODULES}",
                opts.modules.len()
            )));
        }
        let mut next = kernel_end.max(HIGH_MEMORY_START);
        let mut modules = Vec::with_capacity(opts.modules.len());
        for m in opts.modules {
            let at = align_up(next, PAGE).unwrap_or(u64::MAX);
            let len = m.bytes.len() as u64;
            check_range(&format!("module {}", m.string), at, len, ram_end)?;
            next = at + len;
            modules.push((at, m));
        }

        // The information block: GDT, info, mmap, module list, strings, stack.
        let strings: u64 = (LOADER_NAME.len() + 1 + opts.cmdline.len() + 1) as u64
            + modules
                .iter()
                .map(|(_, m)| m.string.len() as u64 + 1)
                .sum::<u64>();
        let block_len = align_up(BLOCK_MODS + 16 * modules.len() as u64 + strings, PAGE)
            .and_then(|l| l.checked_add(BLOCK_STACK))
            .ok_or_else(|| invalid("the command line and module names are too long".into()))?;
        let mut occupied: Vec<(u64, u64)> = segments
            .iter()
            .map(|s| (s.addr, s.addr + s.mem_len))
            .chain(modules.iter().map(|(a, m)| (*a, a + m.bytes.len() as u64)))
            .collect();
        occupied.sort_unstable();
        let block = place_block(&occupied, block_len, next, ram_end).ok_or_else(|| {
            invalid(format!(
                "no room for the multiboot information ({block_len} bytes) besides the kernel and modules; give more --memory"
            ))
        })?;
        Ok(Self {
            bytes,
            segments,
            entry,
            modules,
            cmdline: opts.cmdline,
            block,
            block_len,
            ram_end,
        })
    }

    /// The physical entry point.
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// Where the multiboot information structure goes.
    pub fn info_addr(&self) -> u64 {
        self.block + BLOCK_INFO
    }

    /// Where each module goes.
    pub fn module_addrs(&self) -> impl Iterator<Item = u64> + '_ {
        self.modules.iter().map(|(a, _)| *a)
    }
}

/// First fit for `len` bytes in conventional memory (from 0x1000 to the EBDA), else at
/// `after` (past the kernel and modules) below `ram_end`.
fn place_block(occupied: &[(u64, u64)], len: u64, after: u64, ram_end: u64) -> Option<u64> {
    let mut at = PAGE;
    while at + len <= EBDA_START {
        match occupied.iter().find(|&&(lo, hi)| at < hi && at + len > lo) {
            Some(&(_, hi)) => at = align_up(hi, PAGE)?,
            None => return Some(at),
        }
    }
    let at = align_up(after.max(HIGH_MEMORY_START), PAGE)?;
    (at.checked_add(len)? <= ram_end.min(1 << 32)).then_some(at)
}

struct Writer<'a> {
    mem: &'a GuestMemory,
}

impl Writer<'_> {
    fn put(&self, addr: u64, bytes: &[u8]) -> Result<(), LoadError> {
        self.mem
            .write(addr, bytes)
            .map_err(|e| invalid(format!("writing guest memory at {addr:#x}: {e}")))
    }
    fn u32(&self, addr: u64, v: u32) -> Result<(), LoadError> {
        self.put(addr, &v.to_le_bytes())
    }
}

impl BootImage for MultibootImage {
    fn load(&self, mem: &GuestMemory, drives: &Drives) -> Result<Loaded, LoadError> {
        let ram = ram_end(mem);
        if ram < self.ram_end {
            return Err(invalid(format!(
                "the kernel was checked for {} MiB of RAM but the machine has {} MiB",
                self.ram_end >> 20,
                ram >> 20
            )));
        }
        let w = Writer { mem };
        for s in &self.segments {
            let data = self
                .bytes
                .get(s.file_off..s.file_off + s.file_len)
                .ok_or_else(|| invalid("segment outside the file".into()))?;
            w.put(s.addr, data)?;
            // Memory is zeroed before every load, so the BSS part is already zero; clear
            // it anyway in case a segment overlaps an earlier one's file bytes.
            let bss = s.mem_len - s.file_len as u64;
            if bss > 0 {
                zero(mem, s.addr + s.file_len as u64, bss)?;
            }
        }
        for (at, m) in &self.modules {
            w.put(*at, &m.bytes)?;
        }

        let b = self.block;
        zero(mem, b, self.block_len)?;
        // Strings after the module list.
        let mut s = b + BLOCK_MODS + 16 * self.modules.len() as u64;
        let mut string = |text: &str| -> Result<u32, LoadError> {
            let at = s;
            w.put(at, text.as_bytes())?;
            w.put(at + text.len() as u64, &[0])?;
            s += text.len() as u64 + 1;
            Ok(at as u32)
        };
        let loader_name = string(LOADER_NAME)?;
        let cmdline = string(&self.cmdline)?;
        for (i, (at, m)) in self.modules.iter().enumerate() {
            let entry = b + BLOCK_MODS + 16 * i as u64;
            let name = string(&m.string)?;
            w.u32(entry, *at as u32)?;
            w.u32(entry + 4, (*at + m.bytes.len() as u64) as u32)?;
            w.u32(entry + 8, name)?;
        }
        let map: Vec<E820Entry> = e820_map(mem);
        for (i, e) in map.iter().enumerate() {
            let at = b + BLOCK_MMAP + 24 * i as u64;
            w.u32(at, 20)?;
            w.put(at + 4, &e.base.to_le_bytes())?;
            w.put(at + 12, &e.len.to_le_bytes())?;
            w.u32(at + 20, e.kind)?;
        }

        let info = b + BLOCK_INFO;
        let mut flags = INFO_MEMORY | INFO_CMDLINE | INFO_MODS | INFO_MMAP | INFO_LOADER_NAME;
        let boot_drive = if drives.hard_disk.is_some() {
            Some(0x80u32)
        } else if drives.floppy.is_some() {
            Some(0x00)
        } else {
            None
        };
        if let Some(d) = boot_drive {
            flags |= INFO_BOOT_DEVICE;
            w.u32(info + 12, (d << 24) | 0x00FF_FFFF)?;
        }
        w.u32(info, flags)?;
        w.u32(info + 4, (EBDA_START / 1024) as u32)?;
        w.u32(
            info + 8,
            ((ram.min(1 << 32) - HIGH_MEMORY_START) / 1024) as u32,
        )?;
        w.u32(info + 16, cmdline)?;
        w.u32(info + 20, self.modules.len() as u32)?;
        w.u32(info + 24, (b + BLOCK_MODS) as u32)?;
        w.u32(info + 44, 24 * map.len() as u32)?;
        w.u32(info + 48, (b + BLOCK_MMAP) as u32)?;
        w.u32(info + 64, loader_name)?;

        let mut entry = protected_mode(mem, b + BLOCK_GDT, self.entry, (b + self.block_len) as u32)
            .map_err(|e| invalid(e.to_string()))?;
        entry.regs.rax = u64::from(BOOTLOADER_MAGIC);
        entry.regs.rbx = info;
        Ok(Loaded { entry })
    }
}

const _: () = assert!(BLOCK_GDT + GDT_SIZE <= BLOCK_INFO && BLOCK_INFO + INFO_SIZE <= BLOCK_MMAP);

fn zero(mem: &GuestMemory, mut at: u64, mut len: u64) -> Result<(), LoadError> {
    let zeros = [0u8; 4096];
    while len > 0 {
        let n = len.min(zeros.len() as u64);
        mem.write(at, &zeros[..n as usize])
            .map_err(|e| invalid(format!("clearing guest memory at {at:#x}: {e}")))?;
        at += n;
        len -= n;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
