//! [`HvfVcpu`]: one vCPU, bound to the thread that created it.

use std::sync::Arc;
use std::time::Duration;

use hv_core::arch::arm64::exception::EntryFeatures;
use hv_core::arch::arm64::sysreg::{TrappedSysRegs, debug_pairs};
use hv_core::arch::arm64::vtimer::{
    self, GuestCounter, TimerSnapshot, Vtimer, VtimerSync, WfiWait,
};
use hv_core::arch::arm64::{Arm64Reg, Arm64SysReg};
use hv_core::{GuestFailure, HvError, IoHandler, Kicker, Result, Vcpu, VcpuArm64, VcpuExit};

use super::ffi;
use super::vm::VmShared;
use crate::abi::{ExitRecord, HvReturn, HvVcpuId, exit_reason, interrupt, sys_reg};
use crate::error::{BACKEND, check};
use crate::exit::{ExceptionExit, GuestRegs, Outcome, handle_exception};
use crate::kick::{HvfKicker, KickState, Resampler};
use crate::regs::{hv_reg, hv_sys_reg};

/// MPIDR_EL1 bit 31 is RES1.
const MPIDR_RES1: u64 = 1 << 31;

/// How long a run may last while the no-GIC IRQ line carries the virtual timer, whose
/// acknowledgement does not exit (see [`Resampler`]).
const VTIMER_RESAMPLE: Duration = Duration::from_micros(200);

/// HVF's clock: the guest counter is `mach_absolute_time() - offset`.
fn host_time() -> u64 {
    // SAFETY: no arguments, no side effects.
    unsafe { ffi::mach_absolute_time() }
}

/// The counter frequency (24 MHz on M1-M3; read, never assumed). `mach_absolute_time`
/// ticks at this rate on Apple Silicon (its timebase is 1/1).
fn host_counter_frequency() -> u64 {
    let value: u64;
    // SAFETY: reads a read-only, EL0-accessible register; no memory or stack is touched.
    unsafe { std::arch::asm!("mrs {}, cntfrq_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// The `hv_vcpus_exit` call kickers make.
fn exit_vcpu(id: HvVcpuId) -> HvReturn {
    let mut id = id;
    // SAFETY: one valid id; KickState only calls this while the vCPU exists.
    unsafe { ffi::hv_vcpus_exit(&mut id, 1) }
}

/// A Hypervisor.framework vCPU. Not `Send`: HVF requires every call except
/// `hv_vcpus_exit` on the creating thread (the raw exit pointer makes that automatic).
#[derive(Debug)]
pub struct HvfVcpu {
    id: HvVcpuId,
    /// HVF's exit record for this vCPU, valid until `hv_vcpu_destroy`.
    exit: *const ExitRecord,
    vm: Arc<VmShared>,
    kick: Arc<KickState>,
    /// Started the first time the no-GIC line carries the vtimer.
    resampler: Option<Resampler>,
    /// Level of the guest's IRQ input as the VMM's devices drive it (no-GIC mode).
    irq_line: bool,
    vtimer: Vtimer,
    mpidr: u64,
    counter: GuestCounter,
    cntfrq: u64,
    trapped: TrappedSysRegs,
    debug_pairs: (usize, usize),
    features: EntryFeatures,
}

impl HvfVcpu {
    /// Creates vCPU `index` on the calling thread.
    pub(crate) fn new(vm: Arc<VmShared>, index: u32) -> Result<Self> {
        let mut id: HvVcpuId = 0;
        let mut exit: *mut ExitRecord = std::ptr::null_mut();
        // SAFETY: valid out-pointers; a null config selects the defaults. The VM exists
        // (we hold its Arc) and, with a GIC, was created before this vCPU.
        check("hv_vcpu_create", unsafe {
            ffi::hv_vcpu_create(&mut id, &mut exit, std::ptr::null_mut())
        })?;
        let mut vcpu = Self {
            id,
            exit,
            vm,
            kick: KickState::new(id, exit_vcpu),
            resampler: None,
            irq_line: false,
            vtimer: Vtimer::new(),
            // Aff0 = index, Aff1 = index >> 8: GIC affinity routing relies on it.
            mpidr: MPIDR_RES1 | u64::from(index & 0xff) | (u64::from((index >> 8) & 0xff) << 8),
            counter: GuestCounter::starting_at(host_time()),
            cntfrq: host_counter_frequency(),
            trapped: TrappedSysRegs::new(1, 1),
            debug_pairs: (1, 1),
            features: EntryFeatures::default(),
        };
        // From here Drop destroys the vCPU if anything fails.
        if exit.is_null() {
            return Err(HvError::Unavailable(
                "hv_vcpu_create returned no exit record".into(),
            ));
        }
        vcpu.set_sys_reg(Arm64SysReg::MPIDR_EL1, vcpu.mpidr)?;
        // The guest counter starts at zero, as on a freshly reset board.
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_vtimer_offset", unsafe {
            ffi::hv_vcpu_set_vtimer_offset(id, vcpu.counter.offset())
        })?;
        // Debug exceptions (brk, breakpoints, steps, watchpoints) exit to us: a guest
        // without vectors then fails with a message instead of faulting on a vector
        // address that is not RAM; one with vectors gets them back (exit.rs).
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_trap_debug_exceptions", unsafe {
            ffi::hv_vcpu_set_trap_debug_exceptions(id, true)
        })?;
        vcpu.debug_pairs = debug_pairs(vcpu.raw_sys_reg(sys_reg::ID_AA64DFR0_EL1)?);
        vcpu.trapped = TrappedSysRegs::new(vcpu.debug_pairs.0, vcpu.debug_pairs.1);
        vcpu.features = EntryFeatures::from_id_regs(
            vcpu.raw_sys_reg(sys_reg::ID_AA64MMFR1_EL1)?,
            vcpu.raw_sys_reg(sys_reg::ID_AA64MMFR2_EL1)?,
            vcpu.raw_sys_reg(sys_reg::ID_AA64PFR1_EL1)?,
        );
        Ok(vcpu)
    }

    fn uses_gic(&self) -> bool {
        self.vm.gic.is_some()
    }

    fn raw_sys_reg(&self, reg: u16) -> Result<u64> {
        let mut value = 0;
        // SAFETY: our vCPU, on its owning thread; valid out-pointer.
        check("hv_vcpu_get_sys_reg", unsafe {
            ffi::hv_vcpu_get_sys_reg(self.id, reg, &mut value)
        })?;
        Ok(value)
    }

    /// The exit record after `hv_vcpu_run`.
    fn read_exit(&self) -> ExitRecord {
        // SAFETY: `exit` is the record hv_vcpu_create gave us, valid until
        // hv_vcpu_destroy (in Drop), written only by hv_vcpu_run on this thread, and laid
        // out as ExitRecord (pinned in abi.rs). Every field is a plain integer, so any
        // value the framework writes is a valid ExitRecord.
        unsafe { self.exit.read() }
    }

    /// The no-GIC IRQ level for the next entry: the devices' line OR the vtimer.
    fn irq_level(&self) -> bool {
        self.irq_line || self.vtimer.irq_asserted()
    }

    /// Before every entry: HVF clears the pending IRQ after each run (hv_vcpu.h), so the
    /// level is re-asserted each time, as `HV_INTERRUPT_TYPE_IRQ` (0, hv_vcpu_types.h).
    /// While the vtimer is part of it, the run is bounded so its level is re-sampled.
    fn prepare_entry(&mut self) -> Result<()> {
        if self.uses_gic() {
            return Ok(());
        }
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_pending_interrupt", unsafe {
            ffi::hv_vcpu_set_pending_interrupt(self.id, interrupt::IRQ, self.irq_level())
        })?;
        if self.vtimer.irq_asserted() {
            if self.resampler.is_none() {
                self.resampler = Some(Resampler::spawn(self.kick.clone()).map_err(|e| {
                    HvError::Unavailable(format!("cannot start the HVF resample thread: {e}"))
                })?);
            }
            if let Some(r) = &mut self.resampler {
                r.arm(VTIMER_RESAMPLE);
            }
        }
        Ok(())
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
                ffi::hv_vcpu_set_vtimer_mask(self.id, false)
            })?;
        }
        Ok(())
    }

    /// WFI: decide between re-entering, sleeping until the timer, or reporting Halt.
    fn wait_for_interrupt(&mut self) -> Result<Option<VcpuExit>> {
        match &self.vm.gic {
            // WFI completes when an interrupt is pending, masked or not.
            None if self.irq_level() => return Ok(None),
            None => {}
            Some(gic) => {
                if let Some(intid) = gic.interrupt_signalled(self.id)? {
                    log::trace!("WFI with INTID {intid} pending in the GIC: re-entering");
                    return Ok(None);
                }
            }
        }
        let snapshot = TimerSnapshot {
            ctl: self.sys_reg(Arm64SysReg::CNTV_CTL_EL0)?,
            cval: self.sys_reg(Arm64SysReg::CNTV_CVAL_EL0)?,
            cntvct: self.counter.at(host_time()),
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
        // The resample thread only reaches the id through the kick state; retire first.
        self.kick.retire();
        self.resampler = None;
        // SAFETY: our vCPU, on its owning thread (Vcpu is !Send); nothing can request an
        // exit for the id any more.
        let ret = unsafe { ffi::hv_vcpu_destroy(self.id) };
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

    fn cpsr(&self) -> Result<u64> {
        self.reg(Arm64Reg::Cpsr)
    }

    fn set_cpsr(&mut self, value: u64) -> Result<()> {
        self.set_reg(Arm64Reg::Cpsr, value)
    }

    fn sys(&self, reg: Arm64SysReg) -> Result<u64> {
        self.sys_reg(reg)
    }

    fn set_sys(&mut self, reg: Arm64SysReg, value: u64) -> Result<()> {
        self.set_sys_reg(reg, value)
    }

    fn mpidr(&self) -> u64 {
        self.mpidr
    }

    fn guest_counter(&self) -> u64 {
        self.counter.at(host_time())
    }

    fn trapped_sysregs(&mut self) -> &mut TrappedSysRegs {
        &mut self.trapped
    }

    fn entry_features(&self) -> EntryFeatures {
        self.features
    }

    fn is_ram(&self, gpa: u64) -> bool {
        self.vm.is_ram(gpa, 4)
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
            self.prepare_entry()?;
            // SAFETY: our vCPU, on its owning thread; the exit record is read after.
            let ran = check("hv_vcpu_run", unsafe { ffi::hv_vcpu_run(self.id) });
            if let Some(r) = &mut self.resampler {
                r.disarm();
            }
            ran?;
            let exit = self.read_exit();
            let outcome = match exit.reason {
                exit_reason::CANCELED if self.kick.take_pending() => {
                    Outcome::Exit(VcpuExit::Kicked)
                }
                // hv_vcpus_exit without a kick: the resampler ending a run so the IRQ
                // level is re-sampled (or a stale one latched after its run ended).
                exit_reason::CANCELED => Outcome::Resume,
                exit_reason::VTIMER_ACTIVATED => {
                    // HVF already masked the timer; it stays masked until the guest acts.
                    self.vtimer.on_activated();
                    continue;
                }
                exit_reason::EXCEPTION => {
                    let e = exit.exception;
                    let exit = ExceptionExit {
                        syndrome: e.syndrome,
                        virtual_address: e.virtual_address,
                        physical_address: e.physical_address,
                    };
                    handle_exception(self, &exit, io)?
                }
                other => {
                    return Err(HvError::UnknownExit {
                        backend: BACKEND,
                        code: u64::from(other),
                        what: format!(
                            "hv_vcpu_run exit reason {other} ({}; syndrome {:#x}, IPA {:#x})",
                            exit_reason::name(other),
                            exit.exception.syndrome,
                            exit.exception.physical_address
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
    /// left it masked after a `VTIMER_ACTIVATED` exit the old guest never handled),
    /// forgets the timer's mask state, returns the emulated debug/OS-lock registers to
    /// their reset values and, with the GIC, resets this vCPU's CPU interface. The
    /// distributor and redistributors belong to the VM and are reset after this by
    /// `HvfVm::reset_gic` (the board's power-on order: timer off first, so its PPI cannot
    /// become pending again after the GIC reset).
    fn reset(&mut self) -> Result<()> {
        self.irq_line = false;
        self.vtimer = Vtimer::new();
        self.trapped = TrappedSysRegs::new(self.debug_pairs.0, self.debug_pairs.1);
        self.set_sys_reg(Arm64SysReg::CNTV_CTL_EL0, 0)?;
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_vtimer_mask", unsafe {
            ffi::hv_vcpu_set_vtimer_mask(self.id, false)
        })?;
        if let Some(gic) = &self.vm.gic {
            gic.reset_cpu_interface(self.id)?;
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
            ffi::hv_vcpu_get_reg(self.id, hv, &mut value)
        })?;
        Ok(value)
    }

    fn set_reg(&mut self, reg: Arm64Reg, value: u64) -> Result<()> {
        let hv = hv_reg(reg)
            .ok_or_else(|| HvError::InvalidArgument(format!("{reg:?} is not a register")))?;
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_reg", unsafe {
            ffi::hv_vcpu_set_reg(self.id, hv, value)
        })
    }

    fn sys_reg(&self, reg: Arm64SysReg) -> Result<u64> {
        self.raw_sys_reg(hv_sys_reg(reg))
    }

    fn set_sys_reg(&mut self, reg: Arm64SysReg, value: u64) -> Result<()> {
        // SAFETY: our vCPU, on its owning thread.
        check("hv_vcpu_set_sys_reg", unsafe {
            ffi::hv_vcpu_set_sys_reg(self.id, hv_sys_reg(reg), value)
        })
    }

    fn set_irq_line(&mut self, level: bool) -> Result<()> {
        if self.uses_gic() {
            return Err(HvError::InvalidArgument(
                "with the in-kernel GIC, raise SPIs through HvfVm::set_spi".into(),
            ));
        }
        // Applied by `prepare_entry` before the next hv_vcpu_run.
        self.irq_line = level;
        Ok(())
    }
}
