//! Booting an arm64 guest without firmware: where the image and the DTB go, and the
//! register state at the first instruction.
//!
//! Follows the Linux arm64 boot protocol (Documentation/arch/arm64/booting.rst):
//!
//! * An `Image` has a 64-byte little-endian header: code0/code1, `text_offset` (+8),
//!   `image_size` (+16, the whole footprint including BSS), `flags` (+24), three reserved
//!   words, the magic "ARM\x64" at +0x38 and a PE offset. It is placed `text_offset` bytes
//!   above a 2 MiB aligned base (we use the start of RAM, as "close as possible to the
//!   base of DRAM" asks). A zero `image_size` marks a kernel older than 3.17, whose
//!   `text_offset` is to be taken as 0x80000.
//! * Anything else is a raw image, loaded at RAM + 0x80000 as QEMU's `-kernel` does, so
//!   the same binary runs at the same address under both.
//! * The DTB is 8-byte aligned (we use the next 2 MiB block after the image, so it shares
//!   no 2 MiB mapping with the kernel), at most 2 MiB, and within 512 MiB of the kernel.
//! * Entry at EL1h with DAIF masked (CPSR 0x3c5), MMU and caches off, X0 = DTB address,
//!   X1-X3 = 0.

use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::error::Result;
use crate::hypervisor::VcpuArm64;
use crate::loader::LoadError;
use crate::memory::GuestMemory;

use super::fdt::MAX_DTB_SIZE;
use super::layout::RAM_BASE;

/// "ARM\x64" read as a little-endian u32.
pub const IMAGE_MAGIC: u32 = 0x644D_5241;
/// Offset of the magic in the header.
pub const IMAGE_MAGIC_OFFSET: usize = 0x38;
/// Size of the Image header.
pub const IMAGE_HEADER_SIZE: usize = 64;
/// `text_offset` of kernels whose header predates `image_size` (and of raw images).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;
/// The Image base and the DTB are placed on 2 MiB boundaries.
pub const BLOCK_2M: u64 = 2 << 20;
/// The DTB must lie within this distance of the kernel's start.
pub const DTB_MAX_DISTANCE: u64 = 512 << 20;
/// Header flag bit 0: the kernel is big-endian.
const FLAG_BIG_ENDIAN: u64 = 1;

/// PSTATE at entry: EL1h (M = 0b0101, SP_EL1) with D, A, I and F masked.
pub const ENTRY_CPSR: u64 = 0x3C5;
/// SCTLR_EL1 at entry: the ARMv8.0 RES1 bits (29, 28, 23, 22, 20, 11); M, C and I clear,
/// so the MMU and the caches are off.
pub const ENTRY_SCTLR_EL1: u64 = 0x30D0_0800;
/// CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap (compilers emit SIMD in memcpy).
pub const ENTRY_CPACR_EL1: u64 = 3 << 20;

/// What the Image header says, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Load offset from the 2 MiB aligned base.
    pub text_offset: u64,
    /// Bytes of memory the image occupies once running (at least the file length).
    pub image_size: u64,
    /// Informative flags (bit 0 endianness, bits 1-2 page size, bit 3 placement).
    pub flags: u64,
}

/// The kind of image, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// An arm64 Linux `Image` (or anything carrying its header, like hv's demo).
    Linux(ImageHeader),
    /// A flat binary entered at its first byte.
    Raw,
}

fn le64(bytes: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = bytes.get(off..off + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Classifies `image` and validates an Image header if it has one.
pub fn parse_image(image: &[u8]) -> std::result::Result<ImageKind, LoadError> {
    if image.is_empty() {
        return Err(LoadError::Empty);
    }
    let magic = image
        .get(IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if magic != Some(IMAGE_MAGIC) || image.len() < IMAGE_HEADER_SIZE {
        return Ok(ImageKind::Raw);
    }
    let text_offset = le64(image, 8);
    let image_size = le64(image, 16);
    let flags = le64(image, 24);
    let file_len = image.len() as u64;
    let invalid = |why: String| Err(LoadError::Invalid(format!("arm64 Image header: {why}")));
    if image_size == 0 {
        // Pre-3.17 header: text_offset's endianness was unspecified; use the default.
        return Ok(ImageKind::Linux(ImageHeader {
            text_offset: LEGACY_TEXT_OFFSET,
            image_size: file_len,
            flags: 0,
        }));
    }
    if flags & FLAG_BIG_ENDIAN != 0 {
        return invalid("the kernel is big-endian; hv runs little-endian guests".into());
    }
    if image_size < file_len {
        return invalid(format!(
            "image_size {image_size:#x} is smaller than the file ({file_len:#x} bytes)"
        ));
    }
    if text_offset % 4 != 0 {
        return invalid(format!(
            "text_offset {text_offset:#x} is not instruction-aligned"
        ));
    }
    if text_offset.checked_add(image_size).is_none() {
        return invalid("text_offset + image_size overflows".into());
    }
    Ok(ImageKind::Linux(ImageHeader {
        text_offset,
        image_size,
        flags,
    }))
}

/// Where everything goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootPlan {
    /// What was detected.
    pub kind: ImageKind,
    /// First byte of the image in guest memory (also the entry point).
    pub kernel_addr: u64,
    /// End of the image's footprint (file + BSS for an Image).
    pub kernel_end: u64,
    /// Where the DTB is (X0).
    pub dtb_addr: u64,
    /// Initial SP_EL1: the top of RAM (a convenience for raw images; Linux sets its own).
    pub stack_top: u64,
}

fn too_large(size: u64, max: u64, addr: u64) -> LoadError {
    LoadError::TooLarge {
        size: usize::try_from(size).unwrap_or(usize::MAX),
        max: usize::try_from(max).unwrap_or(usize::MAX),
        addr,
    }
}

/// Decides the placement of `image` and a DTB of `dtb_len` bytes in `ram_size` bytes
/// of RAM at [`RAM_BASE`].
pub fn plan(
    image: &[u8],
    dtb_len: usize,
    ram_size: u64,
) -> std::result::Result<BootPlan, LoadError> {
    let kind = parse_image(image)?;
    let (offset, footprint) = match kind {
        ImageKind::Linux(h) => (h.text_offset, h.image_size),
        ImageKind::Raw => (LEGACY_TEXT_OFFSET, image.len() as u64),
    };
    let ram_end = RAM_BASE + ram_size;
    let kernel_addr = RAM_BASE
        .checked_add(offset)
        .filter(|&a| a < ram_end)
        .ok_or_else(|| too_large(footprint, 0, RAM_BASE.saturating_add(offset)))?;
    let kernel_end = kernel_addr
        .checked_add(footprint)
        .filter(|&e| e <= ram_end)
        .ok_or_else(|| too_large(footprint, ram_end - kernel_addr, kernel_addr))?;
    let dtb_len = dtb_len as u64;
    if dtb_len == 0 || dtb_len > MAX_DTB_SIZE as u64 {
        return Err(LoadError::Invalid(format!(
            "a DTB of {dtb_len} bytes (the boot protocol allows 1 to {MAX_DTB_SIZE})"
        )));
    }
    let dtb_addr = kernel_end
        .checked_next_multiple_of(BLOCK_2M)
        .filter(|&a| a.checked_add(dtb_len).is_some_and(|e| e <= ram_end))
        .ok_or_else(|| {
            LoadError::Invalid(format!(
                "no room for the device tree after an image ending at {kernel_end:#x}; \
                 give the guest more memory"
            ))
        })?;
    if dtb_addr + dtb_len - kernel_addr > DTB_MAX_DISTANCE {
        return Err(LoadError::Invalid(format!(
            "the image is too large: the device tree at {dtb_addr:#x} would be more than \
             512 MiB above the kernel at {kernel_addr:#x}"
        )));
    }
    Ok(BootPlan {
        kind,
        kernel_addr,
        kernel_end,
        dtb_addr,
        stack_top: ram_end,
    })
}

/// Writes `image` and `dtb` into `mem` according to [`plan`].
pub fn load(
    mem: &GuestMemory,
    image: &[u8],
    dtb: &[u8],
    ram_size: u64,
) -> std::result::Result<BootPlan, LoadError> {
    let plan = plan(image, dtb.len(), ram_size)?;
    let write = |addr: u64, data: &[u8], what: &str| {
        mem.write(addr, data)
            .map_err(|e| LoadError::Invalid(format!("writing the {what} at {addr:#x}: {e}")))
    };
    write(plan.kernel_addr, image, "image")?;
    write(plan.dtb_addr, dtb, "device tree")?;
    Ok(plan)
}

/// The register state at the first instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    /// General registers, PC and CPSR.
    pub regs: Vec<(Arm64Reg, u64)>,
    /// System registers, written before the general ones.
    pub sys_regs: Vec<(Arm64SysReg, u64)>,
}

/// The boot protocol's entry state for `plan`. Every register the guest could have
/// changed is written, so a reset starts from the same state as power-on.
pub fn entry_state(plan: &BootPlan) -> EntryState {
    let mut regs: Vec<(Arm64Reg, u64)> = (0..=30u8).map(|n| (Arm64Reg::X(n), 0)).collect();
    regs[0].1 = plan.dtb_addr;
    regs.push((Arm64Reg::Pc, plan.kernel_addr));
    regs.push((Arm64Reg::Cpsr, ENTRY_CPSR));
    regs.push((Arm64Reg::Fpcr, 0));
    regs.push((Arm64Reg::Fpsr, 0));
    use Arm64SysReg::*;
    let sys_regs = vec![
        (SCTLR_EL1, ENTRY_SCTLR_EL1),
        (CPACR_EL1, ENTRY_CPACR_EL1),
        (TCR_EL1, 0),
        (TTBR0_EL1, 0),
        (TTBR1_EL1, 0),
        (MAIR_EL1, 0),
        (VBAR_EL1, 0),
        (SPSR_EL1, 0),
        (ELR_EL1, 0),
        (ESR_EL1, 0),
        (FAR_EL1, 0),
        (TPIDR_EL1, 0),
        (SP_EL0, 0),
        (SP_EL1, plan.stack_top),
        // Timer off: a reset must not leave an old deadline armed.
        (CNTV_CTL_EL0, 0),
        (CNTV_CVAL_EL0, 0),
        (CNTKCTL_EL1, 0),
    ];
    EntryState { regs, sys_regs }
}

/// Writes `state` into `vcpu`.
pub fn apply_entry_state<V: VcpuArm64>(vcpu: &mut V, state: &EntryState) -> Result<()> {
    for &(reg, value) in &state.sys_regs {
        vcpu.set_sys_reg(reg, value)?;
    }
    for &(reg, value) in &state.regs {
        vcpu.set_reg(reg, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn image(text_offset: u64, image_size: u64, flags: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len.max(IMAGE_HEADER_SIZE)];
        v[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b +0x40
        v[8..16].copy_from_slice(&text_offset.to_le_bytes());
        v[16..24].copy_from_slice(&image_size.to_le_bytes());
        v[24..32].copy_from_slice(&flags.to_le_bytes());
        v[0x38..0x3C].copy_from_slice(b"ARM\x64");
        v
    }

    #[test]
    fn magic_constant_is_arm_x64() {
        assert_eq!(IMAGE_MAGIC.to_le_bytes(), *b"ARM\x64");
    }

    #[test]
    fn header_is_parsed() {
        let img = image(0x8_0000, 0x20_0000, 0b1010, 0x1000);
        assert_eq!(
            parse_image(&img),
            Ok(ImageKind::Linux(ImageHeader {
                text_offset: 0x8_0000,
                image_size: 0x20_0000,
                flags: 0b1010,
            }))
        );
        // Modern kernels: text_offset 0.
        let img = image(0, 0x1000, 0, 0x1000);
        assert!(matches!(parse_image(&img), Ok(ImageKind::Linux(h)) if h.text_offset == 0));
    }

    #[test]
    fn legacy_header_uses_the_default_offset() {
        let img = image(0xDEAD_BEEF, 0, 0, 0x1000);
        let Ok(ImageKind::Linux(h)) = parse_image(&img) else {
            panic!("legacy header not recognised");
        };
        assert_eq!((h.text_offset, h.image_size), (LEGACY_TEXT_OFFSET, 0x1000));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let bad = [
            image(0, 0x1000, FLAG_BIG_ENDIAN, 0x1000),
            image(0, 0x800, 0, 0x1000),                // image_size < file
            image(0x8_0002, 0x1000, 0, 0x1000),        // misaligned entry
            image(u64::MAX - 0x10, 0x1000, 0, 0x1000), // overflow
        ];
        for img in &bad {
            assert!(
                matches!(parse_image(img), Err(LoadError::Invalid(_))),
                "{:?}",
                parse_image(img)
            );
        }
        assert_eq!(parse_image(&[]), Err(LoadError::Empty));
    }

    #[test]
    fn no_magic_means_raw() {
        assert_eq!(parse_image(&[0x1F, 0x20, 0x03, 0xD5]), Ok(ImageKind::Raw));
        let mut img = image(0, 0x1000, 0, 0x1000);
        img[0x38] = b'X';
        assert_eq!(parse_image(&img), Ok(ImageKind::Raw));
        // The magic alone at the end of a short file is not a header.
        assert_eq!(parse_image(&img[..0x3C]), Ok(ImageKind::Raw));
    }

    #[test]
    fn placement_follows_the_protocol() {
        let img = image(0x8_0000, 0x30_0000, 0, 0x1000);
        let p = plan(&img, 0x1000, 64 * MIB).expect("plan");
        assert_eq!(p.kernel_addr, RAM_BASE + 0x8_0000);
        assert_eq!(p.kernel_end, RAM_BASE + 0x38_0000, "BSS counts");
        assert_eq!(p.dtb_addr, RAM_BASE + 4 * MIB, "next 2 MiB block");
        assert_eq!(p.dtb_addr % 8, 0);
        assert!(p.dtb_addr >= p.kernel_end);
        assert!(p.dtb_addr + 0x1000 - p.kernel_addr <= DTB_MAX_DISTANCE);
        assert_eq!(p.stack_top, RAM_BASE + 64 * MIB);

        let raw = [0u8; 100];
        let p = plan(&raw, 0x1000, 64 * MIB).expect("raw");
        assert_eq!(p.kind, ImageKind::Raw);
        assert_eq!(p.kernel_addr, 0x4008_0000, "same place as QEMU -kernel");
        assert_eq!(p.dtb_addr, RAM_BASE + 2 * MIB);
    }

    #[test]
    fn placement_refuses_what_does_not_fit() {
        // Footprint beyond RAM.
        let img = image(0, 20 * MIB, 0, 0x1000);
        assert!(matches!(
            plan(&img, 0x1000, 8 * MIB),
            Err(LoadError::TooLarge { .. })
        ));
        // text_offset beyond RAM.
        let img = image(64 * MIB, 0x1000, 0, 0x1000);
        assert!(plan(&img, 0x1000, 8 * MIB).is_err());
        // Fits, but leaves no 2 MiB block for the DTB.
        let img = image(0, 7 * MIB, 0, 0x1000);
        assert!(matches!(
            plan(&img, 0x1000, 8 * MIB),
            Err(LoadError::Invalid(_))
        ));
        // The DTB would be more than 512 MiB above the kernel.
        let img = image(0, 600 * MIB, 0, 0x1000);
        let err = plan(&img, 0x1000, 1024 * MIB).expect_err("too far");
        assert!(err.to_string().contains("512 MiB"), "{err}");
        // DTB size limits.
        let img = image(0, 0x1000, 0, 0x1000);
        assert!(plan(&img, 0, 64 * MIB).is_err());
        assert!(plan(&img, MAX_DTB_SIZE + 1, 64 * MIB).is_err());
    }

    #[test]
    fn load_writes_image_and_dtb() {
        let mem = super::super::layout::arm64_memory(16).expect("memory");
        let img = image(0x8_0000, 0x2000, 0, 0x1000);
        let dtb = [0xD0, 0x0D, 0xFE, 0xED, 1, 2, 3, 4];
        let p = load(&mem, &img, &dtb, 16 * MIB).expect("load");
        let mut buf = [0u8; 8];
        mem.read(p.dtb_addr, &mut buf).expect("dtb");
        assert_eq!(buf, dtb);
        mem.read(p.kernel_addr + 0x38, &mut buf[..4])
            .expect("image");
        assert_eq!(&buf[..4], b"ARM\x64");
    }

    #[test]
    fn the_shipped_demo_lands_where_it_is_linked() {
        // assets/arm64-demo.img is linked at 0x4008_0000 and carries an Image header;
        // QEMU's -kernel and this loader must both put it there.
        let demo = include_bytes!("../../../../assets/arm64-demo.img");
        let Ok(ImageKind::Linux(h)) = parse_image(demo) else {
            panic!("the demo has no valid Image header");
        };
        assert_eq!(h.text_offset, 0x8_0000);
        assert!(
            h.image_size >= demo.len() as u64 + 0x4000,
            "BSS and stack included"
        );
        let p = plan(demo, 0x1000, 64 * MIB).expect("plan");
        assert_eq!(p.kernel_addr, 0x4008_0000);
    }

    #[test]
    fn entry_registers_follow_the_protocol() {
        let p = BootPlan {
            kind: ImageKind::Raw,
            kernel_addr: 0x4008_0000,
            kernel_end: 0x4008_1000,
            dtb_addr: 0x4020_0000,
            stack_top: 0x4400_0000,
        };
        let s = entry_state(&p);
        let reg = |r: Arm64Reg| s.regs.iter().find(|(x, _)| *x == r).map(|(_, v)| *v);
        let sys = |r: Arm64SysReg| s.sys_regs.iter().find(|(x, _)| *x == r).map(|(_, v)| *v);
        assert_eq!(reg(Arm64Reg::X(0)), Some(0x4020_0000));
        for n in 1..=30 {
            assert_eq!(reg(Arm64Reg::X(n)), Some(0), "X{n}");
        }
        assert_eq!(reg(Arm64Reg::Pc), Some(0x4008_0000));
        assert_eq!(reg(Arm64Reg::Cpsr), Some(0x3C5));
        let sctlr = sys(Arm64SysReg::SCTLR_EL1).expect("sctlr");
        assert_eq!(sctlr & 0b1_0000_0000_0101, 0, "M, C, I clear");
        assert_eq!(sys(Arm64SysReg::CPACR_EL1), Some(3 << 20));
        assert_eq!(sys(Arm64SysReg::SP_EL1), Some(0x4400_0000));
        assert_eq!(sys(Arm64SysReg::CNTV_CTL_EL0), Some(0), "timer off");
    }
}
