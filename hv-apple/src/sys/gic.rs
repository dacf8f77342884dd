//! The in-kernel GICv3's calls (macOS 15+), looked up at run time.
//!
//! The functions are found with `dlsym` instead of being linked: dyld refuses to start a
//! binary whose non-weak imports are missing, so a direct call would stop hv from running
//! at all on macOS 11-14 even without a GIC (Rust has no stable weak imports).
//!
//! Order (hv_gic.h `hv_gic_create`: "after a VM has started, but before you create
//! vCPUs"): `hv_vm_create`, then [`Gic::create`], then the vCPUs, each with MPIDR_EL1 set.

use std::ffi::{CStr, c_void};

use hv_core::arch::arm64::gic::{CpuInterfaceView, IrqBank};
use hv_core::machine::arm64::layout::GicRegions;
use hv_core::{HvError, Result};

use crate::abi::{HvReturn, HvVcpuId, gic_icc, gicd, gicr};
use crate::error::check;
use crate::gic::{GicLayout, GicParams, place, spi_in_range};

// Register-id parameters are declared uint32_t. Where the header's enum type is narrower
// (uint16_t for distributor and ICC ids), the values fit in 16 bits and the Apple arm64 ABI
// has the caller zero-extend small arguments to 32 bits, so the callee receives the same
// register contents either way.
type ConfigCreate = unsafe extern "C" fn() -> *mut c_void;
type ConfigSetBase = unsafe extern "C" fn(*mut c_void, u64) -> HvReturn;
type GicCreate = unsafe extern "C" fn(*mut c_void) -> HvReturn;
type GicReset = unsafe extern "C" fn() -> HvReturn;
type GetSize = unsafe extern "C" fn(*mut usize) -> HvReturn;
type SpiRange = unsafe extern "C" fn(*mut u32, *mut u32) -> HvReturn;
type SetSpi = unsafe extern "C" fn(u32, bool) -> HvReturn;
type GetDistReg = unsafe extern "C" fn(u32, *mut u64) -> HvReturn;
type GetVcpuReg = unsafe extern "C" fn(HvVcpuId, u32, *mut u64) -> HvReturn;
type SetVcpuReg = unsafe extern "C" fn(HvVcpuId, u32, u64) -> HvReturn;

/// Looks up `name` in the loaded images (Hypervisor.framework is linked).
fn lookup(name: &CStr) -> Result<*mut c_void> {
    // SAFETY: RTLD_DEFAULT with a NUL-terminated name only searches loaded images.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if sym.is_null() {
        return Err(HvError::Unavailable(format!(
            "the in-kernel GICv3 needs macOS 15 or newer ({} is missing from \
             Hypervisor.framework)",
            name.to_string_lossy()
        )));
    }
    Ok(sym)
}

/// Resolves `$name` as a function of type `$ty`.
macro_rules! resolve {
    ($ty:ty, $name:literal) => {{
        let sym = lookup($name)?;
        // SAFETY: `sym` is the non-null address of the Hypervisor.framework function of
        // this name, whose C prototype (hv_gic.h, hv_gic_config.h, hv_gic_parameters.h)
        // `$ty` transcribes with the header's integer types.
        unsafe { std::mem::transmute::<*mut c_void, $ty>(sym) }
    }};
}

/// Calls a `size_t *` getter.
fn get_size(op: &'static str, f: GetSize) -> Result<u64> {
    let mut v = 0usize;
    // SAFETY: a valid out-pointer to a size_t.
    check(op, unsafe { f(&mut v) })?;
    Ok(v as u64)
}

/// A created in-kernel GIC.
#[derive(Debug)]
pub struct Gic {
    regions: GicRegions,
    spi_base: u32,
    spi_count: u32,
    reset: GicReset,
    set_spi: SetSpi,
    get_distributor_reg: GetDistReg,
    get_redistributor_reg: GetVcpuReg,
    get_icc_reg: GetVcpuReg,
    set_icc_reg: SetVcpuReg,
}

impl Gic {
    /// Creates the GIC for this process's VM at `layout` (checked against what the
    /// framework reports). Call after `hv_vm_create`, before any vCPU exists.
    pub fn create(layout: &GicLayout, vcpus: u32) -> Result<Self> {
        let config_create = resolve!(ConfigCreate, c"hv_gic_config_create");
        let set_dist = resolve!(ConfigSetBase, c"hv_gic_config_set_distributor_base");
        let set_redist = resolve!(ConfigSetBase, c"hv_gic_config_set_redistributor_base");
        let gic_create = resolve!(GicCreate, c"hv_gic_create");
        let spi_range = resolve!(SpiRange, c"hv_gic_get_spi_interrupt_range");
        let (mut spi_base, mut spi_count) = (0u32, 0u32);
        // SAFETY: two valid out-pointers to uint32_t.
        check("hv_gic_get_spi_interrupt_range", unsafe {
            spi_range(&mut spi_base, &mut spi_count)
        })?;
        let params = GicParams {
            distributor_size: get_size(
                "hv_gic_get_distributor_size",
                resolve!(GetSize, c"hv_gic_get_distributor_size"),
            )?,
            distributor_alignment: get_size(
                "hv_gic_get_distributor_base_alignment",
                resolve!(GetSize, c"hv_gic_get_distributor_base_alignment"),
            )?,
            redistributor_size: get_size(
                "hv_gic_get_redistributor_size",
                resolve!(GetSize, c"hv_gic_get_redistributor_size"),
            )?,
            redistributor_region_size: get_size(
                "hv_gic_get_redistributor_region_size",
                resolve!(GetSize, c"hv_gic_get_redistributor_region_size"),
            )?,
            redistributor_alignment: get_size(
                "hv_gic_get_redistributor_base_alignment",
                resolve!(GetSize, c"hv_gic_get_redistributor_base_alignment"),
            )?,
            spi_base,
            spi_count,
        };
        log::debug!("HVF GICv3 parameters: {params:?}");
        let regions = place(layout, &params, vcpus)?;

        // SAFETY: plain constructor; returns an os_object we release below.
        let config = unsafe { config_create() };
        if config.is_null() {
            return Err(HvError::Unavailable(
                "hv_gic_config_create returned no configuration".into(),
            ));
        }
        // SAFETY: `config` is a live GIC configuration object until os_release below.
        let created = unsafe {
            check(
                "hv_gic_config_set_distributor_base",
                set_dist(config, regions.dist_base),
            )
            .and_then(|()| {
                check(
                    "hv_gic_config_set_redistributor_base",
                    set_redist(config, regions.redist_base),
                )
            })
            .and_then(|()| check("hv_gic_create", gic_create(config)))
        };
        // SAFETY: we own the configuration's one reference; hv_gic_create has taken what
        // it needs.
        unsafe { super::ffi::os_release(config) };
        created?;
        log::info!(
            "HVF GICv3: GICD {:#x}+{:#x}, GICR {:#x}+{:#x} (region {:#x}), SPIs {spi_base}..{}",
            regions.dist_base,
            regions.dist_size,
            regions.redist_base,
            regions.redist_size,
            regions.redist_reserved,
            spi_base.saturating_add(spi_count)
        );
        Ok(Self {
            regions,
            spi_base,
            spi_count,
            reset: resolve!(GicReset, c"hv_gic_reset"),
            set_spi: resolve!(SetSpi, c"hv_gic_set_spi"),
            get_distributor_reg: resolve!(GetDistReg, c"hv_gic_get_distributor_reg"),
            get_redistributor_reg: resolve!(GetVcpuReg, c"hv_gic_get_redistributor_reg"),
            get_icc_reg: resolve!(GetVcpuReg, c"hv_gic_get_icc_reg"),
            set_icc_reg: resolve!(SetVcpuReg, c"hv_gic_set_icc_reg"),
        })
    }

    /// Where the GIC is.
    pub fn regions(&self) -> GicRegions {
        self.regions
    }

    /// Drives shared peripheral interrupt `intid` (level-sensitive).
    pub fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        if !spi_in_range(intid, self.spi_base, self.spi_count) {
            return Err(HvError::InvalidArgument(format!(
                "INTID {intid} is not an SPI of this GIC ({}..{})",
                self.spi_base,
                self.spi_base.saturating_add(self.spi_count)
            )));
        }
        // SAFETY: the GIC exists (created in `create`); any in-range INTID is valid.
        check("hv_gic_set_spi", unsafe { (self.set_spi)(intid, level) })
    }

    /// `hv_gic_reset`: distributor, redistributors and the device's internal state.
    pub fn reset(&self) -> Result<()> {
        // SAFETY: the GIC exists; the machine calls this between runs.
        check("hv_gic_reset", unsafe { (self.reset)() })
    }

    fn dist(&self, reg: u32) -> Result<u32> {
        let mut v = 0;
        // SAFETY: `reg` is a distributor register offset; valid out-pointer.
        check("hv_gic_get_distributor_reg", unsafe {
            (self.get_distributor_reg)(reg, &mut v)
        })?;
        Ok(v as u32)
    }

    fn redist(&self, vcpu: HvVcpuId, reg: u32) -> Result<u32> {
        let mut v = 0;
        // SAFETY: on `vcpu`'s owning thread (the caller is its HvfVcpu); valid out-pointer.
        check("hv_gic_get_redistributor_reg", unsafe {
            (self.get_redistributor_reg)(vcpu, reg, &mut v)
        })?;
        Ok(v as u32)
    }

    fn icc(&self, vcpu: HvVcpuId, reg: u16) -> Result<u64> {
        let mut v = 0;
        // SAFETY: on `vcpu`'s owning thread; valid out-pointer.
        check("hv_gic_get_icc_reg", unsafe {
            (self.get_icc_reg)(vcpu, u32::from(reg), &mut v)
        })?;
        Ok(v)
    }

    fn set_icc(&self, vcpu: HvVcpuId, reg: u16, value: u64) -> Result<()> {
        // SAFETY: on `vcpu`'s owning thread.
        check("hv_gic_set_icc_reg", unsafe {
            (self.set_icc_reg)(vcpu, u32::from(reg), value)
        })
    }

    /// Whether the CPU interface of `vcpu` would signal an interrupt now, so a WFI must
    /// not sleep. Reads only the pending registers when nothing is pending. The SPI banks
    /// read are those the board drives (INTIDs 32-63).
    pub fn interrupt_signalled(&self, vcpu: HvVcpuId) -> Result<Option<u32>> {
        const SPI_BANK: u32 = 1; // INTIDs 32-63: the board's SPIs
        let private_pending = self.redist(vcpu, gicr::ISPENDR0)?;
        let shared_pending = self.dist(gicd::ISPENDR0 + 4 * SPI_BANK)?;
        if CpuInterfaceView::nothing_pending(private_pending, &[shared_pending]) {
            return Ok(None);
        }
        let mut private = IrqBank {
            first_intid: 0,
            pending: private_pending,
            enabled: self.redist(vcpu, gicr::ISENABLER0)?,
            active: self.redist(vcpu, gicr::ISACTIVER0)?,
            group1: self.redist(vcpu, gicr::IGROUPR0)?,
            priority: [0; 32],
        };
        let mut words = [0u32; 8];
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.redist(vcpu, gicr::IPRIORITYR0 + 4 * i as u32)?;
        }
        private.set_priorities(words);
        let mut shared = IrqBank {
            first_intid: 32 * SPI_BANK,
            pending: shared_pending,
            enabled: self.dist(gicd::ISENABLER0 + 4 * SPI_BANK)?,
            active: self.dist(gicd::ISACTIVER0 + 4 * SPI_BANK)?,
            group1: self.dist(gicd::IGROUPR0 + 4 * SPI_BANK)?,
            priority: [0; 32],
        };
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.dist(gicd::IPRIORITYR0 + 32 * SPI_BANK + 4 * i as u32)?;
        }
        shared.set_priorities(words);
        let view = CpuInterfaceView {
            gicd_ctlr: self.dist(gicd::CTLR)?,
            group0_enabled: self.icc(vcpu, gic_icc::IGRPEN0_EL1)? & 1 != 0,
            group1_enabled: self.icc(vcpu, gic_icc::IGRPEN1_EL1)? & 1 != 0,
            pmr: (self.icc(vcpu, gic_icc::PMR_EL1)? & 0xff) as u8,
            running_priority: (self.icc(vcpu, gic_icc::RPR_EL1)? & 0xff) as u8,
            private,
            shared: vec![shared],
        };
        Ok(view.signalled())
    }

    /// Returns `vcpu`'s CPU interface to its reset state: priority mask, binary points,
    /// active priorities and group enables zero, and CTLR's writable EOImode/CBPR/PMHE
    /// bits clear (the read-only ID fields are written back unchanged). QEMU resets the
    /// same registers on CPU reset (`hvf_gicv3_icc_reset`, hw/intc/arm_gicv3_hvf.c).
    pub fn reset_cpu_interface(&self, vcpu: HvVcpuId) -> Result<()> {
        for reg in [
            gic_icc::IGRPEN0_EL1,
            gic_icc::IGRPEN1_EL1,
            gic_icc::PMR_EL1,
            gic_icc::BPR0_EL1,
            gic_icc::BPR1_EL1,
            gic_icc::AP0R0_EL1,
            gic_icc::AP1R0_EL1,
        ] {
            self.set_icc(vcpu, reg, 0)?;
        }
        // ICC_CTLR_EL1: CBPR bit 0, EOImode bit 1, PMHE bit 6.
        let ctlr = self.icc(vcpu, gic_icc::CTLR_EL1)?;
        self.set_icc(vcpu, gic_icc::CTLR_EL1, ctlr & !0b100_0011)
    }
}
