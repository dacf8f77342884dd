//! How device interrupt lines reach an arm64 vCPU.
//!
//! Devices drive [`IrqLine`](crate::irq::IrqLine)s numbered by GIC SPI (see
//! [`layout::irq`](super::layout::irq)). The [`SpiRouter`] is their [`IrqSink`] and
//! works in one of two modes:
//!
//! * **GIC** (HVF's in-kernel GICv3, macOS 15+): every level change is forwarded at once
//!   to the backend's "set SPI level" hook ([`SpiSink`]), which HVF implements with
//!   `hv_gic_set_spi`. The GIC does masking, priorities and delivery.
//! * **CPU line** (no GIC): the vCPU's single IRQ input is the OR of all device lines.
//!   The loop reads [`SpiRouter::any_asserted`] before each entry and passes it to
//!   [`VcpuArm64::set_irq_line`](crate::VcpuArm64::set_irq_line). A guest finds the
//!   source by reading its devices' status registers (PL011 MIS, i8042 status).
//!
//! Both modes keep the line levels and a count of rising edges, which the loop uses to
//! decide when a halted (WFI) vCPU should run again.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::error::Result;
use crate::irq::IrqSink;

use super::layout::irq::{SPI_BASE_INTID, SPI_COUNT};

/// A backend's hooks into its in-kernel GIC: drive a shared peripheral interrupt, and
/// reset the controller with the machine.
///
/// `intid` is the GIC interrupt ID (SPI `n` is INTID `32 + n`), matching
/// `hv_apple::HvfVm::set_spi`. Closures implement it (with a reset that does nothing), so
/// a test can pass `move |intid, level| ...`.
pub trait SpiSink: Send + Sync {
    /// Sets the level of interrupt `intid`.
    fn set_spi(&self, intid: u32, level: bool) -> Result<()>;

    /// Returns the distributor and redistributors to their reset state (HVF:
    /// `hv_gic_reset`). Called on every power-on, after the vCPU's own reset, so a timer
    /// the old guest left armed cannot make its PPI pending again afterwards.
    fn reset(&self) -> Result<()> {
        Ok(())
    }
}

impl<F> SpiSink for F
where
    F: Fn(u32, bool) -> Result<()> + Send + Sync,
{
    fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        self(intid, level)
    }
}

/// The interrupt lines of the board, routed to a GIC or to the vCPU's IRQ input.
pub struct SpiRouter {
    gic: Option<Arc<dyn SpiSink>>,
    /// Bit `n` = SPI `n` is asserted.
    levels: AtomicU32,
    rising_edges: AtomicU64,
    /// Failed GIC calls so far (logged sparingly).
    failures: AtomicU64,
}

impl fmt::Debug for SpiRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpiRouter")
            .field("gic", &self.gic.is_some())
            .field(
                "levels",
                &format_args!("{:#x}", self.levels.load(Ordering::Relaxed)),
            )
            .finish_non_exhaustive()
    }
}

impl SpiRouter {
    /// Routes lines to `gic` if given, else to the vCPU's IRQ line (read by the loop).
    pub fn new(gic: Option<Arc<dyn SpiSink>>) -> Arc<Self> {
        Arc::new(Self {
            gic,
            levels: AtomicU32::new(0),
            rising_edges: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// True when an in-kernel GIC delivers the interrupts.
    pub fn has_gic(&self) -> bool {
        self.gic.is_some()
    }

    /// The OR of all lines: the level of the vCPU's IRQ input in CPU-line mode.
    pub fn any_asserted(&self) -> bool {
        self.levels.load(Ordering::Acquire) != 0
    }

    /// Whether SPI `spi` is asserted.
    pub fn is_asserted(&self, spi: u32) -> bool {
        spi < SPI_COUNT && self.levels.load(Ordering::Acquire) & (1 << spi) != 0
    }

    /// Rising edges on any line since power-on.
    pub fn rising_edges(&self) -> u64 {
        self.rising_edges.load(Ordering::Acquire)
    }

    /// Puts every line low (machine reset), telling the GIC about lines that were high.
    pub fn reset(&self) {
        let was = self.levels.swap(0, Ordering::AcqRel);
        for spi in (0..SPI_COUNT).filter(|n| was & (1 << n) != 0) {
            self.forward(spi, false);
        }
    }

    /// Resets the interrupt controller itself (nothing to do without a GIC). Call after
    /// [`reset`](Self::reset) and after the vCPU's reset.
    pub fn reset_controller(&self) -> Result<()> {
        match &self.gic {
            Some(gic) => gic.reset(),
            None => Ok(()),
        }
    }

    fn forward(&self, spi: u32, level: bool) {
        let Some(gic) = &self.gic else { return };
        if let Err(e) = gic.set_spi(SPI_BASE_INTID + spi, level) {
            let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= 8 || n.is_power_of_two() {
                log::warn!("GIC: cannot set SPI {spi} to {level}: {e} ({n} failures)");
            }
        }
    }
}

impl IrqSink for SpiRouter {
    fn set_level(&self, line: u32, level: bool) {
        if line >= SPI_COUNT {
            log::warn!("interrupt line {line} is not wired on the arm64 board");
            return;
        }
        let bit = 1u32 << line;
        let was = if level {
            self.levels.fetch_or(bit, Ordering::AcqRel)
        } else {
            self.levels.fetch_and(!bit, Ordering::AcqRel)
        };
        let changed = (was & bit != 0) != level;
        if changed && level {
            self.rising_edges.fetch_add(1, Ordering::AcqRel);
        }
        if changed {
            self.forward(line, level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::IrqLine;
    use std::sync::Mutex;

    #[test]
    fn cpu_line_mode_ors_the_lines() {
        let router = SpiRouter::new(None);
        let uart = IrqLine::new(router.clone(), 1);
        let kbd = IrqLine::new(router.clone(), 10);
        assert!(!router.any_asserted() && !router.has_gic());
        uart.raise();
        kbd.raise();
        assert!(router.any_asserted() && router.is_asserted(1) && router.is_asserted(10));
        uart.lower();
        assert!(router.any_asserted());
        kbd.lower();
        assert!(!router.any_asserted());
        assert_eq!(router.rising_edges(), 2);
        kbd.raise();
        kbd.raise();
        assert_eq!(router.rising_edges(), 3, "a held line is one edge");
        router.reset();
        assert!(!router.any_asserted());
    }

    #[test]
    fn gic_mode_forwards_changes_as_intids() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = calls.clone();
        let sink: Arc<dyn SpiSink> = Arc::new(move |intid: u32, level: bool| {
            c.lock().expect("calls").push((intid, level));
            Ok(())
        });
        let router = SpiRouter::new(Some(sink));
        let uart = IrqLine::new(router.clone(), 1);
        uart.raise();
        uart.raise();
        uart.lower();
        IrqLine::new(router.clone(), 11).raise();
        router.reset();
        assert_eq!(
            *calls.lock().expect("calls"),
            [(33, true), (33, false), (43, true), (43, false)]
        );
    }

    #[test]
    fn unwired_lines_and_gic_errors_are_survived() {
        let sink: Arc<dyn SpiSink> = Arc::new(|intid: u32, _level: bool| {
            Err(crate::HvError::InvalidArgument(format!("INTID {intid}")))
        });
        let router = SpiRouter::new(Some(sink));
        IrqLine::new(router.clone(), SPI_COUNT).raise();
        IrqLine::new(router.clone(), u32::MAX).raise();
        assert!(!router.any_asserted());
        IrqLine::new(router.clone(), 2).raise();
        assert!(
            router.is_asserted(2),
            "the level is kept even if the GIC refused"
        );
        assert!(!router.is_asserted(SPI_COUNT));
    }
}
