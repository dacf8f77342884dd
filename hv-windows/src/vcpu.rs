//! The vCPU: run loop, exit handling, registers and interrupt injection.

use std::marker::PhantomData;
use std::sync::Arc;

use hv_core::arch::x86::cpuid::{self, CpuidResult};
use hv_core::arch::x86::insn::explain_emulation_failure;
use hv_core::arch::x86::{Regs, Sregs};
use hv_core::{GuestFailure, HvError, IoHandler, Kicker, Result, Vcpu, VcpuExit, VcpuX86};
use windows_sys::Win32::System::Hypervisor::*;
use windows_sys::core::HRESULT;

use crate::decode::{AccessKind, Exit, InsnBytes, MemoryExit, VpState, decode, exit_reason_name};
use crate::defs::{arch, interrupt_state};
use crate::emulator::{CallbackContext, Emulator, EmulatorStatus, VpAccess};
use crate::hresult::{BACKEND, check};
use crate::inject::{self, EventState, WindowRequest};
use crate::io::{PortAccess, advance_rip};
use crate::kick::{CancelTarget, KickGate};
use crate::layout::{Aligned16, ExitContext, ZERO_VALUE};
use crate::partition::Partition;
use crate::regs::{self, GPR_NAMES, RegBatch, SREG_NAMES, from_u64, to_u64};

/// The registers [`Vcpu::reset`] clears, in one `WHvSetVirtualProcessorRegisters` batch:
/// the event queued for injection (PendingInterruption and the exception/ExtInt form,
/// PendingEvent), the `sti`/`mov ss` shadow and NMI masking (InterruptState), and the
/// interrupt-window request (DeliverabilityNotifications). VirtualBox's NEM writes
/// PendingInterruption, InterruptState and DeliverabilityNotifications in one batch with
/// the rest of the state (`nemHCWinCopyStateToHyperV`) and reads PendingEvent with
/// PendingInterruption (`nemHCWinCopyStateFromHyperV`); PendingEvent (then PendingEvent0)
/// is in the first published API, so every WHP knows all four names.
pub(crate) const RESET_EVENT_REGISTERS: [WHV_REGISTER_NAME; 4] = [
    WHvRegisterPendingInterruption,
    WHvRegisterInterruptState,
    WHvRegisterPendingEvent,
    WHvX64RegisterDeliverabilityNotifications,
];

/// A WHP virtual processor. Not `Send`: created, run and dropped on one thread.
#[derive(Debug)]
pub struct WhpVcpu {
    partition: Arc<Partition>,
    index: u32,
    emulator: Emulator,
    /// Filled by `WHvRunVirtualProcessor`; 16-byte aligned (notes/backends.md §1.3).
    exit: Box<ExitContext>,
    /// Interrupt state from the last exit, updated by our own writes.
    events: EventState,
    /// The interrupt-window request and what the register holds.
    window: WindowRequest,
    kick: Arc<KickGate>,
    _not_send: PhantomData<*const ()>,
}

/// Forces a [`WhpVcpu`] out of the guest from any thread.
#[derive(Debug)]
pub struct WhpKicker(Arc<KickGate>);

impl Kicker for WhpKicker {
    fn kick(&self) {
        self.0.kick();
    }
}

/// Register access for the emulator callbacks, forwarded to WHP.
struct VpRegisters<'a> {
    partition: &'a Partition,
    index: u32,
}

impl VpAccess for VpRegisters<'_> {
    fn get_registers(
        &self,
        names: &[WHV_REGISTER_NAME],
        values: &mut [WHV_REGISTER_VALUE],
    ) -> HRESULT {
        let count = names.len().min(values.len()) as u32;
        // SAFETY: both arrays hold at least `count` elements; the emulator allocates its
        // value buffers with the SDK's 16-byte alignment.
        unsafe {
            (self.partition.api.get_vp_registers)(
                self.partition.handle,
                self.index,
                names.as_ptr(),
                count,
                values.as_mut_ptr(),
            )
        }
    }

    fn set_registers(&self, names: &[WHV_REGISTER_NAME], values: &[WHV_REGISTER_VALUE]) -> HRESULT {
        let count = names.len().min(values.len()) as u32;
        // SAFETY: as in get_registers.
        unsafe {
            (self.partition.api.set_vp_registers)(
                self.partition.handle,
                self.index,
                names.as_ptr(),
                count,
                values.as_ptr(),
            )
        }
    }

    fn translate_gva(
        &self,
        gva: u64,
        flags: WHV_TRANSLATE_GVA_FLAGS,
    ) -> std::result::Result<(WHV_TRANSLATE_GVA_RESULT_CODE, u64), HRESULT> {
        let mut result = WHV_TRANSLATE_GVA_RESULT {
            ResultCode: 0,
            Reserved: 0,
        };
        let mut gpa = 0u64;
        // SAFETY: both out-pointers are valid locals.
        let hr = unsafe {
            (self.partition.api.translate_gva)(
                self.partition.handle,
                self.index,
                gva,
                flags,
                &mut result,
                &mut gpa,
            )
        };
        if crate::hresult::succeeded(hr) {
            Ok((result.ResultCode, gpa))
        } else {
            Err(hr)
        }
    }
}

/// A guest failure report from the exit state.
fn guest_failure(state: &VpState, what: String, bytes: &[u8], explanation: String) -> HvError {
    HvError::Guest(Box::new(GuestFailure {
        what,
        pc: state.rip,
        privilege: Some(state.cpl),
        bytes: bytes[..bytes.len().min(15)].to_vec(),
        explanation,
    }))
}

/// CPUID leaf 1 for the guest: WHP's answer with hv's policy ([`cpuid::adjust`]), and
/// OSXSAVE (ECX bit 27) equal to the guest's CR4.OSXSAVE, which is what the CPU reports
/// and what tells software that it may use XGETBV.
pub(crate) fn cpuid_result(leaf: u32, subleaf: u32, default: CpuidResult, cr4: u64) -> CpuidResult {
    let mut r = default;
    cpuid::adjust(leaf, subleaf, &mut r);
    if leaf == 1 {
        if cr4 & arch::CR4_OSXSAVE != 0 {
            r.ecx |= arch::CPUID1_ECX_OSXSAVE;
        } else {
            r.ecx &= !arch::CPUID1_ECX_OSXSAVE;
        }
    }
    r
}

impl WhpVcpu {
    pub(crate) fn create(partition: Arc<Partition>, index: u32) -> Result<Self> {
        let api = partition.api;
        // SAFETY: the partition is set up; flags must be 0.
        check("WHvCreateVirtualProcessor", unsafe {
            (api.create_virtual_processor)(partition.handle, index, 0)
        })?;
        let emulator = match Emulator::new(api) {
            Ok(e) => e,
            Err(e) => {
                // SAFETY: the VP was just created and nothing else refers to it.
                unsafe { (api.delete_virtual_processor)(partition.handle, index) };
                return Err(e);
            }
        };
        let kick = Arc::new(KickGate::new(CancelTarget {
            api,
            partition: partition.handle,
            vp: index,
        }));
        // SAFETY: WHV_RUN_VP_EXIT_CONTEXT is plain integers and unions of them; all-zero
        // is a valid value.
        let exit = Box::new(Aligned16(unsafe {
            std::mem::zeroed::<WHV_RUN_VP_EXIT_CONTEXT>()
        }));
        Ok(Self {
            partition,
            index,
            emulator,
            exit,
            events: EventState::default(),
            window: WindowRequest::default(),
            kick,
            _not_send: PhantomData,
        })
    }

    fn set(&self, names: &[WHV_REGISTER_NAME], values: &[crate::layout::RegValue]) -> Result<()> {
        self.partition.set_registers(self.index, names, values)
    }

    fn set_batch(&self, batch: &RegBatch) -> Result<()> {
        self.set(batch.names(), batch.values())
    }

    fn get_u64(&self, name: WHV_REGISTER_NAME) -> Result<u64> {
        let mut value = [ZERO_VALUE];
        self.partition
            .get_registers(self.index, &[name], &mut value)?;
        Ok(to_u64(&value[0]))
    }

    /// `WHvRegisterInterruptState` with the interrupt shadow cleared and NMI masking
    /// kept, for an instruction that retired after an exit that reported a shadow.
    fn interrupt_state_without_shadow(&self) -> Result<u64> {
        Ok(self.get_u64(WHvRegisterInterruptState)? & !interrupt_state::INTERRUPT_SHADOW)
    }

    /// Completes the intercepted instruction ourselves: writes `batch` (the results)
    /// together with RIP past the instruction, and undoes what the exit context says no
    /// longer holds once an instruction retires: RFLAGS.RF (the CPU clears it) and the
    /// `sti`/`mov ss` interrupt shadow (it covered this instruction only). WHP keeps the
    /// shadow the exit reported in WHvRegisterInterruptState, so it is cleared there too,
    /// as KVM's `skip_emulated_instruction` and VirtualBox's
    /// `nemR3WinAdvanceGuestRipAndClearRF` do; otherwise the guest would run one more
    /// instruction with interrupts blocked and an injected interrupt would wait for it.
    fn retire_instruction(&mut self, state: &VpState, mut batch: RegBatch) -> Result<()> {
        batch.push(
            WHvX64RegisterRip,
            advance_rip(state.rip, state.instruction_len, state.code_size()),
        );
        let rflags = state.rflags & !arch::RFLAGS_RF;
        if rflags != state.rflags {
            batch.push(WHvX64RegisterRflags, rflags);
        }
        if state.interrupt_shadow {
            batch.push(
                WHvRegisterInterruptState,
                self.interrupt_state_without_shadow()?,
            );
        }
        self.set_batch(&batch)?;
        self.events.rflags = rflags;
        self.events.interrupt_shadow = false;
        Ok(())
    }

    /// After the emulator completed an instruction (it wrote RIP and the results
    /// itself): the same shadow and RF clean-up as [`Self::retire_instruction`], reading
    /// RFLAGS back first since the emulated instruction may have changed it.
    fn after_emulation(&mut self, state: &VpState) -> Result<()> {
        let mut batch = RegBatch::new();
        if state.rflags & arch::RFLAGS_RF != 0 {
            let rflags = self.get_u64(WHvX64RegisterRflags)? & !arch::RFLAGS_RF;
            batch.push(WHvX64RegisterRflags, rflags);
            self.events.rflags = rflags;
        }
        if state.interrupt_shadow {
            batch.push(
                WHvRegisterInterruptState,
                self.interrupt_state_without_shadow()?,
            );
        }
        if !batch.names().is_empty() {
            self.set_batch(&batch)?;
        }
        self.events.interrupt_shadow = false;
        Ok(())
    }

    /// What an exit means. `None`: re-enter at once (the `Canceled` echo of a kick that
    /// was already reported).
    fn handle_exit(
        &mut self,
        state: VpState,
        exit: Exit,
        io: &mut dyn IoHandler,
    ) -> Result<Option<VcpuExit>> {
        let exit = match exit {
            Exit::Io { access, rax, bytes } => {
                // A zero length would re-execute the instruction forever; let the
                // emulator decode it instead.
                if access.string || state.instruction_len == 0 {
                    self.emulate_io(&state, &bytes, io)?
                } else {
                    self.complete_port_io(&state, access, rax, io)?
                }
            }
            Exit::IoMalformed { port, access_info } => {
                return Err(HvError::UnknownExit {
                    backend: BACKEND,
                    code: WHvRunVpExitReasonX64IoPortAccess as u64,
                    what: format!(
                        "I/O exit on port {port:#x} with invalid access info {access_info:#x}"
                    ),
                });
            }
            Exit::Memory(m) if m.kind == AccessKind::Reserved => {
                return Err(HvError::UnknownExit {
                    backend: BACKEND,
                    code: WHvRunVpExitReasonMemoryAccess as u64,
                    what: format!(
                        "memory exit at GPA {:#x} with the reserved access type 3",
                        m.gpa
                    ),
                });
            }
            Exit::Memory(m) => self.emulate_mmio(&state, &m, io)?,
            Exit::Halt => {
                // WHP reports the HLT exit with RIP already past the instruction (see
                // docs/backends.md): the `sti` shadow an `sti; hlt` reports is over.
                self.events.interrupt_shadow = false;
                VcpuExit::Halt
            }
            Exit::InterruptWindow => VcpuExit::InterruptWindow,
            Exit::Canceled => {
                if self.kick.take_pending() {
                    VcpuExit::Kicked
                } else {
                    log::trace!("cancel already reported as Kicked; re-entering");
                    return Ok(None);
                }
            }
            Exit::UnrecoverableException => {
                log::info!("triple fault at {:#x}", state.rip);
                VcpuExit::Shutdown
            }
            Exit::InvalidVpRegisterValue => {
                return Err(guest_failure(
                    &state,
                    "WHP rejected the vCPU register state (InvalidVpRegisterValue)".into(),
                    &[],
                    "segment, control or descriptor-table registers are inconsistent; check \
                     the entry state (segment attributes, CR0/CR4/EFER combination)"
                        .into(),
                ));
            }
            Exit::UnsupportedFeature { code, parameter } => {
                return Err(guest_failure(
                    &state,
                    format!(
                        "WHP does not support what the guest did (feature code {code}, \
                         parameter {parameter:#x})"
                    ),
                    &[],
                    if code == WHvUnsupportedFeatureTaskSwitchTss {
                        "hardware task switch through a TSS".into()
                    } else {
                        "an intercept WHP cannot forward".into()
                    },
                ));
            }
            Exit::Msr {
                number, is_write, ..
            } => {
                // Only reached if MSR exits are enabled. Like QEMU: reads give 0,
                // writes are dropped.
                log::debug!(
                    "{} of unhandled MSR {number:#x}",
                    if is_write { "wrmsr" } else { "rdmsr" }
                );
                let mut batch = RegBatch::new();
                if !is_write {
                    batch.push(WHvX64RegisterRax, 0).push(WHvX64RegisterRdx, 0);
                }
                self.complete_intercepted(&state, "rdmsr/wrmsr", batch)?;
                VcpuExit::Spurious
            }
            Exit::Cpuid {
                leaf,
                subleaf,
                default,
            } => {
                let cr4 = if leaf == 1 {
                    self.get_u64(WHvX64RegisterCr4)?
                } else {
                    0
                };
                let r = cpuid_result(leaf, subleaf, default, cr4);
                let mut batch = RegBatch::new();
                batch
                    .push(WHvX64RegisterRax, u64::from(r.eax))
                    .push(WHvX64RegisterRbx, u64::from(r.ebx))
                    .push(WHvX64RegisterRcx, u64::from(r.ecx))
                    .push(WHvX64RegisterRdx, u64::from(r.edx));
                self.complete_intercepted(&state, "cpuid", batch)?;
                VcpuExit::Spurious
            }
            Exit::Exception {
                vector,
                error_code,
                bytes,
            } => {
                return Err(guest_failure(
                    &state,
                    format!("exception {vector} (error code {error_code:#x})"),
                    bytes.as_slice(),
                    String::new(),
                ));
            }
            Exit::Unknown { reason } => {
                return Err(HvError::UnknownExit {
                    backend: BACKEND,
                    code: u64::from(reason as u32),
                    what: format!("WHvRunVpExitReason{}", exit_reason_name(reason)),
                });
            }
        };
        Ok(Some(exit))
    }

    /// An intercepted instruction (CPUID, RDMSR/WRMSR) that hv completes with `batch`.
    /// WHP reports its length; without one, advancing RIP is impossible (re-entering
    /// would execute it again forever).
    fn complete_intercepted(&mut self, state: &VpState, what: &str, batch: RegBatch) -> Result<()> {
        if state.instruction_len == 0 {
            return Err(HvError::UnknownExit {
                backend: BACKEND,
                code: u64::from(self.exit.0.ExitReason as u32),
                what: format!(
                    "{what} exit at {:#x} without an instruction length",
                    state.rip
                ),
            });
        }
        self.retire_instruction(state, batch)
    }

    /// Plain IN/OUT: move the data, then write RAX (IN) and RIP in one call.
    fn complete_port_io(
        &mut self,
        state: &VpState,
        access: PortAccess,
        rax: u64,
        io: &mut dyn IoHandler,
    ) -> Result<VcpuExit> {
        let size = usize::from(access.size);
        let mut batch = RegBatch::new();
        if access.is_write {
            io.pio_write(access.port, &access.out_data(rax)[..size]);
        } else {
            let mut data = [0u8; 4];
            io.pio_read(access.port, &mut data[..size]);
            batch.push(WHvX64RegisterRax, access.in_result(rax, data));
        }
        self.retire_instruction(state, batch)?;
        Ok(VcpuExit::Io)
    }

    fn emulate_io(
        &mut self,
        state: &VpState,
        bytes: &InsnBytes,
        io: &mut dyn IoHandler,
    ) -> Result<VcpuExit> {
        let vp = VpRegisters {
            partition: &self.partition,
            index: self.index,
        };
        let mut ctx = CallbackContext::new(io, self.partition.memory(), &vp);
        let exit = &self.exit.0;
        // SAFETY: ExitReason is X64IoPortAccess (decoded by the caller); plain data.
        let io_ctx = unsafe { &exit.Anonymous.IoPortAccess };
        let status = self.emulator.try_io(&mut ctx, &exit.VpContext, io_ctx)?;
        if status.succeeded() {
            self.after_emulation(state)?;
            return Ok(VcpuExit::Io);
        }
        Err(emulation_failure(state, status, bytes, None))
    }

    /// Every memory exit goes to the instruction emulator, whatever its access type, as
    /// in QEMU's and crosvm's whpx. RAM is mapped RWX and ROM R-X, so guest code in
    /// either never exits; a read or write exit is MMIO (or a write to ROM, which the
    /// memory callback turns into an MMIO write). An instruction fetch exit is code
    /// at a GPA with nothing mapped (`GpaUnmapped`): the emulator fetches it through the
    /// memory callback, i.e. from the MMIO handler, and runs it, the way a CPU executes
    /// from device memory. Where no device answers, the board reads open bus (0xFF),
    /// which does not decode, so a wild jump ends in a report that names the fetch.
    fn emulate_mmio(
        &mut self,
        state: &VpState,
        m: &MemoryExit,
        io: &mut dyn IoHandler,
    ) -> Result<VcpuExit> {
        let vp = VpRegisters {
            partition: &self.partition,
            index: self.index,
        };
        let mut ctx = CallbackContext::new(io, self.partition.memory(), &vp);
        let exit = &self.exit.0;
        // SAFETY: ExitReason is MemoryAccess (decoded by the caller); plain data.
        let mem_ctx = unsafe { &exit.Anonymous.MemoryAccess };
        let status = self.emulator.try_mmio(&mut ctx, &exit.VpContext, mem_ctx)?;
        if status.succeeded() {
            self.after_emulation(state)?;
            return Ok(VcpuExit::Io);
        }
        Err(emulation_failure(state, status, &m.bytes, Some(m)))
    }
}

/// A guest failure for an instruction the emulator could not complete, naming the
/// memory access that trapped (if any).
fn emulation_failure(
    state: &VpState,
    status: EmulatorStatus,
    bytes: &InsnBytes,
    access: Option<&MemoryExit>,
) -> HvError {
    let mut what = format!("instruction emulation failed ({})", status.describe());
    if let Some(m) = access {
        what.push_str(&format!(
            " after a {} of guest-physical address {:#x} ({})",
            m.kind.describe(),
            m.gpa,
            if m.gpa_unmapped {
                "nothing mapped there"
            } else {
                "mapped, but not for this access"
            }
        ));
    }
    let explanation = match access {
        Some(m) if m.kind == AccessKind::Execute => format!(
            "the guest executed code at {:#x}, where there is no RAM or ROM and no device \
             answered with an instruction (a wild jump or a corrupted return address)",
            m.gpa
        ),
        _ => explain_emulation_failure(
            bytes.as_slice(),
            state.cpl,
            state.protected_mode,
            state.long_mode_active,
        ),
    };
    guest_failure(state, what, bytes.as_slice(), explanation)
}

impl Vcpu for WhpVcpu {
    fn run(&mut self, io: &mut dyn IoHandler) -> Result<VcpuExit> {
        loop {
            if self.kick.take_pending() {
                return Ok(VcpuExit::Kicked);
            }
            if let Some(value) = self.window.before_entry() {
                self.set(
                    &[WHvX64RegisterDeliverabilityNotifications],
                    &[from_u64(value)],
                )?;
                self.window.written(true);
            }
            let api = self.partition.api;
            let size = size_of::<WHV_RUN_VP_EXIT_CONTEXT>() as u32;
            let ctx: *mut WHV_RUN_VP_EXIT_CONTEXT = &mut self.exit.0;
            // SAFETY: `ctx` points to a 16-byte aligned, writable exit context of `size`
            // bytes owned by this vCPU; the VP exists until drop.
            let hr = unsafe {
                (api.run_virtual_processor)(self.partition.handle, self.index, ctx.cast(), size)
            };
            check("WHvRunVirtualProcessor", hr)?;
            self.window.after_exit();
            let (state, exit) = decode(&self.exit.0);
            self.events = EventState::at_exit(&state);
            if let Some(exit) = self.handle_exit(state, exit, io)? {
                return Ok(exit);
            }
        }
    }

    fn kicker(&self) -> Arc<dyn Kicker> {
        Arc::new(WhpKicker(Arc::clone(&self.kick)))
    }

    /// Clears [`RESET_EVENT_REGISTERS`] in one write and forgets the cached event and
    /// window state. A pending kick (and WHP's latched cancel) is kept.
    fn reset(&mut self) -> Result<()> {
        self.set(&RESET_EVENT_REGISTERS, &[ZERO_VALUE; 4])?;
        self.events = EventState::default();
        self.window = WindowRequest::default();
        Ok(())
    }
}

impl VcpuX86 for WhpVcpu {
    fn regs(&self) -> Result<Regs> {
        let mut values = [ZERO_VALUE; 18];
        self.partition
            .get_registers(self.index, &GPR_NAMES, &mut values)?;
        Ok(regs::regs_from_values(&values))
    }

    fn set_regs(&mut self, r: &Regs) -> Result<()> {
        self.set(&GPR_NAMES, &regs::regs_to_values(r))?;
        self.events.rflags = r.rflags;
        Ok(())
    }

    fn sregs(&self) -> Result<Sregs> {
        let mut values = [ZERO_VALUE; 16];
        self.partition
            .get_registers(self.index, &SREG_NAMES, &mut values)?;
        Ok(regs::sregs_from_values(&values))
    }

    fn set_sregs(&mut self, s: &Sregs) -> Result<()> {
        self.set(&SREG_NAMES, &regs::sregs_to_values(s))
    }

    fn ready_for_interrupt(&self) -> bool {
        inject::ready_for_interrupt(&self.events)
    }

    fn inject_interrupt(&mut self, vector: u8) -> Result<()> {
        if !self.ready_for_interrupt() {
            return Err(HvError::InvalidArgument(format!(
                "interrupt {vector:#x} injected while the vCPU cannot take it ({:?})",
                self.events
            )));
        }
        self.set(
            &[WHvRegisterPendingInterruption],
            &[from_u64(inject::pending_interruption(vector))],
        )?;
        self.events.interruption_pending = true;
        Ok(())
    }

    fn request_interrupt_window(&mut self, on: bool) -> Result<()> {
        if let Some(value) = self.window.request(on) {
            self.set(
                &[WHvX64RegisterDeliverabilityNotifications],
                &[from_u64(value)],
            )?;
            self.window.written(on);
        }
        Ok(())
    }
}

impl Drop for WhpVcpu {
    fn drop(&mut self) {
        // Kickers first: after close() no cancel can target the VP we delete next.
        self.kick.close();
        // SAFETY: the VP exists and no kick can reach it any more.
        let hr = unsafe {
            (self.partition.api.delete_virtual_processor)(self.partition.handle, self.index)
        };
        if let Err(e) = check("WHvDeleteVirtualProcessor", hr) {
            log::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    //! The run loop against the scripted fake WHP (`crate::fake`), which latches cancels
    //! and checks buffer alignment the way WHP does.

    use std::time::Duration;

    use hv_core::GuestMemory;
    use hv_core::memory::RegionSpec;

    use super::*;
    use crate::decode::fixtures::Fixture;
    use crate::defs::exec_state;
    use crate::emulator::tests::FakeIo;
    use crate::fake::{self, EMULATOR, EmulatorScript, FAKE, Step};

    const REAL_CS: u16 = 0x9b;

    fn vcpu() -> WhpVcpu {
        let partition = Arc::new(Partition::for_tests(&FAKE));
        WhpVcpu::create(partition, 0).expect("fake vcpu")
    }

    fn handle(v: &WhpVcpu) -> isize {
        v.partition.handle
    }

    fn push(v: &WhpVcpu, f: Fixture) {
        fake::script(handle(v), [Step::Exit(f)]);
    }

    fn writes(v: &WhpVcpu) -> Vec<(WHV_REGISTER_NAME, u64)> {
        fake::take_writes(handle(v))
    }

    fn runs(v: &WhpVcpu) -> u32 {
        fake::with(handle(v), |s| s.runs)
    }

    fn cancels(v: &WhpVcpu) -> u32 {
        fake::with(handle(v), |s| s.cancels)
    }

    fn simple(reason: i32) -> Fixture {
        Fixture::new(reason, 0x10, 0x2, 0, 0, REAL_CS)
    }

    fn io_exit(access_info: u32, port: u16, rax: u64, rip: u64, len: u8) -> Fixture {
        let mut f = Fixture::new(
            WHvRunVpExitReasonX64IoPortAccess,
            rip,
            0x202,
            0,
            len,
            REAL_CS,
        );
        f.payload(20, &access_info.to_le_bytes())
            .payload(24, &port.to_le_bytes())
            .payload(32, &rax.to_le_bytes());
        f
    }

    /// `out dx, al` at 0x7c10 with the given RFLAGS and ExecutionState.
    fn out_exit(rflags: u64, exec_state: u16) -> Fixture {
        let mut f = Fixture::new(
            WHvRunVpExitReasonX64IoPortAccess,
            0x7c10,
            rflags,
            exec_state,
            1,
            REAL_CS,
        );
        f.payload(20, &0b0011u32.to_le_bytes())
            .payload(24, &0x3f8u16.to_le_bytes())
            .payload(32, &0x41u64.to_le_bytes());
        f
    }

    fn memory_exit(access_info: u32, gpa: u64, exec_state: u16) -> Fixture {
        let mut f = Fixture::new(
            WHvRunVpExitReasonMemoryAccess,
            0x1000,
            0x202,
            exec_state,
            0,
            0xc09b,
        );
        f.payload(20, &access_info.to_le_bytes())
            .payload(24, &gpa.to_le_bytes());
        f
    }

    fn cpuid_exit(leaf: u64, default: [u64; 4], len: u8) -> Fixture {
        let mut f = Fixture::new(WHvRunVpExitReasonX64Cpuid, 0x2000, 0x2, 0, len, 0xc09b);
        // Rax, Rcx, Rdx, Rbx, then DefaultResultRax, Rcx, Rdx, Rbx.
        f.payload(0, &leaf.to_le_bytes())
            .payload(32, &default[0].to_le_bytes())
            .payload(40, &default[2].to_le_bytes())
            .payload(48, &default[3].to_le_bytes())
            .payload(56, &default[1].to_le_bytes());
        f
    }

    fn emulator(script: EmulatorScript) {
        EMULATOR.with(|e| *e.borrow_mut() = script);
    }

    fn emulator_calls() -> (u32, u32) {
        EMULATOR.with(|e| {
            let e = e.borrow();
            (e.io_calls, e.mmio_calls)
        })
    }

    #[test]
    fn out_and_in_fast_paths_write_rax_and_rip_once() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        push(&v, io_exit(0b0011, 0x3f8, 0x1234_5641, 0x7c10, 1)); // out dx, al
        assert_eq!(v.run(&mut io).expect("out"), VcpuExit::Io);
        assert_eq!(
            fake::take_sets(handle(&v)),
            [vec![(WHvX64RegisterRip, 0x7c11)]]
        );
        push(&v, io_exit(0b0100, 0x60, 0xffff_ffff_ffff_ffff, 0xfffe, 2)); // in ax, dx
        assert_eq!(v.run(&mut io).expect("in"), VcpuExit::Io);
        assert_eq!(
            fake::take_sets(handle(&v)),
            [vec![
                (WHvX64RegisterRax, 0xffff_ffff_ffff_a1a0),
                (WHvX64RegisterRip, 0)
            ]],
            "one batch, RIP wrapped at 64 KiB"
        );
        assert_eq!(io.log, ["out 0x3f8 [41]", "in 0x60 2"]);
        assert!(fake::violations(handle(&v)).is_empty());
    }

    /// `sti; out dx, al`: the exit reports the shadow of `sti`. Once hv retires the OUT,
    /// the shadow is over, both in the cached state and in WHP's InterruptState (NMI
    /// masking is kept), in the same write as RIP.
    #[test]
    fn the_fast_path_ends_the_interrupt_shadow_it_completes() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        fake::set_reg(
            handle(&v),
            WHvRegisterInterruptState,
            interrupt_state::INTERRUPT_SHADOW | interrupt_state::NMI_MASKED,
        );
        push(&v, out_exit(0x202, exec_state::INTERRUPT_SHADOW));
        assert_eq!(v.run(&mut io).expect("out"), VcpuExit::Io);
        assert_eq!(
            fake::take_sets(handle(&v)),
            [vec![
                (WHvX64RegisterRip, 0x7c11),
                (
                    WHvRegisterInterruptState,
                    u128::from(interrupt_state::NMI_MASKED)
                )
            ]]
        );
        assert!(
            v.ready_for_interrupt(),
            "IF set and the shadow ended with the OUT"
        );

        // Without a shadow at the exit, InterruptState is neither read nor written.
        fake::with(handle(&v), |s| s.get_batches.clear());
        push(&v, out_exit(0x202, 0));
        v.run(&mut io).expect("out");
        assert_eq!(writes(&v), [(WHvX64RegisterRip, 0x7c11)]);
        assert!(fake::with(handle(&v), |s| s.get_batches.is_empty()));
    }

    #[test]
    fn the_fast_path_clears_rflags_rf() {
        let mut v = vcpu();
        push(&v, out_exit(0x1_0202, 0));
        v.run(&mut FakeIo::default()).expect("out");
        assert_eq!(
            writes(&v),
            [(WHvX64RegisterRip, 0x7c11), (WHvX64RegisterRflags, 0x202)]
        );
    }

    #[test]
    fn string_io_goes_to_the_emulator_and_its_failure_is_a_guest_error() {
        let mut v = vcpu();
        emulator(EmulatorScript {
            io_status: 0b10, // InternalEmulationFailure
            ..EmulatorScript::default()
        });
        let mut f = io_exit(0b11_0010, 0x3f8, 0, 0x100, 2); // rep outsb
        f.payload(0, &[2]).payload(4, &[0xf3, 0x6e]);
        push(&v, f);
        match v.run(&mut FakeIo::default()) {
            Err(HvError::Guest(g)) => {
                assert!(g.what.contains("InternalEmulationFailure"), "{}", g.what);
                assert_eq!(g.bytes, [0xf3, 0x6e]);
                assert_eq!(g.pc, 0x100);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(emulator_calls().0, 1);
        assert!(writes(&v).is_empty(), "the fast path did not run");
    }

    #[test]
    fn exits_map_to_vcpu_exits() {
        let mut v = vcpu();
        emulator(EmulatorScript::default());
        let mut io = FakeIo::default();
        for reason in [
            WHvRunVpExitReasonX64Halt,
            WHvRunVpExitReasonX64InterruptWindow,
            WHvRunVpExitReasonUnrecoverableException,
            WHvRunVpExitReasonMemoryAccess,
        ] {
            push(&v, simple(reason));
        }
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
        assert_eq!(v.run(&mut io).expect("window"), VcpuExit::InterruptWindow);
        assert_eq!(v.run(&mut io).expect("triple fault"), VcpuExit::Shutdown);
        assert_eq!(v.run(&mut io).expect("mmio"), VcpuExit::Io);
        push(&v, simple(0x1005)); // Hypercall: never enabled
        match v.run(&mut io) {
            Err(HvError::UnknownExit {
                backend,
                code,
                what,
            }) => {
                assert_eq!((backend, code), ("WHP", 0x1005));
                assert!(what.contains("Hypercall"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            v.run(&mut io),
            Err(HvError::Api {
                op: "WHvRunVirtualProcessor",
                ..
            })
        ));
    }

    /// The conformance case `kick_before_run_is_sticky`: WHP latches the cancel of a
    /// kick issued between runs, and the kick must still give exactly one `Kicked`.
    #[test]
    fn a_kick_between_runs_gives_exactly_one_kicked() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        v.kicker().kick();
        assert_eq!(cancels(&v), 1);
        push(&v, simple(WHvRunVpExitReasonX64Halt));
        assert_eq!(v.run(&mut io).expect("kicked"), VcpuExit::Kicked);
        assert_eq!(runs(&v), 0, "reported without entering the guest");
        assert_eq!(
            v.run(&mut io).expect("then the guest runs"),
            VcpuExit::Halt,
            "the latched cancel is the same kick, not a second one"
        );
        assert_eq!(
            runs(&v),
            2,
            "the latched cancel was consumed, then the halt"
        );
        assert!(fake::violations(handle(&v)).is_empty());
    }

    #[test]
    fn kicks_before_a_run_coalesce() {
        let mut v = vcpu();
        let kicker = v.kicker();
        kicker.kick();
        kicker.kick();
        push(&v, simple(WHvRunVpExitReasonX64Halt));
        let mut io = FakeIo::default();
        assert_eq!(v.run(&mut io).expect("kicked"), VcpuExit::Kicked);
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
    }

    /// A kick whose cancel reaches WHP while the VP is already leaving for an I/O exit:
    /// the I/O completes, the next run reports the kick, and its latched cancel is not
    /// reported again.
    #[test]
    fn a_kick_racing_an_exit_is_reported_once() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        fake::script(
            handle(&v),
            [
                Step::KickWhileExiting(io_exit(0b0011, 0x3f8, 0x41, 0x7c10, 1), v.kicker()),
                Step::Exit(simple(WHvRunVpExitReasonX64Halt)),
            ],
        );
        assert_eq!(v.run(&mut io).expect("out"), VcpuExit::Io);
        assert_eq!(v.run(&mut io).expect("kick"), VcpuExit::Kicked);
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
        assert_eq!(io.log, ["out 0x3f8 [41]"]);
    }

    #[test]
    fn a_kick_from_another_thread_stops_a_spinning_guest() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        fake::script(
            handle(&v),
            [
                Step::SpinUntilCanceled,
                Step::Exit(simple(WHvRunVpExitReasonX64Halt)),
            ],
        );
        let kicker = v.kicker();
        let h = handle(&v);
        let kicking = std::thread::spawn(move || {
            // Kick once the guest is spinning inside the run call.
            while !fake::with(h, |s| s.spinning) {
                std::thread::sleep(Duration::from_millis(1));
            }
            kicker.kick();
        });
        assert_eq!(v.run(&mut io).expect("kicked"), VcpuExit::Kicked);
        kicking.join().expect("kicker thread");
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
        assert_eq!((runs(&v), cancels(&v)), (2, 1));
    }

    #[test]
    fn no_kick_reaches_a_deleted_vp() {
        let v = vcpu();
        let h = handle(&v);
        let kicker = v.kicker();
        // A kick that lands while the VP is being deleted.
        fake::with(h, |s| s.kick_during_delete = Some(v.kicker()));
        drop(v);
        kicker.kick();
        assert!(fake::with(h, |s| s.vp_deleted));
        assert_eq!(fake::with(h, |s| s.cancels), 0);
        assert!(fake::violations(h).is_empty(), "{:?}", fake::violations(h));
    }

    #[test]
    fn reset_clears_the_event_registers_in_one_write_and_keeps_a_pending_kick() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        push(
            &v,
            Fixture::new(
                WHvRunVpExitReasonX64InterruptWindow,
                0,
                0x202,
                0,
                0,
                REAL_CS,
            ),
        );
        v.run(&mut io).expect("window");
        v.inject_interrupt(0x20).expect("inject");
        v.request_interrupt_window(true).expect("window");
        writes(&v);

        v.kicker().kick();
        v.reset().expect("reset");
        assert_eq!(
            fake::take_sets(handle(&v)),
            [RESET_EVENT_REGISTERS
                .iter()
                .map(|&n| (n, 0))
                .collect::<Vec<_>>()],
            "one batch, all zero"
        );
        assert_eq!(
            RESET_EVENT_REGISTERS,
            [
                WHvRegisterPendingInterruption,
                WHvRegisterInterruptState,
                WHvRegisterPendingEvent,
                WHvX64RegisterDeliverabilityNotifications
            ]
        );
        assert!(!v.ready_for_interrupt(), "a reset CPU has IF = 0");
        assert_eq!(v.run(&mut io).expect("kick"), VcpuExit::Kicked, "kept");
        push(&v, simple(WHvRunVpExitReasonX64Halt));
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
        assert!(
            writes(&v).is_empty(),
            "the old window request is not re-armed after the reset"
        );
        v.set_regs(&Regs {
            rflags: 0x202,
            ..Regs::default()
        })
        .expect("regs");
        assert!(v.ready_for_interrupt(), "the old injection is forgotten");
    }

    #[test]
    fn injection_follows_the_last_exit_state() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        // IF=1, no shadow, nothing pending.
        push(
            &v,
            Fixture::new(
                WHvRunVpExitReasonX64InterruptWindow,
                0,
                0x202,
                0,
                0,
                REAL_CS,
            ),
        );
        v.run(&mut io).expect("window");
        assert!(v.ready_for_interrupt());
        v.inject_interrupt(0x08).expect("inject");
        assert_eq!(writes(&v), [(WHvRegisterPendingInterruption, 0x0008_0001)]);
        assert!(!v.ready_for_interrupt(), "one event at a time");
        assert!(v.inject_interrupt(0x09).is_err());
        // The injected event still pending at the next exit blocks injection.
        push(
            &v,
            Fixture::new(
                WHvRunVpExitReasonX64Halt,
                0,
                0x202,
                exec_state::INTERRUPTION_PENDING,
                0,
                REAL_CS,
            ),
        );
        v.run(&mut io).expect("halt");
        assert!(!v.ready_for_interrupt());
    }

    /// `sti; hlt`: WHP reports the HLT with the `sti` shadow, but the HLT has retired
    /// (RIP is past it), so an interrupt can be injected at once.
    #[test]
    fn a_halt_ends_the_shadow_it_reports() {
        let mut v = vcpu();
        push(
            &v,
            Fixture::new(
                WHvRunVpExitReasonX64Halt,
                0x11,
                0x202,
                exec_state::INTERRUPT_SHADOW,
                0,
                REAL_CS,
            ),
        );
        assert_eq!(v.run(&mut FakeIo::default()).expect("halt"), VcpuExit::Halt);
        assert!(v.ready_for_interrupt());
        assert!(writes(&v).is_empty(), "nothing to complete: WHP did");
    }

    /// Hyper-V drops an interrupt-window request by itself, so while the VMM wants one
    /// it is written again before each entry; once the VMM no longer wants it, it is
    /// cleared once and left alone.
    #[test]
    fn a_wanted_window_is_rearmed_before_each_entry() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        let dn = WHvX64RegisterDeliverabilityNotifications;
        v.request_interrupt_window(true).expect("window");
        assert_eq!(writes(&v), [(dn, 2)]);
        push(&v, out_exit(0x2, 0));
        push(&v, out_exit(0x2, 0));
        v.run(&mut io).expect("out");
        assert_eq!(
            writes(&v),
            [(WHvX64RegisterRip, 0x7c11)],
            "armed since the last exit"
        );
        v.run(&mut io).expect("out");
        assert_eq!(writes(&v), [(dn, 2), (WHvX64RegisterRip, 0x7c11)]);
        v.request_interrupt_window(true).expect("window");
        assert_eq!(
            writes(&v),
            [(dn, 2)],
            "after an exit a request writes at once"
        );
        push(&v, simple(WHvRunVpExitReasonX64InterruptWindow));
        v.run(&mut io).expect("window");
        assert_eq!(writes(&v), [], "and the entry does not write it twice");
        v.request_interrupt_window(false).expect("no window");
        assert_eq!(writes(&v), [(dn, 0)]);
        push(&v, out_exit(0x2, 0));
        v.run(&mut io).expect("out");
        assert_eq!(writes(&v), [(WHvX64RegisterRip, 0x7c11)]);
    }

    #[test]
    fn cpuid_leaf_1_reports_osxsave_from_the_guest_cr4() {
        use hv_core::arch::x86::cpuid::{LEAF1_ECX_HYPERVISOR, LEAF1_EDX_APIC};
        let mut v = vcpu();
        let mut io = FakeIo::default();
        // WHP's default: APIC present, OSXSAVE clear (the guest just set CR4.OSXSAVE).
        let default = [0x906ea, 0x0410_0800, 0x0000_0001, u64::from(LEAF1_EDX_APIC)];
        fake::set_reg(handle(&v), WHvX64RegisterCr4, arch::CR4_OSXSAVE);
        push(&v, cpuid_exit(1, default, 2));
        assert_eq!(v.run(&mut io).expect("cpuid"), VcpuExit::Spurious);
        let w = writes(&v);
        let reg = |n| w.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        let ecx = reg(WHvX64RegisterRcx).expect("rcx");
        assert_ne!(ecx & u64::from(arch::CPUID1_ECX_OSXSAVE), 0, "{ecx:#x}");
        assert_ne!(ecx & u64::from(LEAF1_ECX_HYPERVISOR), 0);
        assert_eq!(reg(WHvX64RegisterRdx), Some(0), "APIC hidden");
        assert_eq!(
            reg(WHvX64RegisterRbx),
            Some(0x0001_0800),
            "APIC ID 0, one CPU"
        );
        assert_eq!(reg(WHvX64RegisterRax), Some(0x906ea));
        assert_eq!(reg(WHvX64RegisterRip), Some(0x2002));

        // CR4.OSXSAVE clear: cleared even if WHP's default says otherwise.
        fake::set_reg(handle(&v), WHvX64RegisterCr4, 0);
        let set = u64::from(arch::CPUID1_ECX_OSXSAVE);
        push(&v, cpuid_exit(1, [0, 0, set, 0], 2));
        v.run(&mut io).expect("cpuid");
        let w = writes(&v);
        let ecx = w
            .iter()
            .find(|(k, _)| *k == WHvX64RegisterRcx)
            .map(|(_, v)| *v);
        assert_eq!(ecx, Some(u64::from(LEAF1_ECX_HYPERVISOR)));
    }

    #[test]
    fn a_cpuid_exit_without_a_length_is_refused() {
        let mut v = vcpu();
        push(&v, cpuid_exit(1, [0; 4], 0));
        assert!(matches!(
            v.run(&mut FakeIo::default()),
            Err(HvError::UnknownExit { .. })
        ));
        assert!(writes(&v).is_empty());
    }

    fn mapped_vcpu() -> WhpVcpu {
        let mem = GuestMemory::new(&[
            RegionSpec {
                gpa: 0,
                size: 0x1_0000,
                read_only: false,
            },
            RegionSpec {
                gpa: 0xf_0000,
                size: 0x1_0000,
                read_only: true,
            },
        ])
        .expect("layout");
        let partition = Arc::new(Partition::for_tests(&FAKE));
        partition.map_memory(&mem).expect("map");
        WhpVcpu::create(partition, 0).expect("fake vcpu")
    }

    /// Code at an unmapped GPA is MMIO: the emulator fetches it through the memory
    /// callback (reaching the MMIO handler) and runs it, as QEMU's and crosvm's whpx let
    /// it. It is not a failure by itself.
    #[test]
    fn an_instruction_fetch_from_mmio_is_emulated() {
        let mut v = mapped_vcpu();
        emulator(EmulatorScript::default());
        let mut io = FakeIo::default();
        push(&v, memory_exit(2 | 1 << 2, 0xd000_0000, 0)); // execute, unmapped
        assert_eq!(v.run(&mut io).expect("emulated"), VcpuExit::Io);
        assert_eq!(emulator_calls().1, 1);
        assert_eq!(io.log, ["mmio read 0xd0000000 1"]);
    }

    /// Where no device supplies an instruction, the emulator fails and the report names
    /// the fetch and the address.
    #[test]
    fn a_wild_jump_is_reported_as_an_instruction_fetch() {
        let mut v = mapped_vcpu();
        emulator(EmulatorScript {
            mmio_status: 0b10,
            ..EmulatorScript::default()
        });
        push(&v, memory_exit(2 | 1 << 2, 0xd000_0000, 0));
        match v.run(&mut FakeIo::default()) {
            Err(HvError::Guest(g)) => {
                assert!(
                    g.what.contains(
                        "instruction fetch of guest-physical address 0xd0000000 (nothing mapped there)"
                    ),
                    "{}",
                    g.what
                );
                assert!(g.explanation.contains("no RAM or ROM"), "{}", g.explanation);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_write_to_rom_reaches_the_mmio_handler() {
        let mut v = mapped_vcpu();
        emulator(EmulatorScript::default());
        let mut io = FakeIo::default();
        push(&v, memory_exit(1, 0xf_0010, 0)); // write, mapped (read-only)
        assert_eq!(v.run(&mut io).expect("emulated"), VcpuExit::Io);
        assert_eq!(io.log, ["mmio write 0xf0010 [ab]"]);
    }

    #[test]
    fn a_reserved_access_type_is_an_unknown_exit() {
        let mut v = mapped_vcpu();
        emulator(EmulatorScript::default());
        push(&v, memory_exit(3, 0xd000_0000, 0));
        assert!(matches!(
            v.run(&mut FakeIo::default()),
            Err(HvError::UnknownExit { .. })
        ));
        assert_eq!(emulator_calls().1, 0);
    }

    #[test]
    fn emulated_mmio_ends_the_interrupt_shadow() {
        let mut v = mapped_vcpu();
        emulator(EmulatorScript::default());
        fake::set_reg(
            handle(&v),
            WHvRegisterInterruptState,
            interrupt_state::INTERRUPT_SHADOW,
        );
        push(
            &v,
            memory_exit(1 << 2, 0xd000_0000, exec_state::INTERRUPT_SHADOW),
        );
        v.run(&mut FakeIo::default()).expect("emulated");
        assert_eq!(writes(&v), [(WHvRegisterInterruptState, 0)]);
        assert!(v.ready_for_interrupt());
    }

    #[test]
    fn cpuid_result_policy() {
        let default = CpuidResult {
            eax: 1,
            ebx: 2,
            ecx: 3,
            edx: 4,
        };
        assert_eq!(
            cpuid_result(7, 0, default, arch::CR4_OSXSAVE),
            default,
            "other leaves pass through"
        );
        let r = cpuid_result(1, 0, default, arch::CR4_OSXSAVE);
        assert_ne!(r.ecx & arch::CPUID1_ECX_OSXSAVE, 0);
    }
}
