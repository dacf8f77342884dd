use super::*;
use crate::arch::x86::regs::{CR0_PG, EFER_LMA};
use crate::machine::layout::pc_memory;

const MIB: u64 = 1 << 20;

/// A fake bzImage: `setup_sects` sectors of setup after the boot sector, then `payload`.
fn fake(version: u16, xloadflags: u16, payload_len: usize) -> Vec<u8> {
    let setup_sects = 1u8;
    let mut v = vec![0u8; (usize::from(setup_sects) + 1) * 512];
    v[0x1F1] = setup_sects;
    v[0x1FE] = 0x55;
    v[0x1FF] = 0xAA;
    v[0x202..0x206].copy_from_slice(b"HdrS");
    v[0x206..0x208].copy_from_slice(&version.to_le_bytes());
    v[0x211] = LOADED_HIGH;
    v[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes()); // code32_start
    v[0x22C..0x230].copy_from_slice(&0x37FF_FFFFu32.to_le_bytes()); // initrd_addr_max
    v[0x230..0x234].copy_from_slice(&0x20_0000u32.to_le_bytes()); // kernel_alignment
    v[0x236..0x238].copy_from_slice(&xloadflags.to_le_bytes());
    v[0x238..0x23C].copy_from_slice(&2048u32.to_le_bytes()); // cmdline_size
    v[0x260..0x264].copy_from_slice(&0x10_0000u32.to_le_bytes()); // init_size
    v.extend((0..payload_len).map(|i| i as u8));
    v
}

fn err(bytes: Vec<u8>) -> String {
    BzImageLinux::new(bytes, String::new(), None, 64 * MIB)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn loads_kernel_boot_params_cmdline_and_initrd() {
    let mem = pc_memory(64).expect("mem");
    let img = BzImageLinux::new(
        fake(0x020F, XLF_KERNEL_64, 0x3000),
        "console=tty0 quiet".into(),
        Some(Initrd {
            bytes: vec![0x5A; 10_000],
        }),
        64 * MIB,
    )
    .expect("valid");
    let l = img.load(&mem, &Drives::default()).expect("loads");
    // Long mode at load address + 0x200, RSI = boot_params.
    assert_eq!(l.entry.regs.rip, 0x10_0200);
    assert_eq!(l.entry.regs.rsi, ZERO_PAGE_AT);
    assert_eq!(l.entry.sregs.efer & EFER_LMA, EFER_LMA);
    assert_eq!(l.entry.sregs.cr0 & CR0_PG, CR0_PG);
    assert!(l.entry.sregs.cs.l);
    // The protected-mode kernel (file offset 1024) is at 1 MiB.
    assert_eq!(mem.read_u8(0x10_0000).expect("read"), 0);
    assert_eq!(mem.read_u8(0x10_0201).expect("read"), 0x01);
    assert_eq!(mem.read_u8(0x10_2FFF).expect("read"), 0xFF);

    let zp = ZERO_PAGE_AT;
    let r8 = |o: u64| mem.read_u8(zp + o).expect("zero page");
    let r16 = |o: u64| mem.read_u16(zp + o).expect("zero page");
    let r32 = |o: u64| mem.read_u32(zp + o).expect("zero page");
    let r64 = |o: u64| mem.read_u64(zp + o).expect("zero page");
    // Setup header copied, with loader fields filled.
    assert_eq!(r32(0x202), HDRS_MAGIC);
    assert_eq!(r16(0x206), 0x020F);
    assert_eq!(r8(0x210), 0xFF, "type_of_loader");
    assert_eq!(r32(0x214), 0x10_0000, "code32_start");
    assert_eq!(r32(0x228), CMDLINE_AT as u32, "cmd_line_ptr");
    let mut cmd = vec![0u8; 19];
    mem.read(CMDLINE_AT, &mut cmd).expect("cmdline");
    assert_eq!(&cmd, b"console=tty0 quiet\0");
    // The initrd: page-aligned, below the end of RAM, above the kernel.
    let (rd, rd_size) = (u64::from(r32(0x218)), r32(0x21C));
    assert_eq!(rd_size, 10_000);
    assert_eq!(rd % 0x1000, 0);
    assert!(rd >= 0x10_0000 + 0x10_0000 && rd + 10_000 <= 64 * MIB);
    assert_eq!(Some(rd), img.initrd_addr());
    assert_eq!(mem.read_u8(rd + 9_999).expect("initrd"), 0x5A);
    // screen_info for vgacon.
    assert_eq!(r8(0x06), 3, "orig_video_mode");
    assert_eq!(r8(0x07), 80, "orig_video_cols");
    assert_eq!(r16(0x0A), 3, "orig_video_ega_bx");
    assert_eq!(r8(0x0E), 25, "orig_video_lines");
    assert_eq!(r8(0x0F), 1, "orig_video_isVGA");
    assert_eq!(r16(0x10), 16, "orig_video_points");
    // The E820 map.
    assert_eq!(r8(0x1E8), 4);
    let e = |i: u64| {
        (
            r64(0x2D0 + 20 * i),
            r64(0x2D8 + 20 * i),
            r32(0x2E0 + 20 * i),
        )
    };
    assert_eq!(e(0), (0, 0x9_FC00, 1));
    assert_eq!(e(1), (0x9_FC00, 0x400, 2));
    assert_eq!(e(2), (0xF_0000, 0x1_0000, 2));
    assert_eq!(e(3), (MIB, 63 * MIB, 1));
    assert_eq!(r32(0x1E0), 63 * 1024, "alt_mem_k");
}

#[test]
fn initrd_respects_initrd_addr_max() {
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x22C..0x230].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
    let img = BzImageLinux::new(
        v.clone(),
        String::new(),
        Some(Initrd {
            bytes: vec![1; 0x1800],
        }),
        64 * MIB,
    )
    .expect("fits");
    let at = img.initrd_addr().expect("initrd");
    assert!(at + 0x1800 <= 0x100_0000, "{at:#x}");
    assert_eq!(at, 0x100_0000 - 0x2000);
    // An initrd that does not fit between the kernel's init_size and the limit.
    let e = BzImageLinux::new(
        v,
        String::new(),
        Some(Initrd {
            bytes: vec![0; 15 << 20],
        }),
        64 * MIB,
    )
    .expect_err("too big")
    .to_string();
    assert!(
        e.contains("initrd") && e.contains("give more --memory"),
        "{e}"
    );
}

#[test]
fn setup_header_problems_are_refused() {
    assert!(err(fake(0x0205, XLF_KERNEL_64, 0x1000)).contains("protocol 2.05 is too old"));
    assert!(err(fake(0x0202, 0, 0x1000)).contains("too old"));
    assert!(err(fake(0x020F, 0, 0x1000)).contains("XLF_KERNEL_64 is clear"));
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x211] = 0;
    assert!(err(v).contains("zImage"));
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x202] = b'X';
    assert!(err(v).contains("HdrS"));
    // Truncated: header cut, setup cut, payload too small.
    assert!(err(fake(0x020F, XLF_KERNEL_64, 0)[..0x210].to_vec()).contains("too short"));
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x1F1] = 200;
    assert!(err(v).contains("truncated"));
    assert!(err(fake(0x020F, XLF_KERNEL_64, 0x100)).contains("64-bit entry point at +0x200"));
    // Load address below 1 MiB or unaligned.
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x214..0x218].copy_from_slice(&0x1_0000u32.to_le_bytes());
    assert!(err(v).contains("code32_start"));
    // init_size larger than RAM.
    let mut v = fake(0x020F, XLF_KERNEL_64, 0x1000);
    v[0x260..0x264].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    assert!(err(v).contains("give more --memory"));
    // Command line longer than cmdline_size allows.
    let e = BzImageLinux::new(
        fake(0x020F, XLF_KERNEL_64, 0x1000),
        "x".repeat(2048),
        None,
        64 * MIB,
    )
    .expect_err("too long")
    .to_string();
    assert!(e.contains("at most 2047"), "{e}");
    assert_eq!(
        BzImageLinux::new(vec![], String::new(), None, MIB).err(),
        Some(LoadError::Empty)
    );
}

#[test]
fn arbitrary_headers_never_panic() {
    let base = fake(0x020F, XLF_KERNEL_64, 0x1000);
    let mut seed = 0xDEAD_BEEFu32;
    for _ in 0..2000 {
        let mut v = base.clone();
        for _ in 0..3 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = 0x1F1 + (seed as usize >> 8) % 0x80;
            v[i] = (seed >> 3) as u8;
        }
        if let Ok(k) = BzImageLinux::new(v, String::new(), None, 8 * MIB) {
            let mem = pc_memory(8).expect("mem");
            let _ = k.load(&mem, &Drives::default());
        }
    }
}

/// Found by the `loaders` fuzz target: a header whose ramdisk fields hold garbage must
/// not reach the kernel when no initrd is given.
#[test]
fn no_initrd_clears_the_ramdisk_fields_from_the_file() {
    let mem = pc_memory(64).expect("mem");
    let mut image = fake(0x020F, XLF_KERNEL_64, 0x1000);
    image[0x218..0x21C].copy_from_slice(&0x1234_0000u32.to_le_bytes()); // ramdisk_image
    image[0x21C..0x220].copy_from_slice(&0xFFFF_0000u32.to_le_bytes()); // ramdisk_size
    let img = BzImageLinux::new(image, String::new(), None, 64 * MIB).expect("valid");
    img.load(&mem, &Drives::default()).expect("loads");
    assert_eq!(mem.read_u32(ZERO_PAGE_AT + 0x218).expect("zero page"), 0);
    assert_eq!(mem.read_u32(ZERO_PAGE_AT + 0x21C).expect("zero page"), 0);
}

const BOOTPARAM_H: &str = "arch/x86/include/uapi/asm/bootparam.h";
const SCREEN_INFO_H: &str = "include/uapi/linux/screen_info.h";
const BOOT_RST: &str = "Documentation/arch/x86/boot.rst";
const ZERO_PAGE_RST: &str = "Documentation/arch/x86/zero-page.rst";

/// (name, (offset, size) as hv has them, offset and size as Linux defines them, where).
type LayoutRow = (&'static str, (usize, usize), usize, usize, &'static str);

/// Every named boot_params field, and the structures hv writes whole. The headers give
/// offsets in comments (`/* 0x1e0 */`) and sizes as C types; boot.rst and zero-page.rst
/// give "Offset/Size" tables.
#[test]
fn zero_page_layout_matches_linux() {
    let rows: &[LayoutRow] = &[
        ("orig_x", ORIG_X.span(), 0x00, 1, SCREEN_INFO_H),
        ("orig_y", ORIG_Y.span(), 0x01, 1, SCREEN_INFO_H),
        ("ext_mem_k", EXT_MEM_K.span(), 0x02, 2, SCREEN_INFO_H),
        (
            "orig_video_page",
            ORIG_VIDEO_PAGE.span(),
            0x04,
            2,
            SCREEN_INFO_H,
        ),
        (
            "orig_video_mode",
            ORIG_VIDEO_MODE.span(),
            0x06,
            1,
            SCREEN_INFO_H,
        ),
        (
            "orig_video_cols",
            ORIG_VIDEO_COLS.span(),
            0x07,
            1,
            SCREEN_INFO_H,
        ),
        ("flags", SCREEN_FLAGS.span(), 0x08, 1, SCREEN_INFO_H),
        (
            "orig_video_ega_bx",
            ORIG_VIDEO_EGA_BX.span(),
            0x0A,
            2,
            SCREEN_INFO_H,
        ),
        (
            "orig_video_lines",
            ORIG_VIDEO_LINES.span(),
            0x0E,
            1,
            SCREEN_INFO_H,
        ),
        (
            "orig_video_isVGA",
            ORIG_VIDEO_IS_VGA.span(),
            0x0F,
            1,
            SCREEN_INFO_H,
        ),
        (
            "orig_video_points",
            ORIG_VIDEO_POINTS.span(),
            0x10,
            2,
            SCREEN_INFO_H,
        ),
        (
            "ext_ramdisk_image",
            EXT_RAMDISK_IMAGE.span(),
            0x0C0,
            4,
            ZERO_PAGE_RST,
        ),
        (
            "ext_ramdisk_size",
            EXT_RAMDISK_SIZE.span(),
            0x0C4,
            4,
            ZERO_PAGE_RST,
        ),
        (
            "ext_cmd_line_ptr",
            EXT_CMD_LINE_PTR.span(),
            0x0C8,
            4,
            ZERO_PAGE_RST,
        ),
        ("alt_mem_k", ALT_MEM_K.span(), 0x1E0, 4, ZERO_PAGE_RST),
        ("e820_entries", E820_ENTRIES.span(), 0x1E8, 1, ZERO_PAGE_RST),
        ("sentinel", SENTINEL.span(), 0x1EF, 1, ZERO_PAGE_RST),
        ("setup_sects", SETUP_SECTS.span(), 0x1F1, 1, BOOT_RST),
        ("vid_mode", VID_MODE.span(), 0x1FA, 2, BOOT_RST),
        ("boot_flag", BOOT_FLAG.span(), 0x1FE, 2, BOOT_RST),
        ("header", HEADER.span(), 0x202, 4, BOOT_RST),
        ("version", VERSION.span(), 0x206, 2, BOOT_RST),
        ("type_of_loader", TYPE_OF_LOADER.span(), 0x210, 1, BOOT_RST),
        ("loadflags", LOADFLAGS.span(), 0x211, 1, BOOT_RST),
        ("code32_start", CODE32_START.span(), 0x214, 4, BOOT_RST),
        ("ramdisk_image", RAMDISK_IMAGE.span(), 0x218, 4, BOOT_RST),
        ("ramdisk_size", RAMDISK_SIZE.span(), 0x21C, 4, BOOT_RST),
        ("cmd_line_ptr", CMD_LINE_PTR.span(), 0x228, 4, BOOT_RST),
        (
            "initrd_addr_max",
            INITRD_ADDR_MAX.span(),
            0x22C,
            4,
            BOOT_RST,
        ),
        (
            "kernel_alignment",
            KERNEL_ALIGNMENT.span(),
            0x230,
            4,
            BOOT_RST,
        ),
        ("xloadflags", XLOADFLAGS.span(), 0x236, 2, BOOT_RST),
        ("cmdline_size", CMDLINE_SIZE.span(), 0x238, 4, BOOT_RST),
        ("init_size", INIT_SIZE.span(), 0x260, 4, BOOT_RST),
        (
            "kernel_info_offset",
            KERNEL_INFO_OFFSET.span(),
            0x268,
            4,
            BOOT_RST,
        ),
        // struct boot_params is 4096 bytes: its last member, _pad9[276] at 0xeec, ends at
        // 0x1000 (BOOT_PARAMS_SIZE).
        ("boot_params", (0, ZERO_PAGE_SIZE), 0, 0x1000, BOOTPARAM_H),
        // hdr at 0x1f1; the header's last field is kernel_info_offset (0268/4 in boot.rst),
        // so sizeof(struct setup_header) is 0x7b.
        (
            "hdr",
            (SETUP_HEADER_START, SETUP_HEADER_END - SETUP_HEADER_START),
            0x1F1,
            0x7B,
            BOOTPARAM_H,
        ),
        // e820_table: 2D0/A00, E820_MAX_ENTRIES_ZEROPAGE (128) packed boot_e820_entry
        // { u64 addr; u64 size; u32 type; } of 20 bytes.
        (
            "e820_table",
            (E820_TABLE, E820_MAX_ENTRIES * E820_ENTRY_SIZE),
            0x2D0,
            0xA00,
            ZERO_PAGE_RST,
        ),
        ("boot_e820_entry", (0, E820_ENTRY_SIZE), 0, 20, BOOTPARAM_H),
        (
            "E820_MAX_ENTRIES_ZEROPAGE",
            (0, E820_MAX_ENTRIES),
            0,
            128,
            BOOTPARAM_H,
        ),
    ];
    for &(name, hv, offset, size, source) in rows {
        assert_eq!(
            hv,
            (offset, size),
            "{name}: {source} has {offset:#x}/{size:#x}"
        );
    }
}

#[test]
fn zero_page_starts_from_the_file_header_and_zeros() {
    let mut file = fake(0x020F, XLF_KERNEL_64, 0x1000);
    // Bytes the file holds around the header must not reach boot_params.
    file[..0x1F1].fill(0xEE);
    file[0x26C..0x400].fill(0xEE);
    let zp = setup_header_of(&file).expect("header");
    let b = zp.as_bytes();
    assert!(b[..0x1F1].iter().all(|&x| x == 0), "below the header");
    assert!(b[0x26C..].iter().all(|&x| x == 0), "past the header");
    assert_eq!(&b[0x1F1..0x26C], &file[0x1F1..0x26C]);
    assert_eq!(zp.get(VERSION), 0x020F);
    assert_eq!(zp.get(SENTINEL), 0);
    // One byte short of the header's end is refused, not read past.
    let e = setup_header_of(&file[..0x26B]).expect_err("short");
    assert!(e.to_string().contains("too short"), "{e}");
    assert_eq!(HEADER.read(&file[..0x205]), None);
    assert_eq!(HEADER.read(&file), Some(HDRS_MAGIC));
}

#[test]
fn e820_table_is_filled_and_capped_at_128() {
    let mut zp = setup_header_of(&fake(0x020F, XLF_KERNEL_64, 0x1000)).expect("header");
    let n = zp.set_e820((0..200u64).map(|i| (i << 20, 0x1000 + i, 1 + (i % 4) as u32)));
    assert_eq!(n, 128);
    assert_eq!(zp.get(E820_ENTRIES), 128);
    let b = zp.as_bytes();
    let entry = |i: usize| {
        let e = &b[0x2D0 + 20 * i..0x2D0 + 20 * (i + 1)];
        (
            u64::from_le_bytes(e[0..8].try_into().expect("8")),
            u64::from_le_bytes(e[8..16].try_into().expect("8")),
            u32::from_le_bytes(e[16..20].try_into().expect("4")),
        )
    };
    assert_eq!(entry(0), (0, 0x1000, 1));
    assert_eq!(entry(127), (127 << 20, 0x1000 + 127, 4));
    // Entry 128 would start at 0xCD0 (_pad8): untouched.
    assert!(b[0xCD0..].iter().all(|&x| x == 0));
}
