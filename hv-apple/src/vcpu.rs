//! [`HvfVcpu`]: one vCPU, bound to the thread that created it.

use std::sync::Arc;

use applevisor_sys::{hv_exit_reason_t, hv_interrupt_type_t, hv_vcpu_exit_t, hv_vcpu_t};
use hv_core::arch::arm64::vtimer::{self, TimerSnapshot, Vtimer, VtimerSync, WfiWait};
use hv_core::arch::arm64::{Arm64Reg, Arm64SysReg};
use hv_core::{GuestFailure, HvError, IoHandler, Kicker, Result, Vcpu, VcpuArm64, VcpuExit};

use crate::error::{BACKEND, check};
use crate::exit::{GuestRegs, Outcome, handle_exception};
use crate::kick::{HvfKicker, KickState};
use crate::regs::{hv_reg, hv_sys_reg};
use crate::vm::VmShared;

/// MPIDR_EL1 bit 31 is RES1.
const MPIDR_RES1: u64 = 1 << 31;

/// The host's virtual counter, which HVF's guest counter follows (minus the vtimer
/// offset). Readable at EL0 on macOS; `mach_absolute_time` reads the same register.
#[cfg(target_arch = "aarch64")]
fn host_counter() -> u64 {
    let value: u64;
    // SAFETY: reads a counter register; no memory or stack is touched.
    unsafe { std::arch::asm!("mrs {}, cntvct_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// The counter frequency (24 MHz on M1-M3; read, never assumed).
#[cfg(target_arch = "aarch64")]
fn host_counter_frequency() -> u64 {
    let value: u64;
    // SAFETY: reads a read-only ID-like register; no memory or stack is touched.
    unsafe { std::arch::asm!("mrs {}, cntfrq_el0", out(reg) value, options(nomem, nostack)) };
    value
}

// HVF's arm64 API exists only on Apple Silicon; these keep the crate building (and its
// pure logic testable) elsewhere. A zero frequency makes WFI re-enter instead of sleeping.
#[cfg(not(target_arch = "aarch64"))]
fn host_counter() -> u64 {
    0
}

#[cfg(not(target_arch = "aarch64"))]
fn host_counter_frequency() -> u64 {
    0
}

/// The `hv_vcpus_exit` call kickers make.
fn exit_vcpu(id: hv_vcpu_t) -> applevisor_sys::hv_return_t {
    // SAFETY: one valid id; KickState only calls this while the vCPU exists.
    unsafe { applevisor_sys::hv_vcpus_exit(&id, 1) }
}

/// A Hypervisor.framework vCPU. Not `Send`: HVF requires every call except
/// `hv_vcpus_exit` on the creating thread (the raw exit pointer makes that automatic).
#[derive(Debug)]
pub struct HvfVcpu {
    id: hv_vcpu_t,
    /// HVF's exit record for this vCPU, valid until `hv_vcpu_destroy`.
    exit: *const hv_vcpu_exit_t,
    vm: Arc<VmShared>,
    kick: Arc<KickState>,
    /// Level of the guest's IRQ input as the VMM's devices drive it (no-GIC mode).
    irq_line: bool,
    vtimer: Vtimer,
    mpidr: u64,
    /// Host counter value that the guest sees as zero.
    vtimer_offset: u64,
    cntfrq: u64,
}

impl HvfVcpu {
    /// Creates vCPU `index` on the calling thread.
    pub(crate) fn new(vm: Arc<VmShared>, index: u32) -> Result<Self> {
        let mut id: hv_vcpu_t = 0;
        let mut exit: *const hv_vcpu_exit_t = std::ptr::null();
        // SAFETY: valid out-pointers; a null config selects the defaults. The VM exists
        // (we hold its Arc) and, with a GIC, was created before this vCPU.
        check("hv_vcpu_create", unsafe {
            applevisor_sys::hv_vcpu_create(&mut id, &mut exit, std::ptr::null_mut())
        })?;
        let mut vcpu = Self {
            id,
            exit,
            vm,
            kick: KickState::new(id, exit_vcpu),
            irq_line: false,
            vtimer: Vtimer::new(),
            // Aff0 = index, Aff1 = index >> 8: GIC affinity routing relies on it.
            mpidr: MPIDR_RES1 | u64::from(index & 0xff) | (u64::from((index >> 8) & 0xff) << 8),
            vtimer_offset: host_counter(),
            cntfrq: host_counter_frequency(),
        };
        if exit.is_null() {
            return Err(HvError::Unavailable(
                "hv_vcpu_create returned no exit record".into(),
            ));
        }
        vcpu.set_sys_reg(Arm64SysReg::MPIDR_EL1, vcpu.mpidr)?;
        // The guest counter starts near zero, as on a freshly reset board.
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_vtimer_offset", unsafe {
            applevisor_sys::hv_vcpu_set_vtimer_offset(id, vcpu.vtimer_offset)
        })?;
        Ok(vcpu)
    }

    fn uses_gic(&self) -> bool {
        self.vm.gic.is_some()
    }

    /// The exit record after `hv_vcpu_run`, read without trusting the reason to be one
    /// of the four values applevisor-sys's Rust enum can hold.
    fn read_exit(&self) -> (u32, applevisor_sys::hv_vcpu_exit_exception_t) {
        // SAFETY: `exit` is the record hv_vcpu_create gave us, valid until
        // hv_vcpu_destroy (in Drop), and written only by hv_vcpu_run on this thread. The
        // reason is a C enum (32 bits) at offset 0, read as a plain integer.
        unsafe {
            let reason = self.exit.cast::<u32>().read();
            let exception = (&raw const (*self.exit).exception).read();
            (reason, exception)
        }
    }

    /// Before every entry: HVF clears the pending IRQ after each run (hv_vcpu.h), so the
    /// level is re-asserted each time.
    fn assert_irq(&self) -> Result<()> {
        if self.uses_gic() {
            return Ok(());
        }
        let level = self.irq_line || self.vtimer.irq_asserted();
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_pending_interrupt", unsafe {
            applevisor_sys::hv_vcpu_set_pending_interrupt(self.id, hv_interrupt_type_t::IRQ, level)
        })
    }

    /// After an exit: lower the timer IRQ and unmask once the guest handled it.
    fn sync_vtimer(&mut self) -> Result<()> {
        if !self.vtimer.needs_sync() {
            return Ok(());
        }
        let ctl = self.sys_reg(Arm64SysReg::CNTV_CTL_EL0)?;
        if self.vtimer.sync(ctl) == VtimerSync::Unmask {
            // SAFETY: our vCPU, on its owning thread.
            check("hv_vcpu_set_vtimer_mask", unsafe {
                applevisor_sys::hv_vcpu_set_vtimer_mask(self.id, false)
            })?;
        }
        Ok(())
    }

    /// WFI: decide between re-entering, sleeping until the timer, or reporting Halt.
    fn wait_for_interrupt(&mut self) -> Result<Option<VcpuExit>> {
        if !self.uses_gic() && (self.irq_line || self.vtimer.irq_asserted()) {
            return Ok(None);
        }
        let snapshot = TimerSnapshot {
            ctl: self.sys_reg(Arm64SysReg::CNTV_CTL_EL0)?,
            cval: self.sys_reg(Arm64SysReg::CNTV_CVAL_EL0)?,
            cntvct: host_counter().wrapping_sub(self.vtimer_offset),
            cntfrq: self.cntfrq,
        };
        Ok(match vtimer::wfi_wait(&snapshot) {
            WfiWait::NoSleep => None,
            WfiWait::Sleep(d) if self.kick.sleep(d) => {
                self.kick.take_pending();
                Some(VcpuExit::Kicked)
            }
            WfiWait::Sleep(_) => None,
            // Only a device interrupt can wake the guest: the machine waits for one.
            WfiWait::Indefinitely => Some(VcpuExit::Halt),
        })
    }
}

impl Drop for HvfVcpu {
    fn drop(&mut self) {
        self.kick.retire();
        // SAFETY: our vCPU, on its owning thread (Vcpu is !Send); no kicker can reach the
        // id any more.
        let ret = unsafe { applevisor_sys::hv_vcpu_destroy(self.id) };
        if let Err(e) = check("hv_vcpu_destroy", ret) {
            log::error!("{e}");
        }
    }
}

impl GuestRegs for HvfVcpu {
    fn x(&self, n: u8) -> Result<u64> {
        self.reg(Arm64Reg::X(n))
    }

    fn set_x(&mut self, n: u8, value: u64) -> Result<()> {
        self.set_reg(Arm64Reg::X(n), value)
    }

    fn pc(&self) -> Result<u64> {
        self.reg(Arm64Reg::Pc)
    }

    fn set_pc(&mut self, value: u64) -> Result<()> {
        self.set_reg(Arm64Reg::Pc, value)
    }

    fn mpidr(&self) -> u64 {
        self.mpidr
    }

    fn guest_failure(&self, what: String, explanation: String) -> HvError {
        let pc = self.reg(Arm64Reg::Pc).unwrap_or(0);
        let el = self
            .reg(Arm64Reg::Cpsr)
            .ok()
            .map(|cpsr| ((cpsr >> 2) & 0b11) as u8);
        // PC is a guest-physical address only while the stage-1 MMU is off.
        let mmu_off = self
            .sys_reg(Arm64SysReg::SCTLR_EL1)
            .is_ok_and(|sctlr| sctlr & 1 == 0);
        let mut bytes = vec![0u8; 4];
        if !(mmu_off && self.vm.read_guest(pc, &mut bytes)) {
            bytes.clear();
        }
        HvError::Guest(Box::new(GuestFailure {
            what,
            pc,
            privilege: el,
            bytes,
            explanation,
        }))
    }
}

impl Vcpu for HvfVcpu {
    fn run(&mut self, io: &mut dyn IoHandler) -> Result<VcpuExit> {
        loop {
            if self.kick.take_pending() {
                return Ok(VcpuExit::Kicked);
            }
            self.assert_irq()?;
            // SAFETY: our vCPU, on its owning thread; the exit record is read after.
            check("hv_vcpu_run", unsafe {
                applevisor_sys::hv_vcpu_run(self.id)
            })?;
            let (reason, exception) = self.read_exit();
            let outcome = match reason {
                r if r == hv_exit_reason_t::CANCELED as u32 => {
                    // hv_vcpus_exit: either our kicker or a kick latched before this run.
                    self.kick.take_pending();
                    Outcome::Exit(VcpuExit::Kicked)
                }
                r if r == hv_exit_reason_t::VTIMER_ACTIVATED as u32 => {
                    // HVF already masked the timer; it stays masked until the guest acts.
                    self.vtimer.on_activated();
                    continue;
                }
                r if r == hv_exit_reason_t::EXCEPTION as u32 => {
                    handle_exception(self, exception.syndrome, exception.physical_address, io)?
                }
                other => {
                    return Err(HvError::UnknownExit {
                        backend: BACKEND,
                        code: u64::from(other),
                        what: format!(
                            "hv_vcpu_run exit reason {other} (syndrome {:#x}, IPA {:#x})",
                            exception.syndrome, exception.physical_address
                        ),
                    });
                }
            };
            self.sync_vtimer()?;
            match outcome {
                Outcome::Exit(exit) => return Ok(exit),
                Outcome::Resume => {}
                Outcome::WaitForInterrupt => {
                    if let Some(exit) = self.wait_for_interrupt()? {
                        return Ok(exit);
                    }
                }
            }
        }
    }

    fn kicker(&self) -> Arc<dyn Kicker> {
        Arc::new(HvfKicker(self.kick.clone()))
    }

    /// Lowers the IRQ input, turns the virtual timer off and unmasks it (HVF may have
    /// left it masked after a `VTIMER_ACTIVATED` exit the old guest never handled), and
    /// forgets the timer's mask state.
    fn reset(&mut self) -> Result<()> {
        self.irq_line = false;
        self.vtimer = Vtimer::new();
        self.set_sys_reg(Arm64SysReg::CNTV_CTL_EL0, 0)?;
        if !self.uses_gic() {
            // SAFETY: our vCPU, on its owning thread.
            check("hv_vcpu_set_vtimer_mask", unsafe {
                applevisor_sys::hv_vcpu_set_vtimer_mask(self.id, false)
            })?;
        }
        Ok(())
    }
}

impl VcpuArm64 for HvfVcpu {
    fn reg(&self, reg: Arm64Reg) -> Result<u64> {
        let hv = hv_reg(reg)
            .ok_or_else(|| HvError::InvalidArgument(format!("{reg:?} is not a register")))?;
        let mut value = 0;
        // SAFETY: our vCPU, on its owning thread; valid out-pointer.
        check("hv_vcpu_get_reg", unsafe {
            applevisor_sys::hv_vcpu_get_reg(self.id, hv, &mut value)
        })?;
        Ok(value)
    }

    fn set_reg(&mut self, reg: Arm64Reg, value: u64) -> Result<()> {
        let hv = hv_reg(reg)
            .ok_or_else(|| HvError::InvalidArgument(format!("{reg:?} is not a register")))?;
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_reg", unsafe {
            applevisor_sys::hv_vcpu_set_reg(self.id, hv, value)
        })
    }

    fn sys_reg(&self, reg: Arm64SysReg) -> Result<u64> {
        let mut value = 0;
        // SAFETY: our vCPU, on its owning thread; valid out-pointer.
        check("hv_vcpu_get_sys_reg", unsafe {
            applevisor_sys::hv_vcpu_get_sys_reg(self.id, hv_sys_reg(reg), &mut value)
        })?;
        Ok(value)
    }

    fn set_sys_reg(&mut self, reg: Arm64SysReg, value: u64) -> Result<()> {
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_sys_reg", unsafe {
            applevisor_sys::hv_vcpu_set_sys_reg(self.id, hv_sys_reg(reg), value)
        })
    }

    fn set_irq_line(&mut self, level: bool) -> Result<()> {
        if self.uses_gic() {
            return Err(HvError::InvalidArgument(
                "with the in-kernel GIC, raise SPIs through HvfVm::set_spi".into(),
            ));
        }
        // Applied by `assert_irq` before the next hv_vcpu_run.
        self.irq_line = level;
        Ok(())
    }
}
