//! A scripted stand-in for WinHvPlatform.dll and WinHvEmulation.dll, for the unit tests.
//!
//! Each partition created through [`FAKE`] (or [`new_partition`]) has its own [`State`]:
//! a script of exits for `WHvRunVirtualProcessor`, a register file, and a record of
//! every call the backend made. Where the backend depends on how WHP behaves, the fake
//! behaves the same way:
//!
//! * `WHvCancelRunVirtualProcessor` is latched: it sets a cancel-pending flag that the
//!   current run, or else the next one, consumes by returning
//!   `WHvRunVpExitReasonCanceled` (hyperlight `docs/cancellation.md`). A cancel issued
//!   while no run is in progress is therefore *not* lost and *not* reported twice.
//! * Register values and the exit context must be 16-byte aligned (the SDK's
//!   `DECLSPEC_ALIGN(16)`); a misaligned buffer is recorded as a violation.
//! * The emulator reaches guest memory and MMIO only through the memory callback, as
//!   WinHvEmulation does.
//!
//! The extern functions never panic (a panic cannot unwind out of them): problems are
//! recorded in [`State::violations`], which the tests check.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};

use hv_core::Kicker;
use windows_sys::Win32::Foundation::{E_FAIL, E_OUTOFMEMORY, S_OK, WHV_E_VP_DOES_NOT_EXIST};
use windows_sys::Win32::System::Hypervisor::*;
use windows_sys::core::HRESULT;

use crate::api::WhpApi;
use crate::decode::fixtures::Fixture;
use crate::emulator::CALLBACKS;

/// What one `WHvRunVirtualProcessor` call does.
pub(crate) enum Step {
    /// Returns this exit context.
    Exit(Fixture),
    /// A kick that races with an exit: the cancel arrives while the VP is already
    /// leaving with this exit, so WHP keeps it latched for the next run.
    KickWhileExiting(Fixture, Arc<dyn Kicker>),
    /// A guest that spins without exits until it is cancelled.
    SpinUntilCanceled,
}

/// One recorded `WHvSetPartitionProperty` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub code: WHV_PARTITION_PROPERTY_CODE,
    pub bytes: Vec<u8>,
}

/// A fake partition with one VP.
#[derive(Default)]
pub(crate) struct State {
    pub steps: VecDeque<Step>,
    /// The VP's registers, as the 128 bits of a WHV_REGISTER_VALUE.
    pub regs: HashMap<WHV_REGISTER_NAME, u128>,
    /// Every `WHvSetVirtualProcessorRegisters` batch, in order.
    pub set_batches: Vec<Vec<(WHV_REGISTER_NAME, u128)>>,
    /// Every `WHvGetVirtualProcessorRegisters` batch, in order.
    pub get_batches: Vec<Vec<WHV_REGISTER_NAME>>,
    pub cancel_latched: bool,
    /// A [`Step::SpinUntilCanceled`] run is in progress.
    pub spinning: bool,
    pub cancels: u32,
    pub runs: u32,
    pub vp_deleted: bool,
    /// Called inside `WHvDeleteVirtualProcessor`, after the VP is marked deleted: a kick
    /// that races with teardown.
    pub kick_during_delete: Option<Arc<dyn Kicker>>,
    pub properties: Vec<Property>,
    pub setup: bool,
    pub deleted: bool,
    /// Successful `WHvMapGpaRange` calls: (gpa, size, flags).
    pub maps: Vec<(u64, u64, WHV_MAP_GPA_RANGE_FLAGS)>,
    /// `WHvUnmapGpaRange` calls: (gpa, size).
    pub unmaps: Vec<(u64, u64)>,
    /// The index of the `WHvMapGpaRange` call that fails with E_OUTOFMEMORY.
    pub fail_map_at: Option<usize>,
    map_calls: usize,
    /// What `WHvUnmapGpaRange` returns.
    pub unmap_result: HRESULT,
    /// Things a real WHP would have faulted on or refused.
    pub violations: Vec<String>,
}

struct Partition {
    state: Mutex<State>,
    cancelled: Condvar,
}

static NEXT_HANDLE: AtomicIsize = AtomicIsize::new(0x1000);
static PARTITIONS: LazyLock<Mutex<HashMap<isize, Arc<Partition>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Creates a fake partition and returns its handle.
pub(crate) fn new_partition() -> isize {
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    let partition = Arc::new(Partition {
        state: Mutex::new(State::default()),
        cancelled: Condvar::new(),
    });
    PARTITIONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(handle, partition);
    handle
}

fn partition(handle: isize) -> Option<Arc<Partition>> {
    PARTITIONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&handle)
        .cloned()
}

/// Runs `f` on the state of partition `handle` (panics in test code if there is none).
pub(crate) fn with<R>(handle: isize, f: impl FnOnce(&mut State) -> R) -> R {
    let p = partition(handle).expect("a fake partition");
    let mut state = lock(&p);
    f(&mut state)
}

fn lock(p: &Partition) -> MutexGuard<'_, State> {
    p.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends steps to the script of partition `handle`.
pub(crate) fn script(handle: isize, steps: impl IntoIterator<Item = Step>) {
    with(handle, |s| s.steps.extend(steps));
}

/// Takes the recorded set-register batches.
pub(crate) fn take_sets(handle: isize) -> Vec<Vec<(WHV_REGISTER_NAME, u128)>> {
    with(handle, |s| std::mem::take(&mut s.set_batches))
}

/// The set-register writes as (name, low 64 bits), flattened.
pub(crate) fn take_writes(handle: isize) -> Vec<(WHV_REGISTER_NAME, u64)> {
    take_sets(handle)
        .into_iter()
        .flatten()
        .map(|(n, v)| (n, v as u64))
        .collect()
}

/// Sets one register of the fake VP.
pub(crate) fn set_reg(handle: isize, name: WHV_REGISTER_NAME, value: u64) {
    with(handle, |s| {
        s.regs.insert(name, u128::from(value));
    });
}

/// The recorded violations (empty when the backend behaved).
pub(crate) fn violations(handle: isize) -> Vec<String> {
    with(handle, |s| s.violations.clone())
}

fn record_violation(handle: isize, what: String) {
    if let Some(p) = partition(handle) {
        lock(&p).violations.push(what);
    }
}

unsafe extern "system" fn get_capability(_: i32, _: *mut c_void, _: u32, _: *mut u32) -> HRESULT {
    E_FAIL
}

unsafe extern "system" fn create_partition(out: *mut isize) -> HRESULT {
    if out.is_null() {
        return E_FAIL;
    }
    // SAFETY: the backend passes a valid out-pointer (checked non-null above).
    unsafe { out.write(new_partition()) };
    S_OK
}

unsafe extern "system" fn setup_partition(handle: isize) -> HRESULT {
    match partition(handle) {
        Some(p) => {
            lock(&p).setup = true;
            S_OK
        }
        None => E_FAIL,
    }
}

unsafe extern "system" fn delete_partition(handle: isize) -> HRESULT {
    match partition(handle) {
        Some(p) => {
            lock(&p).deleted = true;
            S_OK
        }
        None => E_FAIL,
    }
}

unsafe extern "system" fn set_partition_property(
    handle: isize,
    code: i32,
    value: *const c_void,
    len: u32,
) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    if s.setup {
        s.violations
            .push(format!("property {code:#x} set after WHvSetupPartition"));
    }
    if value.is_null() {
        s.violations
            .push(format!("property {code:#x}: null buffer"));
        return E_FAIL;
    }
    // SAFETY: the backend passes `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(value.cast::<u8>(), len as usize) }.to_vec();
    s.properties.push(Property { code, bytes });
    S_OK
}

unsafe extern "system" fn map_gpa_range(
    handle: isize,
    _source: *const c_void,
    gpa: u64,
    size: u64,
    flags: i32,
) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    let call = s.map_calls;
    s.map_calls += 1;
    if s.fail_map_at == Some(call) {
        return E_OUTOFMEMORY;
    }
    s.maps.push((gpa, size, flags));
    S_OK
}

unsafe extern "system" fn unmap_gpa_range(handle: isize, gpa: u64, size: u64) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    s.unmaps.push((gpa, size));
    s.unmap_result
}

unsafe extern "system" fn create_vp(_: isize, _: u32, _: u32) -> HRESULT {
    S_OK
}

unsafe extern "system" fn delete_vp(handle: isize, _: u32) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let racing_kick = {
        let mut s = lock(&p);
        s.vp_deleted = true;
        s.kick_during_delete.take()
    };
    if let Some(k) = racing_kick {
        k.kick();
    }
    S_OK
}

unsafe extern "system" fn cancel(handle: isize, _: u32, flags: u32) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    s.cancels += 1;
    if flags != 0 {
        s.violations.push(format!("cancel with flags {flags:#x}"));
    }
    if s.vp_deleted {
        s.violations.push("cancel of a deleted VP".into());
        return WHV_E_VP_DOES_NOT_EXIST;
    }
    s.cancel_latched = true;
    p.cancelled.notify_all();
    S_OK
}

fn canceled_exit(s: &State) -> Fixture {
    let rip = s.regs.get(&WHvX64RegisterRip).copied().unwrap_or(0) as u64;
    Fixture::new(WHvRunVpExitReasonCanceled, rip, 0x2, 0, 0, 0x9b)
}

unsafe extern "system" fn run(handle: isize, _: u32, ctx: *mut c_void, size: u32) -> HRESULT {
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    s.runs += 1;
    if size != 224 || ctx.is_null() || ctx as usize % 16 != 0 {
        s.violations.push(format!(
            "exit context {ctx:p} of {size} bytes (need 224, 16-byte aligned)"
        ));
        return E_FAIL;
    }
    if s.vp_deleted {
        s.violations.push("run of a deleted VP".into());
        return WHV_E_VP_DOES_NOT_EXIST;
    }
    let exit = if s.cancel_latched {
        s.cancel_latched = false;
        canceled_exit(&s)
    } else {
        match s.steps.pop_front() {
            None => return E_FAIL,
            Some(Step::Exit(f)) => f,
            Some(Step::KickWhileExiting(f, kicker)) => {
                drop(s);
                kicker.kick();
                s = lock(&p);
                f
            }
            Some(Step::SpinUntilCanceled) => {
                s.spinning = true;
                while !s.cancel_latched {
                    s = p.cancelled.wait(s).unwrap_or_else(PoisonError::into_inner);
                }
                s.spinning = false;
                s.cancel_latched = false;
                canceled_exit(&s)
            }
        }
    };
    drop(s);
    // SAFETY: `ctx` is a writable 224-byte buffer (checked above).
    unsafe { std::ptr::copy_nonoverlapping(exit.0.as_ptr(), ctx.cast::<u8>(), 224) };
    S_OK
}

fn value_bits(v: &WHV_REGISTER_VALUE) -> u128 {
    // SAFETY: WHV_UINT128 is 16 plain bytes; every view of the union is integers.
    let d = unsafe { v.Reg128.Dword };
    d.iter()
        .rev()
        .fold(0u128, |acc, &w| (acc << 32) | u128::from(w))
}

unsafe extern "system" fn set_regs(
    handle: isize,
    _: u32,
    names: *const WHV_REGISTER_NAME,
    count: u32,
    values: *const WHV_REGISTER_VALUE,
) -> HRESULT {
    if values as usize % 16 != 0 || names.is_null() || values.is_null() {
        record_violation(
            handle,
            format!("register values at {values:p}: not 16-byte aligned"),
        );
        return E_FAIL;
    }
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    let mut batch = Vec::new();
    for i in 0..count as usize {
        // SAFETY: the backend passes `count` names and values.
        let (n, v) = unsafe { (*names.add(i), value_bits(&*values.add(i))) };
        s.regs.insert(n, v);
        batch.push((n, v));
    }
    s.set_batches.push(batch);
    S_OK
}

unsafe extern "system" fn get_regs(
    handle: isize,
    _: u32,
    names: *const WHV_REGISTER_NAME,
    count: u32,
    values: *mut WHV_REGISTER_VALUE,
) -> HRESULT {
    if values as usize % 16 != 0 || names.is_null() || values.is_null() {
        record_violation(
            handle,
            format!("register values at {values:p}: not 16-byte aligned"),
        );
        return E_FAIL;
    }
    let Some(p) = partition(handle) else {
        return E_FAIL;
    };
    let mut s = lock(&p);
    let mut batch = Vec::new();
    for i in 0..count as usize {
        // SAFETY: the backend passes `count` names and room for `count` values.
        let n = unsafe { *names.add(i) };
        let bits = s.regs.get(&n).copied().unwrap_or(0);
        let dword = |k: u32| (bits >> (32 * k)) as u32;
        // SAFETY: as above; the value slot is writable.
        unsafe {
            (*values.add(i)).Reg128 = WHV_UINT128 {
                Dword: [dword(0), dword(1), dword(2), dword(3)],
            }
        };
        batch.push(n);
    }
    s.get_batches.push(batch);
    S_OK
}

unsafe extern "system" fn translate_gva(
    _: isize,
    _: u32,
    _: u64,
    _: i32,
    _: *mut WHV_TRANSLATE_GVA_RESULT,
    _: *mut u64,
) -> HRESULT {
    E_FAIL
}

/// What the fake instruction emulator does on this thread (emulator calls carry no
/// partition handle; they run on the vCPU thread, inside `run`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmulatorScript {
    /// `WHV_EMULATOR_STATUS.AsUINT32` for string I/O.
    pub io_status: u32,
    /// `WHV_EMULATOR_STATUS.AsUINT32` for MMIO.
    pub mmio_status: u32,
    pub io_calls: u32,
    pub mmio_calls: u32,
}

impl Default for EmulatorScript {
    fn default() -> Self {
        Self {
            io_status: 1,
            mmio_status: 1,
            io_calls: 0,
            mmio_calls: 0,
        }
    }
}

thread_local! {
    /// The emulator behaviour for tests on this thread.
    pub(crate) static EMULATOR: RefCell<EmulatorScript> = RefCell::new(EmulatorScript::default());
}

unsafe extern "system" fn emu_create(
    callbacks: *const WHV_EMULATOR_CALLBACKS,
    e: *mut *mut c_void,
) -> HRESULT {
    if callbacks.is_null() || e.is_null() {
        return E_FAIL;
    }
    // SAFETY: valid out-pointer (checked non-null above).
    unsafe { e.write(std::ptr::dangling_mut()) };
    S_OK
}

unsafe extern "system" fn emu_destroy(_: *const c_void) -> HRESULT {
    S_OK
}

unsafe extern "system" fn emu_try_io(
    _: *const c_void,
    _: *const c_void,
    _: *const WHV_VP_EXIT_CONTEXT,
    _: *const WHV_X64_IO_PORT_ACCESS_CONTEXT,
    status: *mut WHV_EMULATOR_STATUS,
) -> HRESULT {
    let bits = EMULATOR.with(|e| {
        let mut e = e.borrow_mut();
        e.io_calls += 1;
        e.io_status
    });
    if status.is_null() {
        return E_FAIL;
    }
    // SAFETY: valid out-pointer (checked non-null above).
    unsafe { status.write(WHV_EMULATOR_STATUS { AsUINT32: bits }) };
    S_OK
}

/// Emulates one access the way WinHvEmulation reaches memory: through the memory
/// callback at the exit's GPA (a 1-byte read for read and execute accesses, a 1-byte
/// write of 0xAB for writes).
unsafe extern "system" fn emu_try_mmio(
    _: *const c_void,
    context: *const c_void,
    _: *const WHV_VP_EXIT_CONTEXT,
    mmio: *const WHV_MEMORY_ACCESS_CONTEXT,
    status: *mut WHV_EMULATOR_STATUS,
) -> HRESULT {
    let bits = EMULATOR.with(|e| {
        let mut e = e.borrow_mut();
        e.mmio_calls += 1;
        e.mmio_status
    });
    if status.is_null() || mmio.is_null() {
        return E_FAIL;
    }
    // SAFETY: the backend passes the exit's memory-access context (checked non-null).
    let (gpa, info) = unsafe { ((*mmio).Gpa, (*mmio).AccessInfo.AsUINT32) };
    let is_write = info & crate::defs::memory_access::ACCESS_TYPE_MASK == 1;
    let mut access = WHV_EMULATOR_MEMORY_ACCESS_INFO {
        GpaAddress: gpa,
        Direction: u8::from(is_write),
        AccessSize: 1,
        Data: [0xAB, 0, 0, 0, 0, 0, 0, 0],
    };
    let Some(memory_callback) = CALLBACKS.WHvEmulatorMemoryCallback else {
        return E_FAIL;
    };
    // SAFETY: `context` is the one the backend passed to this call, and `access` is a
    // valid, exclusive access-info struct: what the real emulator passes.
    let hr = unsafe { memory_callback(context, &mut access) };
    let bits = if hr == S_OK { bits } else { 1 << 3 }; // MemoryCallbackFailed
    // SAFETY: valid out-pointer (checked non-null above).
    unsafe { status.write(WHV_EMULATOR_STATUS { AsUINT32: bits }) };
    S_OK
}

/// The fake function table.
pub(crate) static FAKE: WhpApi = WhpApi {
    get_capability,
    create_partition,
    setup_partition,
    delete_partition,
    set_partition_property,
    map_gpa_range,
    unmap_gpa_range,
    create_virtual_processor: create_vp,
    delete_virtual_processor: delete_vp,
    run_virtual_processor: run,
    cancel_run_virtual_processor: cancel,
    get_vp_registers: get_regs,
    set_vp_registers: set_regs,
    translate_gva,
    emulator_create: emu_create,
    emulator_destroy: emu_destroy,
    emulator_try_io: emu_try_io,
    emulator_try_mmio: emu_try_mmio,
};
