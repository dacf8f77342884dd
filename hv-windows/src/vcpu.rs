//! The vCPU: run loop, exit handling, registers and interrupt injection.

use std::marker::PhantomData;
use std::sync::Arc;

use hv_core::arch::x86::cpuid;
use hv_core::arch::x86::insn::explain_emulation_failure;
use hv_core::arch::x86::{Regs, Sregs};
use hv_core::{GuestFailure, HvError, IoHandler, Kicker, Result, Vcpu, VcpuExit, VcpuX86};
use windows_sys::Win32::System::Hypervisor::*;
use windows_sys::core::HRESULT;

use crate::decode::{AccessKind, Exit, InsnBytes, VpState, decode, exit_reason_name};
use crate::emulator::{CallbackContext, Emulator, EmulatorStatus, VpAccess};
use crate::hresult::{BACKEND, check};
use crate::inject::{self, EventState};
use crate::io::{PortAccess, advance_rip};
use crate::kick::{CancelTarget, KickGate};
use crate::layout::{Aligned16, ExitContext, ZERO_VALUE};
use crate::partition::Partition;
use crate::regs::{self, GPR_NAMES, SREG_NAMES, from_u64};

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
    /// What DeliverabilityNotifications holds, if known.
    window: Option<bool>,
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
            window: Some(false),
            kick,
            _not_send: PhantomData,
        })
    }

    fn set(&self, names: &[WHV_REGISTER_NAME], values: &[crate::layout::RegValue]) -> Result<()> {
        self.partition.set_registers(self.index, names, values)
    }

    fn handle_exit(
        &mut self,
        state: VpState,
        exit: Exit,
        io: &mut dyn IoHandler,
    ) -> Result<VcpuExit> {
        match exit {
            Exit::Io { access, rax, bytes } => {
                // A zero length would re-execute the instruction forever; let the
                // emulator decode it instead.
                if access.string || state.instruction_len == 0 {
                    self.emulate_io(&state, &bytes, io)
                } else {
                    self.complete_port_io(&state, access, rax, io)
                }
            }
            Exit::IoMalformed { port, access_info } => Err(HvError::UnknownExit {
                backend: BACKEND,
                code: WHvRunVpExitReasonX64IoPortAccess as u64,
                what: format!(
                    "I/O exit on port {port:#x} with invalid access info {access_info:#x}"
                ),
            }),
            Exit::Memory(m) if m.kind == AccessKind::Execute => Err(guest_failure(
                &state,
                format!(
                    "instruction fetch from unmapped guest-physical address {:#x}",
                    m.gpa
                ),
                m.bytes.as_slice(),
                "the guest jumped outside RAM/ROM (a wild jump or a corrupted stack)".into(),
            )),
            Exit::Memory(m) => self.emulate_mmio(&state, &m.bytes, io),
            Exit::Halt => Ok(VcpuExit::Halt),
            Exit::InterruptWindow => {
                // QEMU treats the request as one-shot; we only know it is no longer "on".
                self.window = None;
                Ok(VcpuExit::InterruptWindow)
            }
            Exit::Canceled => {
                self.kick.take_pending();
                Ok(VcpuExit::Kicked)
            }
            Exit::UnrecoverableException => {
                log::info!("triple fault at {:#x}", state.rip);
                Ok(VcpuExit::Shutdown)
            }
            Exit::InvalidVpRegisterValue => Err(guest_failure(
                &state,
                "WHP rejected the vCPU register state (InvalidVpRegisterValue)".into(),
                &[],
                "segment, control or descriptor-table registers are inconsistent; check the \
                 entry state (segment attributes, CR0/CR4/EFER combination)"
                    .into(),
            )),
            Exit::UnsupportedFeature { code, parameter } => Err(guest_failure(
                &state,
                format!(
                    "WHP does not support what the guest did (feature code {code}, parameter {parameter:#x})"
                ),
                &[],
                match code {
                    2 => "hardware task switch through a TSS".into(),
                    _ => "an intercept WHP cannot forward".into(),
                },
            )),
            Exit::Msr {
                number, is_write, ..
            } => {
                // Only reached if MSR exits are enabled. Like QEMU: reads give 0,
                // writes are dropped.
                log::debug!(
                    "{} of unhandled MSR {number:#x}",
                    if is_write { "wrmsr" } else { "rdmsr" }
                );
                let rip = from_u64(advance_rip(
                    state.rip,
                    state.instruction_len,
                    state.code_size(),
                ));
                if is_write {
                    self.set(&[WHvX64RegisterRip], &[rip])?;
                } else {
                    self.set(
                        &[WHvX64RegisterRax, WHvX64RegisterRdx, WHvX64RegisterRip],
                        &[from_u64(0), from_u64(0), rip],
                    )?;
                }
                Ok(VcpuExit::Spurious)
            }
            Exit::Cpuid {
                leaf,
                subleaf,
                mut default,
            } => {
                cpuid::adjust(leaf, subleaf, &mut default);
                let rip = advance_rip(state.rip, state.instruction_len, state.code_size());
                self.set(
                    &[
                        WHvX64RegisterRax,
                        WHvX64RegisterRbx,
                        WHvX64RegisterRcx,
                        WHvX64RegisterRdx,
                        WHvX64RegisterRip,
                    ],
                    &[default.eax, default.ebx, default.ecx, default.edx]
                        .map(u64::from)
                        .map(from_u64)
                        .into_iter()
                        .chain([from_u64(rip)])
                        .collect::<Vec<_>>(),
                )?;
                Ok(VcpuExit::Spurious)
            }
            Exit::Exception {
                vector,
                error_code,
                bytes,
            } => Err(guest_failure(
                &state,
                format!("exception {vector} (error code {error_code:#x})"),
                bytes.as_slice(),
                String::new(),
            )),
            Exit::Unknown { reason } => Err(HvError::UnknownExit {
                backend: BACKEND,
                code: u64::from(reason as u32),
                what: format!("WHvRunVpExitReason{}", exit_reason_name(reason)),
            }),
        }
    }

    /// Plain IN/OUT: move the data, write RAX (IN) and RIP in one call.
    fn complete_port_io(
        &self,
        state: &VpState,
        access: PortAccess,
        rax: u64,
        io: &mut dyn IoHandler,
    ) -> Result<VcpuExit> {
        let size = usize::from(access.size);
        let rip = from_u64(advance_rip(
            state.rip,
            state.instruction_len,
            state.code_size(),
        ));
        if access.is_write {
            io.pio_write(access.port, &access.out_data(rax)[..size]);
            self.set(&[WHvX64RegisterRip], &[rip])?;
        } else {
            let mut data = [0u8; 4];
            io.pio_read(access.port, &mut data[..size]);
            let rax = from_u64(access.in_result(rax, data));
            self.set(&[WHvX64RegisterRax, WHvX64RegisterRip], &[rax, rip])?;
        }
        Ok(VcpuExit::Io)
    }

    fn emulate_io(
        &self,
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
        emulation_result(state, status, bytes)
    }

    fn emulate_mmio(
        &self,
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
        // SAFETY: ExitReason is MemoryAccess (decoded by the caller); plain data.
        let mem_ctx = unsafe { &exit.Anonymous.MemoryAccess };
        let status = self.emulator.try_mmio(&mut ctx, &exit.VpContext, mem_ctx)?;
        emulation_result(state, status, bytes)
    }
}

/// `Io` if the emulator completed the instruction, else a guest failure that explains
/// the bytes.
fn emulation_result(
    state: &VpState,
    status: EmulatorStatus,
    bytes: &InsnBytes,
) -> Result<VcpuExit> {
    if status.succeeded() {
        return Ok(VcpuExit::Io);
    }
    Err(guest_failure(
        state,
        format!("instruction emulation failed ({})", status.describe()),
        bytes.as_slice(),
        explain_emulation_failure(
            bytes.as_slice(),
            state.cpl,
            state.protected_mode,
            state.long_mode_active,
        ),
    ))
}

impl Vcpu for WhpVcpu {
    fn run(&mut self, io: &mut dyn IoHandler) -> Result<VcpuExit> {
        if self.kick.take_pending() {
            return Ok(VcpuExit::Kicked);
        }
        let api = self.partition.api;
        let size = size_of::<WHV_RUN_VP_EXIT_CONTEXT>() as u32;
        let ctx: *mut WHV_RUN_VP_EXIT_CONTEXT = &mut self.exit.0;
        // SAFETY: `ctx` points to a 16-byte aligned, writable exit context of `size` bytes
        // owned by this vCPU; the VP exists until drop.
        let hr = unsafe {
            (api.run_virtual_processor)(self.partition.handle, self.index, ctx.cast(), size)
        };
        check("WHvRunVirtualProcessor", hr)?;
        let (state, exit) = decode(&self.exit.0);
        self.events = EventState {
            rflags: state.rflags,
            interruption_pending: state.interruption_pending,
            interrupt_shadow: state.interrupt_shadow,
        };
        self.handle_exit(state, exit, io)
    }

    fn kicker(&self) -> Arc<dyn Kicker> {
        Arc::new(WhpKicker(Arc::clone(&self.kick)))
    }

    /// Clears the queued interruption, the interrupt shadow and the deliverability
    /// notifications in one register write, and forgets the cached event state.
    fn reset(&mut self) -> Result<()> {
        self.set(
            &[
                WHvRegisterPendingInterruption,
                WHvRegisterInterruptState,
                WHvX64RegisterDeliverabilityNotifications,
            ],
            &[ZERO_VALUE; 3],
        )?;
        self.events = EventState::default();
        self.window = Some(false);
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
        if let Some(value) = inject::window_register_write(self.window, on) {
            self.set(
                &[WHvX64RegisterDeliverabilityNotifications],
                &[from_u64(value)],
            )?;
        }
        self.window = Some(on);
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
    //! The run loop against a scripted fake WHP table: exit fixtures go in, register
    //! writes and cancels are recorded.

    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::ffi::c_void;

    use windows_sys::Win32::Foundation::E_FAIL;

    use super::*;
    use crate::api::WhpApi;
    use crate::decode::fixtures::Fixture;
    use crate::emulator::tests::FakeIo;

    thread_local! {
        static EXITS: RefCell<VecDeque<Fixture>> = const { RefCell::new(VecDeque::new()) };
        static WRITES: RefCell<Vec<(WHV_REGISTER_NAME, u64)>> = const { RefCell::new(Vec::new()) };
        static CANCELS: Cell<u32> = const { Cell::new(0) };
    }

    unsafe extern "system" fn ok_partition(_: isize) -> HRESULT {
        0
    }
    unsafe extern "system" fn ok_vp(_: isize, _: u32) -> HRESULT {
        0
    }
    unsafe extern "system" fn ok_vp_flags(_: isize, _: u32, _: u32) -> HRESULT {
        0
    }
    unsafe extern "system" fn cancel(_: isize, _: u32, _: u32) -> HRESULT {
        CANCELS.with(|c| c.set(c.get() + 1));
        0
    }
    unsafe extern "system" fn run(_: isize, _: u32, ctx: *mut c_void, size: u32) -> HRESULT {
        assert_eq!(size, 224);
        assert_eq!(ctx as usize % 16, 0, "exit context must be 16-byte aligned");
        match EXITS.with(|e| e.borrow_mut().pop_front()) {
            Some(f) => {
                // SAFETY: the caller passes a writable 224-byte exit context.
                unsafe { std::ptr::copy_nonoverlapping(f.0.as_ptr(), ctx.cast::<u8>(), 224) };
                0
            }
            None => E_FAIL,
        }
    }
    unsafe extern "system" fn set_regs(
        _: isize,
        _: u32,
        names: *const WHV_REGISTER_NAME,
        count: u32,
        values: *const WHV_REGISTER_VALUE,
    ) -> HRESULT {
        assert_eq!(
            values as usize % 16,
            0,
            "register values must be 16-byte aligned"
        );
        for i in 0..count as usize {
            // SAFETY: the caller passes `count` names and values.
            let (n, v) = unsafe { (*names.add(i), (*values.add(i)).Reg64) };
            WRITES.with(|w| w.borrow_mut().push((n, v)));
        }
        0
    }
    unsafe extern "system" fn get_regs(
        _: isize,
        _: u32,
        _: *const WHV_REGISTER_NAME,
        _: u32,
        values: *mut WHV_REGISTER_VALUE,
    ) -> HRESULT {
        assert_eq!(
            values as usize % 16,
            0,
            "register values must be 16-byte aligned"
        );
        0
    }
    unsafe extern "system" fn unused_cap(_: i32, _: *mut c_void, _: u32, _: *mut u32) -> HRESULT {
        E_FAIL
    }
    unsafe extern "system" fn unused_create(_: *mut isize) -> HRESULT {
        E_FAIL
    }
    unsafe extern "system" fn unused_prop(_: isize, _: i32, _: *const c_void, _: u32) -> HRESULT {
        E_FAIL
    }
    unsafe extern "system" fn unused_map(
        _: isize,
        _: *const c_void,
        _: u64,
        _: u64,
        _: i32,
    ) -> HRESULT {
        E_FAIL
    }
    unsafe extern "system" fn unused_translate(
        _: isize,
        _: u32,
        _: u64,
        _: i32,
        _: *mut WHV_TRANSLATE_GVA_RESULT,
        _: *mut u64,
    ) -> HRESULT {
        E_FAIL
    }
    unsafe extern "system" fn emu_create(
        _: *const WHV_EMULATOR_CALLBACKS,
        e: *mut *mut c_void,
    ) -> HRESULT {
        // SAFETY: valid out-pointer from Emulator::new.
        unsafe { e.write(std::ptr::dangling_mut()) };
        0
    }
    unsafe extern "system" fn emu_destroy(_: *const c_void) -> HRESULT {
        0
    }
    unsafe extern "system" fn emu_try_io(
        _: *const c_void,
        _: *const c_void,
        _: *const WHV_VP_EXIT_CONTEXT,
        _: *const WHV_X64_IO_PORT_ACCESS_CONTEXT,
        status: *mut WHV_EMULATOR_STATUS,
    ) -> HRESULT {
        // SAFETY: valid out-pointer. Report an internal emulation failure.
        unsafe { status.write(WHV_EMULATOR_STATUS { AsUINT32: 0b10 }) };
        0
    }
    unsafe extern "system" fn emu_try_mmio(
        _: *const c_void,
        _: *const c_void,
        _: *const WHV_VP_EXIT_CONTEXT,
        _: *const WHV_MEMORY_ACCESS_CONTEXT,
        status: *mut WHV_EMULATOR_STATUS,
    ) -> HRESULT {
        // SAFETY: valid out-pointer. Report success.
        unsafe { status.write(WHV_EMULATOR_STATUS { AsUINT32: 1 }) };
        0
    }

    static FAKE: WhpApi = WhpApi {
        get_capability: unused_cap,
        create_partition: unused_create,
        setup_partition: ok_partition,
        delete_partition: ok_partition,
        set_partition_property: unused_prop,
        map_gpa_range: unused_map,
        create_virtual_processor: ok_vp_flags,
        delete_virtual_processor: ok_vp,
        run_virtual_processor: run,
        cancel_run_virtual_processor: cancel,
        get_vp_registers: get_regs,
        set_vp_registers: set_regs,
        translate_gva: unused_translate,
        emulator_create: emu_create,
        emulator_destroy: emu_destroy,
        emulator_try_io: emu_try_io,
        emulator_try_mmio: emu_try_mmio,
    };

    fn vcpu() -> WhpVcpu {
        let partition = Arc::new(Partition::for_tests(&FAKE));
        WhpVcpu::create(partition, 0).expect("fake vcpu")
    }

    fn push(f: Fixture) {
        EXITS.with(|e| e.borrow_mut().push_back(f));
    }

    fn writes() -> Vec<(WHV_REGISTER_NAME, u64)> {
        WRITES.with(|w| std::mem::take(&mut *w.borrow_mut()))
    }

    fn io_exit(access_info: u32, port: u16, rax: u64, rip: u64, len: u8) -> Fixture {
        let mut f = Fixture::new(WHvRunVpExitReasonX64IoPortAccess, rip, 0x202, 0, len, 0x9b);
        f.payload(20, &access_info.to_le_bytes())
            .payload(24, &port.to_le_bytes())
            .payload(32, &rax.to_le_bytes());
        f
    }

    #[test]
    fn out_and_in_fast_paths_write_rax_and_rip_once() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        push(io_exit(0b0011, 0x3f8, 0x1234_5641, 0x7c10, 1)); // out dx, al
        assert_eq!(v.run(&mut io).expect("out"), VcpuExit::Io);
        assert_eq!(writes(), [(WHvX64RegisterRip, 0x7c11)]);
        push(io_exit(0b0100, 0x60, 0xffff_ffff_ffff_ffff, 0xfffe, 2)); // in ax, dx
        assert_eq!(v.run(&mut io).expect("in"), VcpuExit::Io);
        assert_eq!(
            writes(),
            [
                (WHvX64RegisterRax, 0xffff_ffff_ffff_a1a0),
                (WHvX64RegisterRip, 0)
            ]
        );
        assert_eq!(io.log, ["out 0x3f8 [41]", "in 0x60 2"]);
    }

    #[test]
    fn string_io_goes_to_the_emulator_and_its_failure_is_a_guest_error() {
        let mut v = vcpu();
        let mut f = io_exit(0b11_0010, 0x3f8, 0, 0x100, 2); // rep outsb
        f.payload(0, &[2]).payload(4, &[0xf3, 0x6e]);
        push(f);
        match v.run(&mut FakeIo::default()) {
            Err(HvError::Guest(g)) => {
                assert!(g.what.contains("InternalEmulationFailure"), "{}", g.what);
                assert_eq!(g.bytes, [0xf3, 0x6e]);
                assert_eq!(g.pc, 0x100);
            }
            other => panic!("{other:?}"),
        }
        assert!(writes().is_empty(), "the fast path did not run");
    }

    #[test]
    fn exits_map_to_vcpu_exits() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        let simple = |reason| Fixture::new(reason, 0x10, 0x2, 0, 0, 0x9b);
        push(simple(WHvRunVpExitReasonX64Halt));
        push(simple(WHvRunVpExitReasonX64InterruptWindow));
        push(simple(WHvRunVpExitReasonUnrecoverableException));
        push(simple(WHvRunVpExitReasonCanceled));
        push(simple(WHvRunVpExitReasonMemoryAccess));
        assert_eq!(v.run(&mut io).expect("halt"), VcpuExit::Halt);
        assert_eq!(v.run(&mut io).expect("window"), VcpuExit::InterruptWindow);
        assert_eq!(v.run(&mut io).expect("triple fault"), VcpuExit::Shutdown);
        assert_eq!(v.run(&mut io).expect("cancel"), VcpuExit::Kicked);
        assert_eq!(v.run(&mut io).expect("mmio"), VcpuExit::Io);
        push(simple(0x1005)); // Hypercall: never enabled
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

    #[test]
    fn a_kick_before_entry_is_not_lost_and_none_reach_a_dropped_vcpu() {
        let mut v = vcpu();
        let kicker = v.kicker();
        kicker.kick();
        assert_eq!(CANCELS.with(Cell::get), 1);
        push(Fixture::new(WHvRunVpExitReasonX64Halt, 0, 0x2, 0, 0, 0x9b));
        let mut io = FakeIo::default();
        assert_eq!(v.run(&mut io).expect("kicked"), VcpuExit::Kicked);
        assert_eq!(
            v.run(&mut io).expect("then the queued halt"),
            VcpuExit::Halt
        );
        drop(v);
        kicker.kick();
        assert_eq!(CANCELS.with(Cell::get), 1, "no cancel after teardown");
    }

    #[test]
    fn injection_follows_the_last_exit_state() {
        let mut v = vcpu();
        let mut io = FakeIo::default();
        // IF=1, no shadow, nothing pending.
        push(Fixture::new(
            WHvRunVpExitReasonX64InterruptWindow,
            0,
            0x202,
            0,
            0,
            0x9b,
        ));
        v.run(&mut io).expect("window");
        assert!(v.ready_for_interrupt());
        v.inject_interrupt(0x08).expect("inject");
        assert_eq!(writes(), [(WHvRegisterPendingInterruption, 0x0008_0001)]);
        assert!(!v.ready_for_interrupt(), "one event at a time");
        assert!(v.inject_interrupt(0x09).is_err());
        // Interrupt shadow blocks injection: ask for a window instead.
        push(Fixture::new(
            WHvRunVpExitReasonX64Halt,
            0,
            0x202,
            1 << 12,
            0,
            0x9b,
        ));
        v.run(&mut io).expect("halt");
        assert!(!v.ready_for_interrupt());
        v.request_interrupt_window(true).expect("window");
        v.request_interrupt_window(true).expect("window again");
        assert_eq!(writes(), [(WHvX64RegisterDeliverabilityNotifications, 2)]);
    }
}
