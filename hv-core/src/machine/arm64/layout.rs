//! The arm64 board's guest-physical memory map.
//!
//! The MMIO addresses follow QEMU's `virt` board (hw/arm/virt.c `base_memmap`), so a guest
//! or device tree written for `virt` finds the GIC, the PL011 and RAM where it expects
//! them. Two windows are hv's own and sit in holes `virt` leaves empty:
//!
//! ```text
//! 0x000A_0000..0x000C_0000  VGA memory: plain RAM, at the PC address (see below)
//! 0x0800_0000..0x0801_0000  GICv3 distributor        (in-kernel GIC; virt: GIC_DIST)
//! 0x080A_0000..0x0900_0000  GICv3 redistributor region (virt: GIC_REDIST); the
//!                           backend reports the real sizes ([`GicRegions`])
//! 0x0900_0000..0x0900_1000  PL011 UART               (virt: UART0, SPI 1)
//! 0x0B00_0000..0x0B01_0000  ISA I/O window: port p at 0x0B00_0000 + p
//!                           (virt has nothing between virtio-mmio's end at
//!                           0x0A00_4000 and the platform bus at 0x0C00_0000)
//! 0x4000_0000..             RAM                      (virt: VIRT_MEM)
//! ```
//!
//! **VGA memory at 0xA0000.** The VGA renderer, `vga::vram::text_base` and the VGA
//! font window all address guest-physical 0xA0000-0xBFFFF. On arm64 that range is below
//! RAM and free (virt puts flash there, which this board does not have), and it is 16 KiB
//! aligned and 128 KiB long, so it is mapped as its own RAM region and every VGA line of
//! code works unchanged. Guest stores to it never exit, exactly as on the PC.
//!
//! Every RAM region is aligned to [`MAP_ALIGN`] (HVF's 16 KiB granule), and every MMIO
//! window starts on a 16 KiB boundary and is at least 16 KiB away from RAM, so no 16 KiB
//! host mapping of RAM can cover a device.

use crate::error::{HvError, Result};
use crate::memory::{GuestMemory, MAP_ALIGN, RegionSpec};

/// Start of RAM.
pub const RAM_BASE: u64 = 0x4000_0000;
/// Start of VGA memory (same as the PC: the renderer reads it here).
pub const VGA_RAM_BASE: u64 = crate::machine::layout::VGA_MEMORY_START;
/// Size of VGA memory (0xA0000-0xBFFFF).
pub const VGA_RAM_SIZE: u64 =
    crate::machine::layout::VGA_MEMORY_END - crate::machine::layout::VGA_MEMORY_START;
/// Preferred GICv3 distributor (GICD) base (QEMU virt); `hv_apple::GicLayout::default()`.
pub const GIC_DIST_BASE: u64 = 0x0800_0000;
/// GICv3 distributor size in the GIC architecture (64 KiB); a backend reports its own.
pub const GIC_DIST_SIZE: u64 = 0x1_0000;
/// Preferred GICv3 redistributor (GICR) base (QEMU virt); `hv_apple::GicLayout::default()`.
pub const GIC_REDIST_BASE: u64 = 0x080A_0000;
/// One vCPU's GICv3 redistributor in the architecture: RD_base and SGI_base frames.
pub const GIC_REDIST_SIZE_PER_CPU: u64 = 0x2_0000;
/// The space QEMU virt leaves for redistributors (0x080A_0000..0x0900_0000).
pub const GIC_REDIST_SPACE: u64 = PL011_BASE - GIC_REDIST_BASE;
/// PL011 UART base.
pub const PL011_BASE: u64 = 0x0900_0000;
/// PL011 register window (one 4 KiB page).
pub const PL011_SIZE: u64 = 0x1000;
/// ISA I/O window base: an access at `ISA_WINDOW_BASE + p` is port `p`.
pub const ISA_WINDOW_BASE: u64 = 0x0B00_0000;
/// ISA I/O window size: the whole 16-bit port space.
pub const ISA_WINDOW_SIZE: u64 = 0x1_0000;

/// Smallest RAM size the board accepts (room for an image, its DTB and a stack).
pub const MIN_MEMORY_MIB: u64 = 8;
/// Largest RAM size the board accepts: RAM stays below 4 GiB, inside any IPA size.
pub const MAX_MEMORY_MIB: u64 = 3 * 1024;

/// GIC interrupt numbers the board's devices use. SPI `n` is GIC INTID `32 + n`.
pub mod irq {
    /// First shared peripheral interrupt's INTID.
    pub const SPI_BASE_INTID: u32 = 32;
    /// PL011: SPI 1, as on QEMU virt.
    pub const PL011_SPI: u32 = 1;
    /// i8042 keyboard port: SPI 10 (virt leaves SPIs 10-15 unused).
    pub const KEYBOARD_SPI: u32 = 10;
    /// i8042 aux (mouse) port: SPI 11.
    pub const MOUSE_SPI: u32 = 11;
    /// Number of SPIs the board drives lines for (lines are tracked in a bitmask).
    pub const SPI_COUNT: u32 = 32;
    /// EL1 virtual timer PPI (INTID 27 = PPI 11).
    pub const VTIMER_PPI: u32 = 11;
    /// EL1 physical (non-secure) timer PPI (INTID 30).
    pub const PTIMER_NS_PPI: u32 = 14;
    /// Secure physical timer PPI (INTID 29).
    pub const PTIMER_S_PPI: u32 = 13;
    /// EL2 (hypervisor) timer PPI (INTID 26).
    pub const HTIMER_PPI: u32 = 10;
}

// The ISA window sits in the hole QEMU virt leaves between virtio-mmio (0x0A00_0000,
// 32 transports of 0x200 bytes) and the platform bus (from 0x0C00_0000).
const _: () = assert!(ISA_WINDOW_BASE >= 0x0A00_4000);
const _: () = assert!(ISA_WINDOW_BASE + ISA_WINDOW_SIZE <= 0x0C00_0000);

/// Where a GICv3 sits, as the interrupt controller really is: the backend that created it
/// reports these (HVF: `hv_gic_get_distributor_size`, `hv_gic_get_redistributor_size`,
/// `hv_gic_get_redistributor_region_size`), and the device tree and the map checks use
/// them, so the guest is told exactly what exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GicRegions {
    /// GICD base.
    pub dist_base: u64,
    /// GICD size.
    pub dist_size: u64,
    /// GICR base (the first vCPU's redistributor).
    pub redist_base: u64,
    /// Bytes of redistributors the device tree describes (the board's vCPUs).
    pub redist_size: u64,
    /// Bytes the GIC claims for redistributors (all the vCPUs it supports); kept free of
    /// other devices.
    pub redist_reserved: u64,
}

impl GicRegions {
    /// The architectural sizes at QEMU virt's addresses, for `vcpus` vCPUs.
    pub fn qemu_virt(vcpus: u32) -> Self {
        let redist = GIC_REDIST_SIZE_PER_CPU * u64::from(vcpus.max(1));
        Self {
            dist_base: GIC_DIST_BASE,
            dist_size: GIC_DIST_SIZE,
            redist_base: GIC_REDIST_BASE,
            redist_size: redist,
            redist_reserved: redist,
        }
    }

    /// The two MMIO windows the GIC occupies (redistributors at their reserved size).
    pub fn windows(&self) -> [MmioWindow; 2] {
        [
            MmioWindow {
                name: "GICv3 distributor",
                base: self.dist_base,
                size: self.dist_size,
            },
            MmioWindow {
                name: "GICv3 redistributors",
                base: self.redist_base,
                size: self.redist_reserved.max(self.redist_size),
            },
        ]
    }
}

/// One entry of the board's MMIO map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmioWindow {
    /// What answers there.
    pub name: &'static str,
    /// Guest-physical base.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

impl MmioWindow {
    /// True if `gpa..gpa+len` lies inside the window.
    pub fn contains(&self, gpa: u64, len: u64) -> bool {
        gpa >= self.base
            && gpa
                .checked_add(len)
                .is_some_and(|end| end <= self.base + self.size)
    }
}

/// The device windows (everything the backend leaves unmapped): the GIC's, served
/// in-kernel, when there is one, then the board's own.
pub fn mmio_windows(gic: Option<&GicRegions>) -> Vec<MmioWindow> {
    let mut windows: Vec<MmioWindow> = gic.map(|g| g.windows().to_vec()).unwrap_or_default();
    windows.extend(board_windows());
    windows
}

/// The windows the board's own devices answer.
pub fn board_windows() -> [MmioWindow; 2] {
    [
        MmioWindow {
            name: "PL011",
            base: PL011_BASE,
            size: PL011_SIZE,
        },
        MmioWindow {
            name: "ISA I/O window",
            base: ISA_WINDOW_BASE,
            size: ISA_WINDOW_SIZE,
        },
    ]
}

/// RAM size in bytes for `mib`, checked against the board's limits.
pub fn ram_size(mib: u64) -> Result<u64> {
    if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&mib) {
        return Err(HvError::InvalidArgument(format!(
            "memory size {mib} MiB is out of range for the arm64 board; use \
             {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} MiB"
        )));
    }
    Ok(mib << 20)
}

/// The RAM regions of a board with `mib` MiB of main memory.
pub fn memory_regions(mib: u64) -> Result<[RegionSpec; 2]> {
    Ok([
        RegionSpec {
            gpa: VGA_RAM_BASE,
            size: VGA_RAM_SIZE,
            read_only: false,
        },
        RegionSpec {
            gpa: RAM_BASE,
            size: ram_size(mib)?,
            read_only: false,
        },
    ])
}

/// Guest memory for the board: VGA memory and main RAM.
pub fn arm64_memory(mib: u64) -> Result<GuestMemory> {
    GuestMemory::new(&memory_regions(mib)?)
}

/// Rounds `v` up to a multiple of [`MAP_ALIGN`] (saturating).
fn align_up_granule(v: u64) -> u64 {
    v.checked_next_multiple_of(MAP_ALIGN).unwrap_or(u64::MAX)
}

/// Checks the map's invariants: RAM 16 KiB aligned, windows 16 KiB aligned, nothing
/// overlapping even after rounding to the 16 KiB granule. Used by tests and at launch,
/// so a future edit that breaks the map fails loudly instead of corrupting a guest.
pub fn check_map(regions: &[RegionSpec], windows: &[MmioWindow]) -> Result<()> {
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for r in regions {
        if r.gpa % MAP_ALIGN != 0 || r.size % MAP_ALIGN != 0 {
            return Err(HvError::Memory(format!(
                "RAM {:#x}+{:#x} is not {MAP_ALIGN:#x}-aligned",
                r.gpa, r.size
            )));
        }
        spans.push((
            r.gpa,
            r.gpa.saturating_add(r.size),
            format!("RAM at {:#x}", r.gpa),
        ));
    }
    for w in windows {
        if w.base % MAP_ALIGN != 0 {
            return Err(HvError::Memory(format!(
                "{} at {:#x} is not {MAP_ALIGN:#x}-aligned",
                w.name, w.base
            )));
        }
        spans.push((
            w.base,
            align_up_granule(w.base.saturating_add(w.size)),
            w.name.to_string(),
        ));
    }
    spans.sort_by_key(|s| s.0);
    for pair in spans.windows(2) {
        if pair[0].1 > pair[1].0 {
            return Err(HvError::Memory(format!(
                "{} overlaps {}",
                pair[0].2, pair[1].2
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_aligned_and_disjoint() {
        for mib in [MIN_MEMORY_MIB, 64, 512, MAX_MEMORY_MIB] {
            let regions = memory_regions(mib).expect("valid size");
            check_map(&regions, &mmio_windows(Some(&GicRegions::qemu_virt(1))))
                .expect("consistent map");
            check_map(&regions, &mmio_windows(None)).expect("consistent map");
            assert_eq!(regions[1].gpa, RAM_BASE);
            assert_eq!(regions[1].size, mib << 20);
            assert!(
                regions[1].gpa + regions[1].size <= 1 << 32,
                "RAM below 4 GiB"
            );
        }
    }

    #[test]
    fn vga_memory_is_where_the_renderer_reads() {
        let regions = memory_regions(64).expect("valid");
        let vga = regions[0];
        assert_eq!(vga.gpa, crate::devices::vga::GRAPHICS_BASE);
        assert_eq!(vga.gpa + vga.size, 0xC_0000);
        assert!(vga.gpa <= crate::devices::vga::COLOUR_TEXT_BASE);
        assert!(vga.gpa <= crate::devices::vga::MONO_TEXT_BASE);
        let mem = arm64_memory(16).expect("memory");
        assert!(mem.contains(crate::devices::vga::COLOUR_TEXT_BASE, 80 * 25 * 2));
        assert!(mem.contains(RAM_BASE, 16 << 20));
        assert!(!mem.contains(PL011_BASE, 4));
        assert!(!mem.contains(ISA_WINDOW_BASE, 1));
    }

    #[test]
    fn windows_match_qemu_virt_and_avoid_its_devices() {
        let w = mmio_windows(Some(&GicRegions::qemu_virt(1)));
        assert_eq!(
            (w[0].base, w[1].base, w[2].base),
            (0x0800_0000, 0x080A_0000, 0x0900_0000)
        );
        // The redistributor region grows with vCPUs but stays clear of the PL011.
        assert!(GIC_REDIST_BASE + GicRegions::qemu_virt(8).windows()[1].size <= PL011_BASE);
        assert_eq!(
            GIC_REDIST_SPACE, 0xF6_0000,
            "QEMU virt's 123 redistributors"
        );
        assert_eq!(mmio_windows(None).len(), 2);
    }

    #[test]
    fn a_gic_that_reserves_too_much_is_caught() {
        let ram = memory_regions(64).expect("valid");
        let big = GicRegions {
            redist_reserved: GIC_REDIST_SPACE + 0x2_0000,
            ..GicRegions::qemu_virt(1)
        };
        let err = check_map(&ram, &mmio_windows(Some(&big))).expect_err("overlaps the PL011");
        assert!(err.to_string().contains("PL011"), "{err}");
        let exact = GicRegions {
            redist_reserved: GIC_REDIST_SPACE,
            ..GicRegions::qemu_virt(1)
        };
        check_map(&ram, &mmio_windows(Some(&exact))).expect("fits exactly");
    }

    #[test]
    fn bad_sizes_and_overlaps_are_refused() {
        assert!(memory_regions(0).is_err());
        assert!(memory_regions(MIN_MEMORY_MIB - 1).is_err());
        assert!(memory_regions(MAX_MEMORY_MIB + 1).is_err());
        let ram = memory_regions(64).expect("valid");
        let clash = MmioWindow {
            name: "clash",
            base: RAM_BASE + 0x4000,
            size: 0x1000,
        };
        assert!(check_map(&ram, &[clash]).is_err());
        let wide = MmioWindow {
            name: "wide",
            base: PL011_BASE - 0x4000,
            size: 0x4001,
        };
        let err = check_map(&ram, &[board_windows()[0], wide]).expect_err("same granule");
        assert!(err.to_string().contains("overlaps"), "{err}");
        let unaligned = MmioWindow {
            name: "odd",
            base: 0x0B00_1000,
            size: 0x100,
        };
        assert!(check_map(&ram, &[unaligned]).is_err());
    }

    #[test]
    fn window_contains_is_overflow_safe() {
        let w = board_windows()[1];
        assert!(w.contains(ISA_WINDOW_BASE + 0x64, 1));
        assert!(w.contains(ISA_WINDOW_BASE + 0xFFFC, 4));
        assert!(!w.contains(ISA_WINDOW_BASE + 0xFFFE, 4));
        assert!(!w.contains(u64::MAX, 8));
        assert!(!w.contains(ISA_WINDOW_BASE - 1, 1));
    }
}
