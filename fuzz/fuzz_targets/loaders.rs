//! Every image loader and the format detector on the same arbitrary bytes: `detect`,
//! the multiboot loader (ELF and a.out kludge, with an arbitrary `--append` and modules),
//! the bzImage loader (arbitrary command line and initrd) and disk boot
//! (`DiskBoot` from a floppy or hard disk made of the bytes), into 4-16 MiB guests.
//!
//! Invariants:
//! - nothing panics; every error is one line;
//! - `detect` agrees with the loaders: a hard disk or floppy it names boots; a bzImage it
//!   names is not refused as "not a Linux bzImage"; an image a loader accepts is one
//!   `detect` recognises (the format it picks may be an earlier rule's);
//! - a load never writes the IVT/BDA (0-0x4FF), the EBDA, VGA memory or the ROM area
//!   (0x9FC00-0xFFFFF); a disk boot writes exactly the sector at 0x7C00; a bzImage writes
//!   only the GDT (0x500), boot_params (0x7000), the page tables (0x9000-0xEFFF), the
//!   command line (0x20000), the kernel at code32_start and the initrd;
//! - entry state: disk boot 0000:7C00, DL = drive, AX = AA55h, IF; multiboot in flat
//!   protected mode without paging, EAX = 0x2BADB002, EBX = the info block in RAM, its
//!   GDT just below, mmap/modules/command line/loader name inside RAM, modules
//!   page-aligned above 1 MiB with the given bytes and strings, not overlapping each
//!   other or the info block; bzImage in long mode at code32_start + 0x200 with
//!   RSI = boot_params, whose command line, initrd and E820 fields match;
//! - loading again (a reset: memory back to its power-on state) gives identical memory
//!   and entry state.
#![no_main]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use hv_core::arch::x86::EntryState;
use hv_core::arch::x86::regs::{CR0_PE, CR0_PG, EFER_LMA, RFLAGS_IF};
use hv_core::loader::boot_sector::DiskBoot;
use hv_core::loader::disk::{Disk, Drives, FLOPPY_FORMATS, SECTOR};
use hv_core::loader::e820::{E820_RAM, e820_map, ram_end};
use hv_core::loader::multiboot::{BOOTLOADER_MAGIC, Module, MultibootImage, MultibootOptions};
use hv_core::loader::{BootImage, ImageKind, LoadError, detect};
use hv_core::machine::layout::{EBDA_START, HIGH_MEMORY_START, pc_memory};
use hv_core::memory::GuestMemory;
use hv_fuzz::{Ranges, RawBytes, changed, snapshot};
use libfuzzer_sys::fuzz_target;

/// Bytes the firmware owns before a loader runs; filled with this so zero writes show.
const PROTECTED_FILL: u8 = 0xA5;
const PROTECTED: [(u64, u64); 2] = [(0, 0x500), (EBDA_START, HIGH_MEMORY_START)];

/// Lengths up front and the bytes after them (command line, initrd and modules are cut
/// from the end), so seeds are a small header followed by a real image.
#[derive(Debug, Arbitrary)]
struct Raw {
    mem_mib: u8,
    /// Pad the image with zeros to a standard floppy size.
    floppy_pad: Option<u8>,
    cmdline_len: u8,
    /// 0-4 modules (more with bit 7: 64-70, to reach the module limit) of `module_len`.
    modules: u8,
    module_len: u16,
    initrd_len: Option<u16>,
    data: RawBytes,
}

#[derive(Debug)]
struct Input {
    mem_mib: u8,
    floppy_pad: Option<u8>,
    cmdline: String,
    modules: Vec<(String, Vec<u8>)>,
    initrd: Option<Vec<u8>>,
    image: Vec<u8>,
}

fn cut(data: &mut Vec<u8>, n: usize) -> Vec<u8> {
    data.split_off(data.len() - n.min(data.len()))
}

impl From<Raw> for Input {
    fn from(r: Raw) -> Self {
        let mut data = r.data.0;
        let cmdline = String::from_utf8_lossy(&cut(&mut data, r.cmdline_len.into())).into_owned();
        let initrd = r.initrd_len.map(|n| cut(&mut data, n.into()));
        let count = if r.modules & 0x80 != 0 {
            64 + usize::from(r.modules % 7)
        } else {
            usize::from(r.modules % 5)
        };
        let modules = (0..count)
            .map(|i| (format!("mod{i} arg"), cut(&mut data, r.module_len.into())))
            .collect();
        Self {
            mem_mib: r.mem_mib,
            floppy_pad: r.floppy_pad,
            cmdline,
            modules,
            initrd,
            image: data,
        }
    }
}

/// Guest memory of `mib` MiB in its power-on state (protected areas filled, the rest
/// zero), and that state.
fn memory(mib: u64) -> (GuestMemory, &'static [u8]) {
    type Mems = HashMap<u64, (GuestMemory, &'static [u8])>;
    static MEMS: OnceLock<Mutex<Mems>> = OnceLock::new();
    let mut m = MEMS.get_or_init(Default::default).lock().unwrap();
    m.entry(mib)
        .or_insert_with(|| {
            let mem = pc_memory(mib).unwrap();
            for (a, b) in PROTECTED {
                mem.write(a, &vec![PROTECTED_FILL; (b - a) as usize])
                    .unwrap();
            }
            let base: &'static [u8] = Box::leak(snapshot(&mem).into_boxed_slice());
            (mem, base)
        })
        .clone()
}

/// Puts `mem` (now `now`) back to `base`, 4 KiB at a time.
fn restore(mem: &GuestMemory, base: &[u8], now: &[u8]) {
    for (i, (b, n)) in base.chunks(4096).zip(now.chunks(4096)).enumerate() {
        if b != n {
            mem.write((i * 4096) as u64, b).unwrap();
        }
    }
}

fn one_line(e: &LoadError) {
    let s = e.to_string();
    assert!(!s.contains('\n') && !s.is_empty(), "error {s:?}");
}

fn u32_at(m: &[u8], at: u64) -> u32 {
    let a = at as usize;
    u32::from_le_bytes(m[a..a + 4].try_into().unwrap())
}

fn u64_at(m: &[u8], at: u64) -> u64 {
    let a = at as usize;
    u64::from_le_bytes(m[a..a + 8].try_into().unwrap())
}

fn c_string(m: &[u8], at: u64) -> &[u8] {
    let tail = &m[at as usize..];
    let n = tail.iter().position(|&b| b == 0).expect("NUL-terminated");
    &tail[..n]
}

/// A range the kernel may own: inside RAM, clear of the protected areas.
fn in_ram(start: u64, len: u64, ram: u64) -> bool {
    let end = start + len;
    end <= ram
        && !PROTECTED
            .iter()
            .chain(&[(0xA_0000, HIGH_MEMORY_START)])
            .any(|&(a, b)| start < b && end > a)
}

/// Loads `img` twice from the power-on state; checks protected areas and that both loads
/// agree; returns memory after the load and the entry state.
fn load_twice(
    img: &dyn BootImage,
    mem: &GuestMemory,
    base: &[u8],
    drives: &Drives,
) -> Option<(Vec<u8>, EntryState)> {
    let first = match img.load(mem, drives) {
        Ok(l) => l.entry,
        Err(e) => {
            one_line(&e);
            let now = snapshot(mem);
            restore(mem, base, &now);
            return None;
        }
    };
    let after = snapshot(mem);
    for (a, b) in PROTECTED {
        assert!(
            after[a as usize..b as usize]
                .iter()
                .all(|&x| x == PROTECTED_FILL),
            "a load wrote {a:#x}-{b:#x}: {img:?}"
        );
    }
    restore(mem, base, &after);
    let second = img.load(mem, drives).expect("the second load").entry;
    let again = snapshot(mem);
    restore(mem, base, &again);
    assert_eq!(first, second, "entry state differs on reload");
    assert!(after == again, "memory differs on reload");
    Some((after, first))
}

fn check_disk_boot(bytes: &[u8], kind: ImageKind, mem: &GuestMemory, base: &[u8], must_boot: bool) {
    let mut drives = Drives::default();
    let disk = match kind {
        ImageKind::Floppy => Disk::floppy_from_bytes(bytes.to_vec(), "fd"),
        _ => Disk::from_bytes(bytes.to_vec(), "hd", true),
    };
    let disk = match disk {
        Ok(d) => d,
        Err(e) => {
            assert!(!must_boot, "detected {kind:?} but not a disk: {e}");
            return;
        }
    };
    let drive = drives.attach(disk);
    let boot = match DiskBoot::new(&drives, drive) {
        Ok(b) => b,
        Err(e) => {
            one_line(&e);
            assert!(!must_boot, "detected {kind:?} but not bootable: {e}");
            return;
        }
    };
    let Some((after, entry)) = load_twice(&boot, mem, base, &drives) else {
        panic!("a checked boot sector failed to load");
    };
    let mut sector = [0u8; SECTOR];
    drives
        .get(drive)
        .unwrap()
        .read_sector(0, &mut sector)
        .unwrap();
    let mut ok = Ranges::default();
    ok.add(0x7C00, SECTOR as u64);
    for a in changed(base, &after) {
        assert!(ok.contains(a), "disk boot wrote {a:#x}");
    }
    assert!(after[0x7C00..0x7E00] == sector[..]);
    let (r, s) = (entry.regs, entry.sregs);
    assert_eq!((s.cs.selector, s.cs.base, r.rip), (0, 0, 0x7C00));
    assert_eq!((r.rdx, r.rax), (u64::from(drive), 0xAA55));
    assert_ne!(r.rflags & RFLAGS_IF, 0);
    assert_eq!(s.cr0 & CR0_PE, 0);
}

fn check_multiboot(img: &MultibootImage, opts: &MultibootOptions, mem: &GuestMemory, base: &[u8]) {
    let ram = ram_end(mem);
    let Some((m, entry)) = load_twice(img, mem, base, &Drives::default()) else {
        return;
    };
    let (r, s) = (entry.regs, entry.sregs);
    assert_eq!(r.rax, u64::from(BOOTLOADER_MAGIC));
    assert_eq!(r.rbx, img.info_addr());
    assert_eq!(r.rip, u64::from(img.entry()));
    assert_ne!(s.cr0 & CR0_PE, 0);
    assert_eq!(s.cr0 & CR0_PG, 0);
    let info = r.rbx;
    assert!(in_ram(info, 116, ram), "info block at {info:#x}");
    assert_eq!(s.gdt.base, info - 0x40, "GDT at the start of the block");
    assert!(
        r.rsp > info && r.rsp <= ram.min(1 << 32),
        "stack {:#x}",
        r.rsp
    );
    let flags = u32_at(&m, info);
    assert_eq!(flags & 0x24D, 0x24D, "info flags {flags:#x}");
    let (mmap_len, mmap_addr) = (
        u64::from(u32_at(&m, info + 44)),
        u64::from(u32_at(&m, info + 48)),
    );
    assert!(
        in_ram(mmap_addr, mmap_len, ram),
        "mmap {mmap_addr:#x}+{mmap_len:#x}"
    );
    assert_eq!(mmap_len, 24 * e820_map(mem).len() as u64);
    let mut last_end = 0;
    for e in (0..mmap_len / 24).map(|i| mmap_addr + 24 * i) {
        assert_eq!(u32_at(&m, e), 20);
        let (b, l, kind) = (u64_at(&m, e + 4), u64_at(&m, e + 12), u32_at(&m, e + 20));
        assert!(b >= last_end && l > 0, "mmap out of order");
        last_end = b + l;
        if kind == E820_RAM {
            assert!(last_end <= ram);
        }
    }
    let cmdline = u64::from(u32_at(&m, info + 16));
    assert!(cmdline < ram);
    assert_eq!(
        c_string(&m, cmdline),
        opts.cmdline.as_bytes(),
        "command line"
    );
    assert_eq!(c_string(&m, u64::from(u32_at(&m, info + 64))), b"hv");
    let count = u32_at(&m, info + 20) as usize;
    assert_eq!(count, opts.modules.len());
    let mods = u64::from(u32_at(&m, info + 24));
    assert!(in_ram(mods, 16 * count as u64, ram));
    let mut taken: Vec<(u64, u64)> = vec![(info - 0x40, r.rsp)];
    for (i, module) in opts.modules.iter().enumerate() {
        let e = mods + 16 * i as u64;
        let (start, end) = (u64::from(u32_at(&m, e)), u64::from(u32_at(&m, e + 4)));
        assert!(start % 4096 == 0 && start >= HIGH_MEMORY_START && end <= ram);
        assert_eq!(end - start, module.bytes.len() as u64);
        assert!(
            m[start as usize..end as usize] == module.bytes[..],
            "module {i} bytes"
        );
        assert_eq!(
            c_string(&m, u64::from(u32_at(&m, e + 8))),
            module.string.as_bytes()
        );
        for &(a, b) in &taken {
            assert!(
                end <= a || start >= b || start == end,
                "module {i} overlaps {a:#x}-{b:#x}"
            );
        }
        taken.push((start, end));
    }
}

fn check_bzimage(
    input: &Input,
    bytes: &[u8],
    mem: &GuestMemory,
    base: &[u8],
    detected: &Result<ImageKind, LoadError>,
) {
    use hv_core::loader::bzimage::{
        BzImageLinux, CMDLINE_AT, GDT_AT, Initrd, PAGE_TABLES_AT, ZERO_PAGE_AT,
    };
    let ram = ram_end(mem);
    let initrd = input.initrd.clone().map(|bytes| Initrd { bytes });
    let img = match BzImageLinux::new(bytes.to_vec(), input.cmdline.clone(), initrd, ram) {
        Ok(i) => i,
        Err(e) => {
            one_line(&e);
            if matches!(detected, Ok(ImageKind::BzImage)) {
                assert!(!e.to_string().starts_with("not a Linux bzImage"), "{e}");
            }
            return;
        }
    };
    assert!(detected.is_ok(), "a bzImage detect refuses");
    let Some((m, entry)) = load_twice(&img, mem, base, &Drives::default()) else {
        return;
    };
    let setup_sects = match bytes[0x1F1] {
        0 => 4,
        n => usize::from(n),
    };
    let pm = (setup_sects + 1) * 512;
    let load = img.load_addr();
    let kernel = &bytes[pm..];
    let mut ok = Ranges::default();
    ok.add(GDT_AT, 48);
    ok.add(ZERO_PAGE_AT, 4096);
    ok.add(PAGE_TABLES_AT, 6 * 4096);
    ok.add(CMDLINE_AT, input.cmdline.len() as u64 + 1);
    ok.add(load, kernel.len() as u64);
    if let (Some(at), Some(i)) = (img.initrd_addr(), &input.initrd) {
        assert!(at % 4096 == 0 && at >= load + kernel.len() as u64 && at + i.len() as u64 <= ram);
        assert!(
            m[at as usize..at as usize + i.len()] == i[..],
            "initrd bytes"
        );
        ok.add(at, i.len() as u64);
    }
    for a in changed(base, &m) {
        assert!(ok.contains(a), "bzImage load wrote {a:#x}");
    }
    assert!(
        m[load as usize..load as usize + kernel.len()] == *kernel,
        "kernel bytes"
    );
    let (r, s) = (entry.regs, entry.sregs);
    assert_eq!((r.rsi, r.rip), (ZERO_PAGE_AT, load + 0x200));
    assert!(s.efer & EFER_LMA != 0 && s.cr0 & CR0_PG != 0, "long mode");
    let zp = ZERO_PAGE_AT;
    assert_eq!(u64::from(u32_at(&m, zp + 0x228)), CMDLINE_AT);
    assert_eq!(c_string(&m, CMDLINE_AT), input.cmdline.as_bytes());
    let (rd, rd_len) = (u32_at(&m, zp + 0x218), u32_at(&m, zp + 0x21C));
    match (img.initrd_addr(), &input.initrd) {
        (Some(at), Some(i)) => assert_eq!((u64::from(rd), rd_len as usize), (at, i.len())),
        _ => assert_eq!((rd, rd_len), (0, 0)),
    }
    let n = u64::from(m[(zp + 0x1E8) as usize]);
    for e in (0..n).map(|i| zp + 0x2D0 + 20 * i) {
        let (b, l, kind) = (u64_at(&m, e), u64_at(&m, e + 8), u32_at(&m, e + 16));
        if kind == E820_RAM {
            assert!(b + l <= ram, "E820 RAM past the end");
        }
    }
}

fuzz_target!(|raw: Raw| {
    let input = Input::from(raw);
    let mib = 4 + u64::from(input.mem_mib % 13);
    let (mem, base) = memory(mib);
    let ram = ram_end(&mem);
    let mut bytes = input.image.clone();
    if let Some(i) = input.floppy_pad {
        let len = FLOPPY_FORMATS[usize::from(i) % FLOPPY_FORMATS.len()].0 as usize;
        if bytes.len() < len {
            bytes.resize(len, 0);
        }
    }
    let detected = detect(
        &bytes[..bytes.len().min(hv_core::loader::DETECT_BYTES)],
        bytes.len() as u64,
    );
    if let Err(e) = &detected {
        one_line(e);
    }

    // Disks: what detect calls a disk boots; anything else may or may not.
    match detected {
        Ok(k @ (ImageKind::Floppy | ImageKind::HardDisk)) => {
            check_disk_boot(&bytes, k, &mem, base, true)
        }
        _ if !bytes.is_empty() => check_disk_boot(&bytes, ImageKind::HardDisk, &mem, base, false),
        _ => {}
    }

    let opts = MultibootOptions {
        cmdline: input.cmdline.clone(),
        modules: input
            .modules
            .iter()
            .take(70)
            .map(|(s, b)| Module {
                string: s.clone(),
                bytes: b.clone(),
            })
            .collect(),
    };
    match MultibootImage::new(bytes.clone(), opts.clone(), ram) {
        Ok(img) => {
            assert!(detected.is_ok(), "a multiboot kernel detect refuses");
            check_multiboot(&img, &opts, &mem, base);
        }
        Err(e) => one_line(&e),
    }

    check_bzimage(&input, &bytes, &mem, base, &detected);
});
