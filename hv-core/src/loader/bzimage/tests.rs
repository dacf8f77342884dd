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
