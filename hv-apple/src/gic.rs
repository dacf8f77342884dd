//! The in-kernel GICv3 (`hv_gic_*`, macOS 15+), optional.
//!
//! The functions are looked up with `dlsym` instead of being linked: dyld refuses to
//! start a binary whose non-weak imports are missing, so a direct call would stop hv from
//! running at all on macOS 11-14 even without `--gic`. Without the GIC, interrupts use
//! `hv_vcpu_set_pending_interrupt` and the vtimer mask protocol instead.
//!
//! Order (Apple `hv_gic_create`: "after a VM has started, but before you create vCPUs"):
//! `hv_vm_create`, then [`Gic::create`], then the vCPUs, each with MPIDR_EL1 set.

use std::ffi::{CStr, c_void};

use applevisor_sys::hv_return_t;
use hv_core::{HvError, Result};

use crate::error::check;

/// Where the guest sees the distributor and redistributors. The defaults follow QEMU's
/// `virt` board, so device trees written for it fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GicLayout {
    /// GICD base (64 KiB aligned; Apple reports the exact alignment).
    pub distributor_base: u64,
    /// GICR base (the region for all vCPUs' redistributors).
    pub redistributor_base: u64,
}

impl Default for GicLayout {
    fn default() -> Self {
        Self {
            distributor_base: 0x0800_0000,
            redistributor_base: 0x080A_0000,
        }
    }
}

type ConfigCreate = unsafe extern "C" fn() -> *mut c_void;
type ConfigSetBase = unsafe extern "C" fn(*mut c_void, u64) -> hv_return_t;
type GicCreate = unsafe extern "C" fn(*mut c_void) -> hv_return_t;
type SetSpi = unsafe extern "C" fn(u32, bool) -> hv_return_t;
type SpiRange = unsafe extern "C" fn(*mut u32, *mut u32) -> hv_return_t;

/// Looks up `name` in the loaded images (Hypervisor.framework is linked).
fn lookup(name: &CStr) -> Result<*mut c_void> {
    // SAFETY: RTLD_DEFAULT with a NUL-terminated name only searches loaded images.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if sym.is_null() {
        return Err(HvError::Unavailable(format!(
            "the in-kernel GICv3 needs macOS 15 or newer ({} is missing from \
             Hypervisor.framework); run without the GIC option",
            name.to_string_lossy()
        )));
    }
    Ok(sym)
}

/// Drops our reference to an os_object (`hv_gic_config_t`).
fn release(object: *mut c_void) {
    #[cfg(target_os = "macos")]
    // SAFETY: `object` came from hv_gic_config_create and we own its one reference;
    // hv_gic_create has taken what it needs.
    unsafe {
        applevisor_sys::os_release(object)
    };
    // Elsewhere no object can exist: `lookup` fails before one is created.
    #[cfg(not(target_os = "macos"))]
    let _ = object;
}

/// A created in-kernel GIC and its SPI range.
#[derive(Debug)]
pub struct Gic {
    set_spi: SetSpi,
    spi_base: u32,
    spi_count: u32,
}

impl Gic {
    /// Creates the GIC for the VM of this process. Call after `hv_vm_create`, before any
    /// vCPU exists.
    pub fn create(layout: &GicLayout) -> Result<Self> {
        // SAFETY: (every transmute below) each symbol is the documented C function of that
        // name in Hypervisor.framework's hv_gic.h, and the fn types above copy its
        // prototype from applevisor-sys.
        let (config_create, set_dist, set_redist, gic_create, set_spi, spi_range) = unsafe {
            (
                std::mem::transmute::<*mut c_void, ConfigCreate>(lookup(c"hv_gic_config_create")?),
                std::mem::transmute::<*mut c_void, ConfigSetBase>(lookup(
                    c"hv_gic_config_set_distributor_base",
                )?),
                std::mem::transmute::<*mut c_void, ConfigSetBase>(lookup(
                    c"hv_gic_config_set_redistributor_base",
                )?),
                std::mem::transmute::<*mut c_void, GicCreate>(lookup(c"hv_gic_create")?),
                std::mem::transmute::<*mut c_void, SetSpi>(lookup(c"hv_gic_set_spi")?),
                std::mem::transmute::<*mut c_void, SpiRange>(lookup(
                    c"hv_gic_get_spi_interrupt_range",
                )?),
            )
        };
        // SAFETY: plain constructor; returns an os_object we release below.
        let config = unsafe { config_create() };
        if config.is_null() {
            return Err(HvError::Unavailable(
                "hv_gic_config_create returned no configuration".into(),
            ));
        }
        // SAFETY: `config` is a live GIC configuration object until os_release below.
        let result = unsafe {
            check(
                "hv_gic_config_set_distributor_base",
                set_dist(config, layout.distributor_base),
            )
            .and_then(|()| {
                check(
                    "hv_gic_config_set_redistributor_base",
                    set_redist(config, layout.redistributor_base),
                )
            })
            .and_then(|()| check("hv_gic_create", gic_create(config)))
        };
        release(config);
        result?;
        let (mut spi_base, mut spi_count) = (0u32, 0u32);
        // SAFETY: two valid out-pointers to u32.
        check("hv_gic_get_spi_interrupt_range", unsafe {
            spi_range(&mut spi_base, &mut spi_count)
        })?;
        log::info!(
            "HVF GICv3: GICD {:#x}, GICR {:#x}, SPIs {spi_base}..{}",
            layout.distributor_base,
            layout.redistributor_base,
            spi_base.saturating_add(spi_count)
        );
        Ok(Self {
            set_spi,
            spi_base,
            spi_count,
        })
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
}

fn spi_in_range(intid: u32, base: u32, count: u32) -> bool {
    intid >= base && intid - base < count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spi_range_check() {
        assert!(spi_in_range(32, 32, 988));
        assert!(spi_in_range(1019, 32, 988));
        assert!(!spi_in_range(1020, 32, 988));
        assert!(!spi_in_range(31, 32, 988));
        assert!(!spi_in_range(u32::MAX, u32::MAX, 0));
    }

    #[test]
    fn missing_gic_symbols_give_a_clear_message() {
        // Not on this host (Linux) or not before macOS 15.
        if cfg!(target_os = "macos") {
            return;
        }
        let err = Gic::create(&GicLayout::default()).expect_err("no Hypervisor.framework");
        assert!(err.to_string().contains("macOS 15"), "{err}");
    }
}
