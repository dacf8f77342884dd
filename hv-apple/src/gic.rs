//! The in-kernel GICv3 (`hv_gic_*`, macOS 15+): where it goes, from what the framework
//! reports. The calls themselves are in `sys/gic.rs`.
//!
//! Hypervisor.framework tells the VMM the GIC's geometry instead of fixing it
//! (hv_gic_parameters.h): the distributor's size and base alignment, one
//! redistributor's size, the redistributor region's total size ("two 64 kilobyte frames
//! per vCPU ... contiguously placed", for every vCPU the VM could have) and its base
//! alignment, and the SPI range. [`place`] checks a requested [`GicLayout`] against those
//! numbers and the board's map and produces the [`GicRegions`] the device tree
//! describes, so the guest is told what really exists.

use hv_core::machine::arm64::layout::{
    self, GIC_DIST_BASE, GIC_REDIST_BASE, GicRegions, MIN_MEMORY_MIB,
    irq::{SPI_BASE_INTID, SPI_COUNT},
};
use hv_core::{HvError, Result};

/// Where the guest should see the distributor and redistributors. The defaults follow
/// QEMU's `virt` board, so device trees written for it fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GicLayout {
    /// GICD base (aligned to `hv_gic_get_distributor_base_alignment`).
    pub distributor_base: u64,
    /// GICR base (aligned to `hv_gic_get_redistributor_base_alignment`).
    pub redistributor_base: u64,
}

impl Default for GicLayout {
    fn default() -> Self {
        Self {
            distributor_base: GIC_DIST_BASE,
            redistributor_base: GIC_REDIST_BASE,
        }
    }
}

/// What `hv_gic_get_*` report (hv_gic_parameters.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GicParams {
    /// `hv_gic_get_distributor_size`.
    pub distributor_size: u64,
    /// `hv_gic_get_distributor_base_alignment`.
    pub distributor_alignment: u64,
    /// `hv_gic_get_redistributor_size` (one vCPU's).
    pub redistributor_size: u64,
    /// `hv_gic_get_redistributor_region_size` (all vCPUs').
    pub redistributor_region_size: u64,
    /// `hv_gic_get_redistributor_base_alignment`.
    pub redistributor_alignment: u64,
    /// `hv_gic_get_spi_interrupt_range`: first SPI INTID.
    pub spi_base: u32,
    /// `hv_gic_get_spi_interrupt_range`: number of SPIs.
    pub spi_count: u32,
}

fn aligned(value: u64, alignment: u64) -> bool {
    alignment == 0 || value % alignment == 0
}

/// Where the redistributors go when the framework's region is too big for QEMU virt's
/// slot below the PL011 (more than 123 vCPUs' worth): just above the largest RAM the board
/// allows (RAM ends at 4 GiB at most), well inside the default 36-bit IPA space.
pub const HIGH_REDIST_BASE: u64 = 0x1_0000_0000;

/// Checks `layout` against the framework's `params` for `vcpus` vCPUs and the board's map,
/// and returns the regions to describe. A default layout whose redistributor region would
/// run into the PL011 has it moved to [`HIGH_REDIST_BASE`]; an explicit one is refused.
pub fn place(layout: &GicLayout, params: &GicParams, vcpus: u32) -> Result<GicRegions> {
    let mut layout = *layout;
    if layout.redistributor_base == GIC_REDIST_BASE
        && GIC_REDIST_BASE.saturating_add(params.redistributor_region_size) > layout::PL011_BASE
    {
        log::info!(
            "HVF GICv3: the {:#x}-byte redistributor region does not fit below the PL011; \
             placing it at {HIGH_REDIST_BASE:#x}",
            params.redistributor_region_size
        );
        layout.redistributor_base = HIGH_REDIST_BASE;
    }
    place_exactly(&layout, params, vcpus)
}

fn place_exactly(layout: &GicLayout, params: &GicParams, vcpus: u32) -> Result<GicRegions> {
    let bad =
        |why: String| HvError::Unavailable(format!("the in-kernel GICv3 does not fit: {why}"));
    if params.distributor_size == 0 || params.redistributor_size == 0 {
        return Err(bad(
            "Hypervisor.framework reported a zero-sized region".into()
        ));
    }
    if !params.distributor_alignment.is_power_of_two()
        || !params.redistributor_alignment.is_power_of_two()
    {
        return Err(bad(format!(
            "alignments {:#x}/{:#x} are not powers of two",
            params.distributor_alignment, params.redistributor_alignment
        )));
    }
    if !aligned(layout.distributor_base, params.distributor_alignment) {
        return Err(bad(format!(
            "distributor base {:#x} is not {:#x}-aligned",
            layout.distributor_base, params.distributor_alignment
        )));
    }
    if !aligned(layout.redistributor_base, params.redistributor_alignment) {
        return Err(bad(format!(
            "redistributor base {:#x} is not {:#x}-aligned",
            layout.redistributor_base, params.redistributor_alignment
        )));
    }
    let ours = params
        .redistributor_size
        .checked_mul(u64::from(vcpus.max(1)))
        .ok_or_else(|| bad("redistributor size overflows".into()))?;
    if ours > params.redistributor_region_size {
        return Err(bad(format!(
            "{vcpus} redistributors of {:#x} bytes exceed the {:#x}-byte region",
            params.redistributor_size, params.redistributor_region_size
        )));
    }
    let first_board_spi = SPI_BASE_INTID;
    let last_board_spi = SPI_BASE_INTID + SPI_COUNT; // exclusive
    let spi_end = u64::from(params.spi_base) + u64::from(params.spi_count);
    if params.spi_base > first_board_spi || spi_end < u64::from(last_board_spi) {
        return Err(bad(format!(
            "it offers SPIs {}..{spi_end}; the board wires {first_board_spi}..{last_board_spi}",
            params.spi_base
        )));
    }
    let regions = GicRegions {
        dist_base: layout.distributor_base,
        dist_size: params.distributor_size,
        redist_base: layout.redistributor_base,
        redist_size: ours,
        redist_reserved: params.redistributor_region_size,
    };
    // RAM of the smallest board starts at the same place as every board's.
    let ram = layout::memory_regions(MIN_MEMORY_MIB)?;
    layout::check_map(&ram, &layout::mmio_windows(Some(&regions)))
        .map_err(|e| bad(e.to_string()))?;
    Ok(regions)
}

/// True when `intid` is one of the GIC's SPIs.
pub fn spi_in_range(intid: u32, base: u32, count: u32) -> bool {
    intid >= base && intid - base < count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plausible M-series numbers (not measured here: no Mac).
    fn params() -> GicParams {
        GicParams {
            distributor_size: 0x1_0000,
            distributor_alignment: 0x1_0000,
            redistributor_size: 0x2_0000,
            redistributor_region_size: 0x2_0000 * 64,
            redistributor_alignment: 0x1_0000,
            spi_base: 32,
            spi_count: 988,
        }
    }

    #[test]
    fn the_default_layout_takes_the_reported_sizes() {
        let r = place(&GicLayout::default(), &params(), 1).expect("fits");
        assert_eq!(
            r,
            GicRegions {
                dist_base: 0x0800_0000,
                dist_size: 0x1_0000,
                redist_base: 0x080A_0000,
                redist_size: 0x2_0000,
                redist_reserved: 0x80_0000,
            }
        );
    }

    #[test]
    fn what_does_not_fit_is_refused_with_a_reason() {
        let cases: [(&str, GicParams, &str); 4] = [
            (
                "misaligned distributor",
                GicParams {
                    distributor_alignment: 0x1000_0000,
                    ..params()
                },
                "distributor base",
            ),
            (
                "region smaller than one redistributor",
                GicParams {
                    redistributor_region_size: 0x1_0000,
                    ..params()
                },
                "exceed",
            ),
            (
                "too few SPIs",
                GicParams {
                    spi_count: 16,
                    ..params()
                },
                "SPIs",
            ),
            (
                "zero size",
                GicParams {
                    distributor_size: 0,
                    ..params()
                },
                "zero",
            ),
        ];
        for (what, p, needle) in cases {
            let err = place(&GicLayout::default(), &p, 1).expect_err(what);
            assert!(err.to_string().contains(needle), "{what}: {err}");
        }
        let odd = GicLayout {
            redistributor_base: 0x080A_4000,
            ..GicLayout::default()
        };
        assert!(place(&odd, &params(), 1).is_err());
        // An explicit base whose region runs into the PL011 is refused, not moved.
        let explicit = GicLayout {
            redistributor_base: 0x0810_0000,
            ..GicLayout::default()
        };
        let big = GicParams {
            redistributor_region_size: 0x100_0000,
            ..params()
        };
        let err = place(&explicit, &big, 1).expect_err("overlap");
        assert!(err.to_string().contains("overlaps"), "{err}");
    }

    #[test]
    fn a_big_region_moves_the_default_redistributors_above_ram() {
        let big = GicParams {
            redistributor_region_size: 0x100_0000,
            ..params()
        };
        let r = place(&GicLayout::default(), &big, 1).expect("moved");
        assert_eq!(
            (r.dist_base, r.redist_base),
            (0x0800_0000, HIGH_REDIST_BASE)
        );
        assert_eq!((r.redist_size, r.redist_reserved), (0x2_0000, 0x100_0000));
        let top = layout::RAM_BASE + (layout::MAX_MEMORY_MIB << 20);
        assert!(r.redist_base >= top, "clear of the largest RAM");
    }

    #[test]
    fn spi_range_check() {
        assert!(spi_in_range(32, 32, 988));
        assert!(spi_in_range(1019, 32, 988));
        assert!(!spi_in_range(1020, 32, 988));
        assert!(!spi_in_range(31, 32, 988));
        assert!(!spi_in_range(u32::MAX, u32::MAX, 0));
    }
}
