use super::*;
use crate::arch::x86::regs::{CR0_PE, CR0_PG, RFLAGS_IF};
use crate::loader::disk::Disk;
use crate::machine::layout::pc_memory;

const MIB: u64 = 1 << 20;

fn header(flags: u32, aout: Option<[u32; 5]>) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&HEADER_MAGIC.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(
        &0u32
            .wrapping_sub(HEADER_MAGIC)
            .wrapping_sub(flags)
            .to_le_bytes(),
    );
    if let Some(f) = aout {
        for v in f {
            h.extend_from_slice(&v.to_le_bytes());
        }
    }
    h
}

struct Ph {
    ty: u32,
    offset: u32,
    vaddr: u32,
    paddr: u32,
    filesz: u32,
    memsz: u32,
}

/// An ELF32 i386 executable: header, program headers at 52, then `body` at 0x100
/// (which holds the multiboot header at its start).
fn elf(entry: u32, phs: &[Ph], body: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 0x100];
    v[..4].copy_from_slice(b"\x7fELF");
    v[4] = 1;
    v[5] = 1;
    v[6] = 1;
    v[16..18].copy_from_slice(&2u16.to_le_bytes());
    v[18..20].copy_from_slice(&3u16.to_le_bytes());
    v[20..24].copy_from_slice(&1u32.to_le_bytes());
    v[24..28].copy_from_slice(&entry.to_le_bytes());
    v[28..32].copy_from_slice(&52u32.to_le_bytes());
    v[40..42].copy_from_slice(&52u16.to_le_bytes());
    v[42..44].copy_from_slice(&32u16.to_le_bytes());
    v[44..46].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, p) in phs.iter().enumerate() {
        let o = 52 + 32 * i;
        for (k, f) in [
            p.ty, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, 7, 0x1000,
        ]
        .into_iter()
        .enumerate()
        {
            v[o + 4 * k..o + 4 * k + 4].copy_from_slice(&f.to_le_bytes());
        }
    }
    v.extend_from_slice(body);
    v
}

/// The "Bare Bones" shape: one segment with the header at 1 MiB, 0x100 bytes of code
/// and 0x1000 bytes of BSS.
fn bare_bones() -> Vec<u8> {
    let mut body = header(3, None);
    body.resize(0x100, 0x90);
    elf(
        0x10_0010,
        &[Ph {
            ty: 1,
            offset: 0x100,
            vaddr: 0x10_0000,
            paddr: 0x10_0000,
            filesz: 0x100,
            memsz: 0x1100,
        }],
        &body,
    )
}

fn err(bytes: Vec<u8>) -> String {
    MultibootImage::new(bytes, MultibootOptions::default(), 64 * MIB)
        .expect_err("must be refused")
        .to_string()
}

fn read_str(mem: &GuestMemory, mut at: u64) -> String {
    let mut s = Vec::new();
    loop {
        let b = mem.read_u8(at).expect("string in memory");
        if b == 0 {
            break;
        }
        s.push(b);
        at += 1;
    }
    String::from_utf8(s).expect("utf-8")
}

#[test]
fn bare_bones_kernel_loads_with_full_info() {
    let mem = pc_memory(64).expect("mem");
    let opts = MultibootOptions {
        cmdline: "console=vga debug".into(),
        modules: vec![
            Module {
                string: "initrd.tar root=1".into(),
                bytes: vec![0xAB; 5000],
            },
            Module {
                string: "empty".into(),
                bytes: vec![],
            },
        ],
    };
    let img = MultibootImage::new(bare_bones(), opts, 64 * MIB).expect("valid");
    let mut drives = Drives::default();
    drives.attach(Disk::from_bytes(vec![0; 1024], "hd", true).expect("disk"));
    let l = img.load(&mem, &drives).expect("loads");
    let r = &l.entry.regs;
    assert_eq!(r.rax, u64::from(BOOTLOADER_MAGIC));
    assert_eq!(r.rip, 0x10_0010);
    assert_eq!(r.rflags & RFLAGS_IF, 0);
    assert_eq!(l.entry.sregs.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert!(l.entry.sregs.cs.db && l.entry.sregs.cs.limit == 0xFFFF_FFFF);
    // Kernel bytes and zeroed BSS.
    assert_eq!(mem.read_u32(0x10_0000).expect("read"), HEADER_MAGIC);
    assert_eq!(mem.read_u8(0x10_00FF).expect("read"), 0x90);
    assert_eq!(mem.read_u8(0x10_0100).expect("read"), 0);

    let info = r.rbx;
    assert!(info < 0x9_FC00, "info in conventional memory: {info:#x}");
    let flags = mem.read_u32(info).expect("flags");
    assert_eq!(
        flags, 0b10_0100_1111,
        "mem, boot device, cmdline, mods, mmap, name"
    );
    assert_eq!(mem.read_u32(info + 4).expect("mem_lower"), 639);
    assert_eq!(mem.read_u32(info + 8).expect("mem_upper"), 63 * 1024);
    assert_eq!(mem.read_u32(info + 12).expect("boot_device"), 0x80FF_FFFF);
    let cmdline = mem.read_u32(info + 16).expect("cmdline");
    assert_eq!(read_str(&mem, u64::from(cmdline)), "console=vga debug");
    let name = mem.read_u32(info + 64).expect("name");
    assert_eq!(read_str(&mem, u64::from(name)), "hv");

    // Modules: page-aligned after the kernel (which ends at 0x101100).
    assert_eq!(mem.read_u32(info + 20).expect("count"), 2);
    let mods = u64::from(mem.read_u32(info + 24).expect("mods_addr"));
    let m0 = mem.read_u32(mods).expect("mod_start");
    assert_eq!(m0, 0x10_2000);
    assert_eq!(mem.read_u32(mods + 4).expect("mod_end"), 0x10_2000 + 5000);
    assert_eq!(mem.read_u8(u64::from(m0) + 4999).expect("module"), 0xAB);
    let s0 = mem.read_u32(mods + 8).expect("string");
    assert_eq!(read_str(&mem, u64::from(s0)), "initrd.tar root=1");
    let m1 = mem.read_u32(mods + 16).expect("mod 1");
    assert_eq!(m1, 0x10_4000);
    assert_eq!(mem.read_u32(mods + 20).expect("mod 1 end"), m1);
    assert_eq!(
        img.module_addrs().collect::<Vec<_>>(),
        vec![0x10_2000, 0x10_4000]
    );

    // The memory map.
    let len = mem.read_u32(info + 44).expect("mmap_length");
    let addr = u64::from(mem.read_u32(info + 48).expect("mmap_addr"));
    assert_eq!(len, 4 * 24);
    let mut entries = Vec::new();
    let mut at = addr;
    while at < addr + u64::from(len) {
        let size = mem.read_u32(at).expect("size");
        entries.push((
            mem.read_u64(at + 4).expect("base"),
            mem.read_u64(at + 12).expect("len"),
            mem.read_u32(at + 20).expect("type"),
        ));
        at += u64::from(size) + 4;
    }
    assert_eq!(
        entries,
        vec![
            (0, 0x9_FC00, 1),
            (0x9_FC00, 0x400, 2),
            (0xF_0000, 0x1_0000, 2),
            (MIB, 63 * MIB, 1),
        ]
    );
    // The stack and GDT are inside the block, clear of everything else.
    assert!(r.rsp > info && r.rsp <= 0x9_FC00);
    assert_eq!(l.entry.sregs.gdt.base, info - 0x40);
}

#[test]
fn no_disk_means_no_boot_device() {
    let mem = pc_memory(8).expect("mem");
    let img =
        MultibootImage::new(bare_bones(), MultibootOptions::default(), 8 * MIB).expect("valid");
    let l = img.load(&mem, &Drives::default()).expect("loads");
    let flags = mem.read_u32(l.entry.regs.rbx).expect("flags");
    assert_eq!(flags & INFO_BOOT_DEVICE, 0);
    assert_eq!(flags & INFO_CMDLINE, INFO_CMDLINE);
    // A machine smaller than the one the image was checked for is refused.
    let small = pc_memory(4).expect("mem");
    let big =
        MultibootImage::new(bare_bones(), MultibootOptions::default(), 64 * MIB).expect("valid");
    assert!(big.load(&small, &Drives::default()).is_err());
}

#[test]
fn virtual_entry_is_translated_to_physical() {
    let mut body = header(3, None);
    body.resize(0x100, 0x90);
    let img = elf(
        0xC010_0020,
        &[Ph {
            ty: 1,
            offset: 0x100,
            vaddr: 0xC010_0000,
            paddr: 0x10_0000,
            filesz: 0x100,
            memsz: 0x100,
        }],
        &body,
    );
    let k = MultibootImage::new(img, MultibootOptions::default(), 8 * MIB).expect("valid");
    assert_eq!(k.entry(), 0x10_0020);
}

#[test]
fn aout_kludge_loads_a_flat_file() {
    // A flat binary meant to sit at 1 MiB, header at its start, 0x2000 bytes of BSS.
    let mut v = header(
        FLAG_AOUT_KLUDGE | 3,
        Some([0x10_0000, 0x10_0000, 0, 0x10_3000, 0x10_0020]),
    );
    v.resize(0x1000, 0xCC);
    let mem = pc_memory(8).expect("mem");
    let k = MultibootImage::new(v, MultibootOptions::default(), 8 * MIB).expect("valid");
    let l = k.load(&mem, &Drives::default()).expect("loads");
    assert_eq!(l.entry.regs.rip, 0x10_0020);
    assert_eq!(mem.read_u8(0x10_0FFF).expect("read"), 0xCC);
    assert_eq!(mem.read_u8(0x10_1000).expect("read"), 0);
    // Modules go after the BSS.
    let k = MultibootImage::new(
        {
            let mut v = header(
                FLAG_AOUT_KLUDGE,
                Some([0x10_0000, 0x10_0000, 0, 0x10_3000, 0x10_0020]),
            );
            v.resize(0x1000, 0xCC);
            v
        },
        MultibootOptions {
            cmdline: String::new(),
            modules: vec![Module {
                string: "m".into(),
                bytes: vec![1; 10],
            }],
        },
        8 * MIB,
    )
    .expect("valid");
    assert_eq!(k.module_addrs().next(), Some(0x10_3000));
}

#[test]
fn aout_kludge_inconsistencies_are_refused() {
    let mk = |f: [u32; 5], len: usize| {
        let mut v = header(FLAG_AOUT_KLUDGE, Some(f));
        v.resize(len, 0);
        err(v)
    };
    // header_addr below load_addr.
    assert!(mk([0x10_0000, 0x10_1000, 0, 0, 0x10_1000], 64).contains("inconsistent"));
    // The header would have to be 0x1000 bytes into the file, but it is at 0.
    assert!(mk([0x10_1000, 0x10_0000, 0, 0, 0x10_0000], 64).contains("inconsistent"));
    // load_end_addr below load_addr; past the end of the file.
    assert!(mk([0x10_0000, 0x10_0000, 0xF_0000, 0, 0x10_0000], 64).contains("load_end_addr"));
    assert!(mk([0x10_0000, 0x10_0000, 0x10_1000, 0, 0x10_0000], 64).contains("truncated"));
    // bss_end below load_end.
    assert!(mk([0x10_0000, 0x10_0000, 0x10_0020, 0x10_0010, 0x10_0000], 64).contains("bss_end"));
    // Entry outside the image.
    assert!(mk([0x10_0000, 0x10_0000, 0, 0, 0x20_0000], 64).contains("entry_addr"));
    // Into VGA memory, the ROM, the IVT, beyond RAM, across 4 GiB.
    assert!(mk([0xB_8000, 0xB_8000, 0, 0, 0xB_8000], 64).contains("VGA memory"));
    assert!(mk([0xF_0000, 0xF_0000, 0, 0, 0xF_0000], 64).contains("BIOS ROM"));
    assert!(mk([0x100, 0x100, 0, 0, 0x100], 64).contains("interrupt vector table"));
    assert!(mk([0x9_FB00, 0x9_FB00, 0, 0, 0x9_FB00], 0x400).contains("extended BIOS data"));
    assert!(mk([0x400_0000, 0x400_0000, 0, 0, 0x400_0000], 64).contains("beyond the end of RAM"));
    assert!(
        mk([0xFFFF_FF00, 0xFFFF_FF00, 0, 0xFFFF_FFFF, 0xFFFF_FF00], 64)
            .contains("beyond the end of RAM")
    );
}

#[test]
fn huge_bss_is_too_large_for_memory() {
    let mut body = header(3, None);
    body.resize(0x100, 0x90);
    let img = elf(
        0x10_0000,
        &[Ph {
            ty: 1,
            offset: 0x100,
            vaddr: 0x10_0000,
            paddr: 0x10_0000,
            filesz: 0x100,
            memsz: 0xFFFF_0000,
        }],
        &body,
    );
    let e = err(img);
    assert!(
        e.contains("beyond the end of RAM (64 MiB); give more --memory"),
        "{e}"
    );
}

#[test]
fn malformed_elf_files_are_refused() {
    let good = bare_bones();
    // 64-bit ELF.
    let mut v = good.clone();
    v[4] = 2;
    assert!(err(v).contains("64-bit ELF"));
    let mut v = good.clone();
    v[5] = 2;
    assert!(err(v).contains("big-endian"));
    let mut v = good.clone();
    v[18] = 62;
    assert!(err(v).contains("machine 62"));
    let mut v = good.clone();
    v[16] = 3;
    assert!(err(v).contains("not an ELF executable"));
    // Program headers past the end of the file.
    let mut v = good.clone();
    v[28..32].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert!(err(v).contains("program headers"));
    let mut v = good.clone();
    v[44..46].copy_from_slice(&0xFFFFu16.to_le_bytes());
    assert!(err(v).contains("program headers"));
    let mut v = good.clone();
    v[42..44].copy_from_slice(&8u16.to_le_bytes());
    assert!(err(v).contains("smaller than 32"));
    let mut v = good.clone();
    v[44..46].copy_from_slice(&0u16.to_le_bytes());
    assert!(err(v).contains("no program headers"));
    // Segment data past the end of the file (truncated file).
    let mut v = good.clone();
    v.truncate(0x180);
    assert!(err(v).contains("truncated"));
    // filesz > memsz.
    let mut v = good.clone();
    v[52 + 16..52 + 20].copy_from_slice(&0x2000u32.to_le_bytes());
    assert!(err(v).contains("more file bytes"));
    // Entry outside every segment.
    let mut v = good.clone();
    v[24..28].copy_from_slice(&0x50_0000u32.to_le_bytes());
    assert!(err(v).contains("entry point"));
    // No PT_LOAD.
    let mut v = good.clone();
    v[52..56].copy_from_slice(&4u32.to_le_bytes());
    assert!(err(v).contains("no loadable"));
    // Truncated ELF header.
    assert!(err(good[..40].to_vec()).contains("no multiboot header"));
    let mut short = good[..20].to_vec();
    short.extend_from_slice(&header(3, None));
    assert!(err(short).contains("truncated"));
    // Segment into the ROM.
    let mut v = good.clone();
    v[52 + 12..52 + 16].copy_from_slice(&0xF_8000u32.to_le_bytes());
    assert!(err(v).contains("BIOS ROM"));
}

#[test]
fn header_problems_are_explained() {
    // Wrong checksum: the message names flags and checksum.
    let mut v = bare_bones();
    v[0x108] ^= 0xFF;
    let e = err(v);
    assert!(
        e.starts_with("multiboot header checksum is wrong (flags 0x3, checksum 0x"),
        "{e}"
    );
    // Unknown required flag bits.
    let mut body = header(3 | 1 << 5, None);
    body.resize(0x100, 0);
    let mut v = bare_bones();
    v[0x100..0x200].copy_from_slice(&body);
    assert!(err(v).contains("unknown required bits 0x20"));
    // Header beyond 8 KiB is not found.
    let mut v = bare_bones();
    let hdr = v[0x100..0x10C].to_vec();
    v[0x100..0x10C].fill(0);
    v.resize(0x3000, 0);
    v[0x2100..0x210C].copy_from_slice(&hdr);
    assert!(err(v).contains("no multiboot header"));
    // Not ELF, no address fields.
    let mut v = header(3, None);
    v.resize(64, 0);
    assert!(err(v).contains("no address fields"));
    // Truncated kludge fields.
    let mut v = header(FLAG_AOUT_KLUDGE, None);
    v.extend_from_slice(&[0; 8]);
    assert!(err(v).contains("runs past the end"));
    assert_eq!(
        MultibootImage::new(vec![], MultibootOptions::default(), MIB).err(),
        Some(LoadError::Empty)
    );
}

#[test]
fn multiboot2_is_detected_and_refused() {
    let mut v = vec![0u8; 0x40];
    let (magic, arch, len) = (MULTIBOOT2_MAGIC, 0u32, 16u32);
    v[8..12].copy_from_slice(&magic.to_le_bytes());
    v[12..16].copy_from_slice(&arch.to_le_bytes());
    v[16..20].copy_from_slice(&len.to_le_bytes());
    v[20..24].copy_from_slice(&0u32.wrapping_sub(magic + arch + len).to_le_bytes());
    let mut elf64 = bare_bones();
    elf64[0x100..0x10C].fill(0);
    elf64[0x100..0x140].copy_from_slice(&v);
    assert!(err(elf64).contains("a Multiboot2 kernel"));
}

#[test]
fn modules_that_do_not_fit_are_refused() {
    let opts = MultibootOptions {
        cmdline: String::new(),
        modules: vec![Module {
            string: "big.bin".into(),
            bytes: vec![0; 8 << 20],
        }],
    };
    let e = MultibootImage::new(bare_bones(), opts, 8 * MIB)
        .expect_err("too big")
        .to_string();
    assert!(
        e.contains("module big.bin") && e.contains("beyond the end of RAM"),
        "{e}"
    );
    let many = MultibootOptions {
        cmdline: String::new(),
        modules: (0..=MAX_MODULES)
            .map(|i| Module {
                string: format!("m{i}"),
                bytes: vec![],
            })
            .collect(),
    };
    assert!(MultibootImage::new(bare_bones(), many, 8 * MIB).is_err());
}

/// Found by fuzz/loaders: a NUL in `--append` (or a module string) was written as is,
/// so the kernel saw a command line cut short at the NUL instead of the one given.
#[test]
fn nul_bytes_in_strings_are_refused() {
    let opts = |cmdline: &str, string: &str| MultibootOptions {
        cmdline: cmdline.into(),
        modules: vec![Module {
            string: string.into(),
            bytes: vec![1],
        }],
    };
    let e = MultibootImage::new(bare_bones(), opts("a\0b", "m"), 8 * MIB)
        .expect_err("NUL in the command line")
        .to_string();
    assert!(e.contains("command line contains a NUL"), "{e}");
    let e = MultibootImage::new(bare_bones(), opts("a", "m\0x"), 8 * MIB)
        .expect_err("NUL in a module string")
        .to_string();
    assert!(e.contains("contains a NUL"), "{e}");
    assert!(MultibootImage::new(bare_bones(), opts("a b", "m x"), 8 * MIB).is_ok());
}

#[test]
fn info_block_avoids_a_kernel_in_low_memory() {
    // A kernel that occupies 0x1000-0x9F000 pushes the info block above the modules.
    let mut v = header(
        FLAG_AOUT_KLUDGE,
        Some([0x1000, 0x1000, 0, 0x9_F000, 0x1000]),
    );
    v.resize(0x100, 0);
    let k = MultibootImage::new(v, MultibootOptions::default(), 8 * MIB).expect("valid");
    assert!(k.info_addr() >= MIB, "{:#x}", k.info_addr());
    // A small low kernel: the block goes right after it.
    let mut v = header(FLAG_AOUT_KLUDGE, Some([0x1000, 0x1000, 0, 0x2800, 0x1000]));
    v.resize(0x100, 0);
    let k = MultibootImage::new(v, MultibootOptions::default(), 8 * MIB).expect("valid");
    assert_eq!(k.info_addr(), 0x3000 + BLOCK_INFO);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let base = bare_bones();
    let mut seed = 0x1234_5678u32;
    for _ in 0..2000 {
        let mut v = base.clone();
        for _ in 0..4 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (seed as usize >> 8) % v.len();
            v[i] = (seed >> 3) as u8;
        }
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.truncate((seed as usize >> 4) % (v.len() + 1));
        if let Ok(k) = MultibootImage::new(v, MultibootOptions::default(), 4 * MIB) {
            let mem = pc_memory(4).expect("mem");
            let _ = k.load(&mem, &Drives::default());
        }
    }
}
