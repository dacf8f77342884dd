//! The WinHvEmulation instruction emulator, used for string I/O (INS/OUTS) and MMIO.
//!
//! The emulator decodes the instruction and calls back into us for each piece it needs:
//! port accesses, guest-physical memory (MMIO *and* RAM, since `rep outsb` reads its
//! source from RAM through this callback), registers and GVA translation. Callbacks run
//! synchronously inside `WHvEmulatorTry*Emulation`, so the context is a pointer to a
//! [`CallbackContext`] on the caller's stack.
//!
//! Each callback is a thin `extern "system"` shim over a safe function ([`io_port`],
//! [`memory_access`], [`VpAccess`]) that the tests drive with fake emulator inputs.
//! Panics (from device code behind the `IoHandler`) are caught at the FFI boundary,
//! reported to the emulator as a failure, and resumed once the emulator has returned.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use hv_core::{GuestMemory, IoHandler, Result};
use windows_sys::Win32::Foundation::{E_FAIL, E_INVALIDARG, E_UNEXPECTED, S_OK};
use windows_sys::Win32::System::Hypervisor::*;
use windows_sys::core::HRESULT;

use crate::api::WhpApi;
use crate::hresult::check;

/// Register access and address translation for the emulator; the VP implements it by
/// forwarding to WHP.
pub(crate) trait VpAccess {
    /// `WHvGetVirtualProcessorRegisters` for `names`.
    fn get_registers(
        &self,
        names: &[WHV_REGISTER_NAME],
        values: &mut [WHV_REGISTER_VALUE],
    ) -> HRESULT;
    /// `WHvSetVirtualProcessorRegisters` for `names`.
    fn set_registers(&self, names: &[WHV_REGISTER_NAME], values: &[WHV_REGISTER_VALUE]) -> HRESULT;
    /// `WHvTranslateGva`: the result code and the GPA.
    fn translate_gva(
        &self,
        gva: u64,
        flags: WHV_TRANSLATE_GVA_FLAGS,
    ) -> std::result::Result<(WHV_TRANSLATE_GVA_RESULT_CODE, u64), HRESULT>;
}

/// Everything the callbacks reach, for the duration of one `Try*Emulation` call.
pub(crate) struct CallbackContext<'a> {
    pub io: &'a mut dyn IoHandler,
    pub memory: Option<&'a GuestMemory>,
    pub vp: &'a dyn VpAccess,
    panic: Option<Box<dyn Any + Send>>,
}

impl<'a> CallbackContext<'a> {
    pub(crate) fn new(
        io: &'a mut dyn IoHandler,
        memory: Option<&'a GuestMemory>,
        vp: &'a dyn VpAccess,
    ) -> Self {
        Self {
            io,
            memory,
            vp,
            panic: None,
        }
    }

    /// Runs `f`, turning a panic into `E_UNEXPECTED` and keeping it for [`Self::resume_panic`].
    fn guarded(&mut self, f: impl FnOnce(&mut Self) -> HRESULT) -> HRESULT {
        if self.panic.is_some() {
            return E_UNEXPECTED;
        }
        match catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(hr) => hr,
            Err(payload) => {
                self.panic = Some(payload);
                E_UNEXPECTED
            }
        }
    }

    /// Re-raises a panic caught in a callback, now that no foreign frame is in between.
    fn resume_panic(&mut self) {
        if let Some(payload) = self.panic.take() {
            resume_unwind(payload);
        }
    }
}

/// The I/O callback's logic: Direction 0 = IN (fill `Data`), 1 = OUT (send `Data`).
pub(crate) fn io_port(io: &mut dyn IoHandler, info: &mut WHV_EMULATOR_IO_ACCESS_INFO) -> HRESULT {
    let size = usize::from(info.AccessSize);
    if !matches!(size, 1 | 2 | 4) {
        return E_INVALIDARG;
    }
    match info.Direction {
        0 => {
            let mut data = [0u8; 4];
            io.pio_read(info.Port, &mut data[..size]);
            info.Data = u32::from_le_bytes(data);
        }
        1 => io.pio_write(info.Port, &info.Data.to_le_bytes()[..size]),
        _ => return E_INVALIDARG,
    }
    S_OK
}

/// Whether `[gpa, gpa+len)` lies inside one region, and if so whether it is read-only.
fn ram_region(memory: &GuestMemory, gpa: u64, len: u64) -> Option<bool> {
    let end = gpa.checked_add(len)?;
    memory
        .regions()
        .find(|r| gpa >= r.gpa && end <= r.gpa.saturating_add(r.size))
        .map(|r| r.read_only)
}

/// The memory callback's logic: RAM and ROM reads, and RAM writes, go to guest memory;
/// everything else (unmapped addresses, writes to ROM, accesses that straddle a region
/// end) goes to the MMIO handler. Direction 0 = read, 1 = write; size 1..=8.
pub(crate) fn memory_access(
    memory: Option<&GuestMemory>,
    io: &mut dyn IoHandler,
    info: &mut WHV_EMULATOR_MEMORY_ACCESS_INFO,
) -> HRESULT {
    let size = usize::from(info.AccessSize);
    if !(1..=8).contains(&size) {
        return E_INVALIDARG;
    }
    let is_write = match info.Direction {
        0 => false,
        1 => true,
        _ => return E_INVALIDARG,
    };
    let gpa = info.GpaAddress;
    let region = memory.and_then(|m| Some((m, ram_region(m, gpa, size as u64)?)));
    let data = &mut info.Data[..size];
    match (region, is_write) {
        (Some((m, _)), false) => {
            if m.read(gpa, data).is_err() {
                return E_FAIL;
            }
        }
        (Some((m, false)), true) => {
            if m.write(gpa, data).is_err() {
                return E_FAIL;
            }
        }
        (_, false) => {
            data.fill(0);
            io.mmio_read(gpa, data);
        }
        (_, true) => io.mmio_write(gpa, data),
    }
    S_OK
}

/// Upper bound on one register batch from the emulator (it asks for a handful).
const MAX_REGISTER_BATCH: u32 = 64;

/// Checks an emulator-supplied array and builds a slice over it.
///
/// # Safety
/// If `ptr` is non-null it must point to `count` initialized `T`s, valid for `'a`.
unsafe fn checked_slice<'a, T>(ptr: *const T, count: u32) -> Option<&'a [T]> {
    if count == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || count > MAX_REGISTER_BATCH || !ptr.is_aligned() {
        return None;
    }
    // SAFETY: non-null, aligned, bounded count; the caller vouches for validity.
    Some(unsafe { std::slice::from_raw_parts(ptr, count as usize) })
}

/// Mutable form of [`checked_slice`].
///
/// # Safety
/// As [`checked_slice`], and no other reference to the array may exist.
unsafe fn checked_slice_mut<'a, T>(ptr: *mut T, count: u32) -> Option<&'a mut [T]> {
    if count == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() || count > MAX_REGISTER_BATCH || !ptr.is_aligned() {
        return None;
    }
    // SAFETY: as in checked_slice, plus exclusivity from the caller.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, count as usize) })
}

/// Recovers the context passed to `Try*Emulation`.
///
/// # Safety
/// `ctx` must be the `&mut CallbackContext` pointer given to the current
/// `Try*Emulation` call, with no other live reference to it.
unsafe fn context<'a>(ctx: *const c_void) -> Option<&'a mut CallbackContext<'a>> {
    // SAFETY: per the contract above.
    unsafe { ctx.cast_mut().cast::<CallbackContext<'a>>().as_mut() }
}

unsafe extern "system" fn io_port_callback(
    ctx: *const c_void,
    info: *mut WHV_EMULATOR_IO_ACCESS_INFO,
) -> HRESULT {
    // SAFETY: the emulator hands back the context we passed to Try*Emulation.
    let Some(ctx) = (unsafe { context(ctx) }) else {
        return E_UNEXPECTED;
    };
    // SAFETY: the emulator passes a valid, exclusive access-info struct (or null).
    let Some(info) = (unsafe { info.as_mut() }) else {
        return E_INVALIDARG;
    };
    ctx.guarded(|c| io_port(c.io, info))
}

unsafe extern "system" fn memory_callback(
    ctx: *const c_void,
    info: *mut WHV_EMULATOR_MEMORY_ACCESS_INFO,
) -> HRESULT {
    // SAFETY: the emulator hands back the context we passed to Try*Emulation.
    let Some(ctx) = (unsafe { context(ctx) }) else {
        return E_UNEXPECTED;
    };
    // SAFETY: the emulator passes a valid, exclusive access-info struct (or null).
    let Some(info) = (unsafe { info.as_mut() }) else {
        return E_INVALIDARG;
    };
    ctx.guarded(|c| memory_access(c.memory, c.io, info))
}

unsafe extern "system" fn get_registers_callback(
    ctx: *const c_void,
    names: *const WHV_REGISTER_NAME,
    count: u32,
    values: *mut WHV_REGISTER_VALUE,
) -> HRESULT {
    // SAFETY: the emulator hands back the context we passed to Try*Emulation.
    let Some(ctx) = (unsafe { context(ctx) }) else {
        return E_UNEXPECTED;
    };
    // SAFETY: the emulator passes `count` names and room for `count` values.
    let arrays = unsafe {
        (
            checked_slice(names, count),
            checked_slice_mut(values, count),
        )
    };
    let (Some(names), Some(values)) = arrays else {
        return E_INVALIDARG;
    };
    ctx.guarded(|c| c.vp.get_registers(names, values))
}

unsafe extern "system" fn set_registers_callback(
    ctx: *const c_void,
    names: *const WHV_REGISTER_NAME,
    count: u32,
    values: *const WHV_REGISTER_VALUE,
) -> HRESULT {
    // SAFETY: the emulator hands back the context we passed to Try*Emulation.
    let Some(ctx) = (unsafe { context(ctx) }) else {
        return E_UNEXPECTED;
    };
    // SAFETY: the emulator passes `count` names and `count` values.
    let arrays = unsafe { (checked_slice(names, count), checked_slice(values, count)) };
    let (Some(names), Some(values)) = arrays else {
        return E_INVALIDARG;
    };
    ctx.guarded(|c| c.vp.set_registers(names, values))
}

unsafe extern "system" fn translate_gva_callback(
    ctx: *const c_void,
    gva: u64,
    flags: WHV_TRANSLATE_GVA_FLAGS,
    result: *mut WHV_TRANSLATE_GVA_RESULT_CODE,
    gpa: *mut u64,
) -> HRESULT {
    // SAFETY: the emulator hands back the context we passed to Try*Emulation.
    let Some(ctx) = (unsafe { context(ctx) }) else {
        return E_UNEXPECTED;
    };
    if result.is_null() || gpa.is_null() || !result.is_aligned() || !gpa.is_aligned() {
        return E_INVALIDARG;
    }
    ctx.guarded(|c| match c.vp.translate_gva(gva, flags) {
        Ok((code, address)) => {
            // SAFETY: both out-pointers were checked non-null and aligned above and
            // point to emulator-owned storage for this call.
            unsafe {
                result.write(code);
                gpa.write(address);
            }
            S_OK
        }
        Err(hr) => hr,
    })
}

/// The callback table handed to `WHvEmulatorCreateEmulator`.
pub(crate) static CALLBACKS: WHV_EMULATOR_CALLBACKS = WHV_EMULATOR_CALLBACKS {
    Size: size_of::<WHV_EMULATOR_CALLBACKS>() as u32,
    Reserved: 0,
    WHvEmulatorIoPortCallback: Some(io_port_callback),
    WHvEmulatorMemoryCallback: Some(memory_callback),
    WHvEmulatorGetVirtualProcessorRegisters: Some(get_registers_callback),
    WHvEmulatorSetVirtualProcessorRegisters: Some(set_registers_callback),
    WHvEmulatorTranslateGvaPage: Some(translate_gva_callback),
};

/// `WHV_EMULATOR_STATUS.AsUINT32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EmulatorStatus(pub u32);

impl EmulatorStatus {
    /// `WHV_EMULATOR_STATUS` bit names, indexed by bit position (WinHvEmulation.h).
    pub(crate) const BITS: [&'static str; 10] = [
        "EmulationSuccessful",
        "InternalEmulationFailure",
        "IoPortCallbackFailed",
        "MemoryCallbackFailed",
        "TranslateGvaPageCallbackFailed",
        "TranslateGvaPageCallbackGpaIsNotAligned",
        "GetVirtualProcessorRegistersCallbackFailed",
        "SetVirtualProcessorRegistersCallbackFailed",
        "InterruptCausedIntercept",
        "GuestCannotBeFaulted",
    ];

    /// Bit 0, EmulationSuccessful.
    pub(crate) fn succeeded(self) -> bool {
        self.0 & 1 != 0
    }

    /// The names of the set bits, e.g. "MemoryCallbackFailed|GuestCannotBeFaulted".
    pub(crate) fn describe(self) -> String {
        let mut names: Vec<String> = Self::BITS
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, n)| (*n).to_string())
            .collect();
        let unknown = self.0 & !((1 << Self::BITS.len()) - 1);
        if unknown != 0 {
            names.push(format!("{unknown:#x}"));
        }
        if names.is_empty() {
            "no status bits".to_string()
        } else {
            names.join("|")
        }
    }
}

/// One emulator instance (one per vCPU).
#[derive(Debug)]
pub(crate) struct Emulator {
    api: &'static WhpApi,
    handle: *mut c_void,
}

impl Emulator {
    pub(crate) fn new(api: &'static WhpApi) -> Result<Self> {
        let mut handle = std::ptr::null_mut();
        // SAFETY: CALLBACKS is a static with the documented layout and Size; `handle`
        // is a valid out-pointer.
        let hr = unsafe { (api.emulator_create)(&CALLBACKS, &mut handle) };
        check("WHvEmulatorCreateEmulator", hr)?;
        Ok(Self { api, handle })
    }

    /// `WHvEmulatorTryIoEmulation` for a string I/O exit.
    pub(crate) fn try_io(
        &self,
        ctx: &mut CallbackContext<'_>,
        vp: &WHV_VP_EXIT_CONTEXT,
        io: &WHV_X64_IO_PORT_ACCESS_CONTEXT,
    ) -> Result<EmulatorStatus> {
        let mut status = WHV_EMULATOR_STATUS { AsUINT32: 0 };
        let ctx_ptr: *mut CallbackContext<'_> = ctx;
        // SAFETY: the emulator handle is live; `ctx_ptr` stays valid and unaliased for
        // the call (callbacks run synchronously inside it); the contexts are the ones
        // WHvRunVirtualProcessor filled.
        let hr =
            unsafe { (self.api.emulator_try_io)(self.handle, ctx_ptr.cast(), vp, io, &mut status) };
        ctx.resume_panic();
        check("WHvEmulatorTryIoEmulation", hr)?;
        // SAFETY: the union is a u32 either way.
        Ok(EmulatorStatus(unsafe { status.AsUINT32 }))
    }

    /// `WHvEmulatorTryMmioEmulation` for a memory-access exit.
    pub(crate) fn try_mmio(
        &self,
        ctx: &mut CallbackContext<'_>,
        vp: &WHV_VP_EXIT_CONTEXT,
        mmio: &WHV_MEMORY_ACCESS_CONTEXT,
    ) -> Result<EmulatorStatus> {
        let mut status = WHV_EMULATOR_STATUS { AsUINT32: 0 };
        let ctx_ptr: *mut CallbackContext<'_> = ctx;
        // SAFETY: as in try_io.
        let hr = unsafe {
            (self.api.emulator_try_mmio)(self.handle, ctx_ptr.cast(), vp, mmio, &mut status)
        };
        ctx.resume_panic();
        check("WHvEmulatorTryMmioEmulation", hr)?;
        // SAFETY: the union is a u32 either way.
        Ok(EmulatorStatus(unsafe { status.AsUINT32 }))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SAFETY: the handle came from WHvEmulatorCreateEmulator and is destroyed once.
        let hr = unsafe { (self.api.emulator_destroy)(self.handle) };
        if let Err(e) = check("WHvEmulatorDestroyEmulator", hr) {
            log::warn!("{e}");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::RefCell;

    use hv_core::memory::RegionSpec;

    use super::*;

    /// Records every access; port and MMIO reads return a fixed pattern.
    #[derive(Default)]
    pub(crate) struct FakeIo {
        pub log: Vec<String>,
    }

    impl IoHandler for FakeIo {
        fn pio_read(&mut self, port: u16, data: &mut [u8]) {
            assert!(data.iter().all(|&b| b == 0), "backend zero-fills");
            self.log.push(format!("in {port:#x} {}", data.len()));
            for (i, b) in data.iter_mut().enumerate() {
                *b = 0xa0 + i as u8;
            }
        }
        fn pio_write(&mut self, port: u16, data: &[u8]) {
            self.log.push(format!("out {port:#x} {data:02x?}"));
        }
        fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
            assert!(data.iter().all(|&b| b == 0), "backend zero-fills");
            self.log.push(format!("mmio read {gpa:#x} {}", data.len()));
            data.fill(0x5a);
        }
        fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
            self.log.push(format!("mmio write {gpa:#x} {data:02x?}"));
        }
    }

    /// A fake VP with a register file of Reg64 values keyed by name.
    #[derive(Default)]
    pub(crate) struct FakeVp {
        pub regs: RefCell<Vec<(WHV_REGISTER_NAME, u64)>>,
    }

    impl VpAccess for FakeVp {
        fn get_registers(
            &self,
            names: &[WHV_REGISTER_NAME],
            values: &mut [WHV_REGISTER_VALUE],
        ) -> HRESULT {
            let regs = self.regs.borrow();
            for (n, v) in names.iter().zip(values) {
                let found = regs.iter().find(|(k, _)| k == n).map_or(0, |(_, x)| *x);
                v.Reg64 = found;
            }
            S_OK
        }
        fn set_registers(
            &self,
            names: &[WHV_REGISTER_NAME],
            values: &[WHV_REGISTER_VALUE],
        ) -> HRESULT {
            let mut regs = self.regs.borrow_mut();
            for (n, v) in names.iter().zip(values) {
                // SAFETY: test values are written as Reg64.
                let x = unsafe { v.Reg64 };
                regs.retain(|(k, _)| k != n);
                regs.push((*n, x));
            }
            S_OK
        }
        fn translate_gva(
            &self,
            gva: u64,
            _flags: WHV_TRANSLATE_GVA_FLAGS,
        ) -> std::result::Result<(WHV_TRANSLATE_GVA_RESULT_CODE, u64), HRESULT> {
            if gva >= 0x8000_0000 {
                Ok((WHvTranslateGvaResultPageNotPresent, 0))
            } else {
                Ok((WHvTranslateGvaResultSuccess, gva + 0x1000))
            }
        }
    }

    fn memory() -> GuestMemory {
        GuestMemory::new(&[
            RegionSpec {
                gpa: 0,
                size: 0x4000,
                read_only: false,
            },
            RegionSpec {
                gpa: 0xf_0000,
                size: 0x1_0000,
                read_only: true,
            },
        ])
        .expect("layout")
    }

    fn ctx_ptr(ctx: &mut CallbackContext<'_>) -> *const c_void {
        let p: *mut CallbackContext<'_> = ctx;
        p.cast_const().cast()
    }

    fn io_info(direction: u8, port: u16, size: u16, data: u32) -> WHV_EMULATOR_IO_ACCESS_INFO {
        WHV_EMULATOR_IO_ACCESS_INFO {
            Direction: direction,
            Port: port,
            AccessSize: size,
            Data: data,
        }
    }

    fn mem_info(
        direction: u8,
        gpa: u64,
        size: u8,
        data: [u8; 8],
    ) -> WHV_EMULATOR_MEMORY_ACCESS_INFO {
        WHV_EMULATOR_MEMORY_ACCESS_INFO {
            GpaAddress: gpa,
            Direction: direction,
            AccessSize: size,
            Data: data,
        }
    }

    #[test]
    fn io_callback_in_and_out() {
        let (mut io, vp) = (FakeIo::default(), FakeVp::default());
        let mut ctx = CallbackContext::new(&mut io, None, &vp);
        let cb = CALLBACKS.WHvEmulatorIoPortCallback.expect("set");
        let mut out = io_info(1, 0x3f8, 2, 0x1234_4142);
        // SAFETY: the context and info are valid for the call, as the emulator guarantees.
        assert_eq!(unsafe { cb(ctx_ptr(&mut ctx), &mut out) }, S_OK);
        let mut inb = io_info(0, 0x60, 4, 0xffff_ffff);
        // SAFETY: as above.
        assert_eq!(unsafe { cb(ctx_ptr(&mut ctx), &mut inb) }, S_OK);
        assert_eq!(inb.Data, 0xa3a2_a1a0);
        for bad in [
            io_info(0, 0, 3, 0),
            io_info(0, 0, 8, 0),
            io_info(2, 0, 1, 0),
        ] {
            let mut bad = bad;
            // SAFETY: as above.
            assert_eq!(unsafe { cb(ctx_ptr(&mut ctx), &mut bad) }, E_INVALIDARG);
        }
        // SAFETY: a null info pointer must be refused, not dereferenced.
        let hr = unsafe { cb(ctx_ptr(&mut ctx), std::ptr::null_mut()) };
        assert_eq!(hr, E_INVALIDARG);
        // SAFETY: a null context must be refused, not dereferenced.
        assert_eq!(unsafe { cb(std::ptr::null(), &mut out) }, E_UNEXPECTED);
        assert_eq!(io.log, ["out 0x3f8 [42, 41]", "in 0x60 4"]);
    }

    #[test]
    fn memory_callback_serves_ram_rom_and_mmio() {
        let mem = memory();
        mem.write(0x100, &[1, 2, 3, 4]).expect("in range");
        mem.write(0xf_0000, &[0xea]).expect("host may write rom");
        let (mut io, vp) = (FakeIo::default(), FakeVp::default());
        let mut ctx = CallbackContext::new(&mut io, Some(&mem), &vp);
        let cb = CALLBACKS.WHvEmulatorMemoryCallback.expect("set");
        let mut call = |info: &mut WHV_EMULATOR_MEMORY_ACCESS_INFO| {
            // SAFETY: the context and info are valid for the call.
            unsafe { cb(ctx_ptr(&mut ctx), info) }
        };

        let mut ram_read = mem_info(0, 0x100, 4, [0xff; 8]);
        assert_eq!(call(&mut ram_read), S_OK);
        assert_eq!(&ram_read.Data[..4], &[1, 2, 3, 4]);

        let mut ram_write = mem_info(1, 0x200, 2, [9, 8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(call(&mut ram_write), S_OK);

        let mut rom_read = mem_info(0, 0xf_0000, 1, [0; 8]);
        assert_eq!(call(&mut rom_read), S_OK);
        assert_eq!(rom_read.Data[0], 0xea);

        let mut rom_write = mem_info(1, 0xf_0000, 1, [0x77, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(call(&mut rom_write), S_OK);

        let mut mmio_read = mem_info(0, 0xfee0_0000, 8, [0xff; 8]);
        assert_eq!(call(&mut mmio_read), S_OK);
        assert_eq!(mmio_read.Data, [0x5a; 8]);

        let mut straddle = mem_info(0, 0x3ffe, 4, [0; 8]);
        assert_eq!(call(&mut straddle), S_OK);

        let mut wrap = mem_info(0, u64::MAX - 1, 4, [0; 8]);
        assert_eq!(
            call(&mut wrap),
            S_OK,
            "wrapping address goes to MMIO, not RAM"
        );

        for mut bad in [
            mem_info(0, 0, 0, [0; 8]),
            mem_info(0, 0, 9, [0; 8]),
            mem_info(7, 0, 1, [0; 8]),
        ] {
            assert_eq!(call(&mut bad), E_INVALIDARG);
        }
        drop(ctx);
        assert_eq!(mem.read_u16(0x200).expect("ram"), 0x0809);
        assert_eq!(mem.read_u8(0xf_0000).expect("rom"), 0xea, "ROM unchanged");
        assert_eq!(
            io.log,
            [
                "mmio write 0xf0000 [77]",
                "mmio read 0xfee00000 8",
                "mmio read 0x3ffe 4",
                "mmio read 0xfffffffffffffffe 4"
            ]
        );
    }

    #[test]
    fn register_and_translate_callbacks_forward() {
        let (mut io, vp) = (FakeIo::default(), FakeVp::default());
        let mut ctx = CallbackContext::new(&mut io, None, &vp);
        let names = [WHvX64RegisterRax, WHvX64RegisterRip];
        let values = [crate::regs::from_u64(0x55), crate::regs::from_u64(0x7c02)];
        let set = CALLBACKS
            .WHvEmulatorSetVirtualProcessorRegisters
            .expect("set");
        let get = CALLBACKS
            .WHvEmulatorGetVirtualProcessorRegisters
            .expect("set");
        // SAFETY: two names and two aligned values, as the emulator passes them.
        let hr = unsafe {
            set(
                ctx_ptr(&mut ctx),
                names.as_ptr(),
                2,
                crate::layout::values_ptr(&values),
            )
        };
        assert_eq!(hr, S_OK);
        let mut back = [crate::layout::ZERO_VALUE; 2];
        // SAFETY: as above, with room for two values.
        let hr = unsafe {
            get(
                ctx_ptr(&mut ctx),
                names.as_ptr(),
                2,
                crate::layout::values_mut_ptr(&mut back),
            )
        };
        assert_eq!(hr, S_OK);
        assert_eq!(back.each_ref().map(crate::regs::to_u64), [0x55, 0x7c02]);
        // SAFETY: null arrays and oversized counts must be refused.
        unsafe {
            assert_eq!(
                get(ctx_ptr(&mut ctx), std::ptr::null(), 1, std::ptr::null_mut()),
                E_INVALIDARG
            );
            assert_eq!(
                get(
                    ctx_ptr(&mut ctx),
                    names.as_ptr(),
                    1000,
                    crate::layout::values_mut_ptr(&mut back)
                ),
                E_INVALIDARG
            );
        }

        let translate = CALLBACKS.WHvEmulatorTranslateGvaPage.expect("set");
        let (mut code, mut gpa) = (-1, 0u64);
        // SAFETY: valid out-pointers.
        let hr = unsafe {
            translate(
                ctx_ptr(&mut ctx),
                0x2000,
                WHvTranslateGvaFlagValidateRead,
                &mut code,
                &mut gpa,
            )
        };
        assert_eq!(
            (hr, code, gpa),
            (S_OK, WHvTranslateGvaResultSuccess, 0x3000)
        );
        // SAFETY: valid out-pointers.
        let hr = unsafe { translate(ctx_ptr(&mut ctx), 0x9000_0000, 0, &mut code, &mut gpa) };
        assert_eq!((hr, code), (S_OK, WHvTranslateGvaResultPageNotPresent));
        // SAFETY: null out-pointers must be refused.
        let hr = unsafe { translate(ctx_ptr(&mut ctx), 0, 0, std::ptr::null_mut(), &mut gpa) };
        assert_eq!(hr, E_INVALIDARG);
    }

    struct PanickingIo;
    impl IoHandler for PanickingIo {
        fn pio_read(&mut self, _: u16, _: &mut [u8]) {
            panic!("device bug");
        }
        fn pio_write(&mut self, _: u16, _: &[u8]) {}
        fn mmio_read(&mut self, _: u64, _: &mut [u8]) {}
        fn mmio_write(&mut self, _: u64, _: &[u8]) {}
    }

    #[test]
    fn device_panic_is_caught_at_the_boundary_and_resumed_later() {
        let (mut io, vp) = (PanickingIo, FakeVp::default());
        let mut ctx = CallbackContext::new(&mut io, None, &vp);
        let cb = CALLBACKS.WHvEmulatorIoPortCallback.expect("set");
        let mut info = io_info(0, 0x60, 1, 0);
        // SAFETY: valid context and info.
        assert_eq!(unsafe { cb(ctx_ptr(&mut ctx), &mut info) }, E_UNEXPECTED);
        // A second callback in the same emulation is refused without running.
        // SAFETY: valid context and info.
        assert_eq!(unsafe { cb(ctx_ptr(&mut ctx), &mut info) }, E_UNEXPECTED);
        let resumed = catch_unwind(AssertUnwindSafe(|| ctx.resume_panic()));
        assert!(resumed.is_err());
    }

    #[test]
    fn status_bits() {
        assert!(EmulatorStatus(1).succeeded());
        assert!(!EmulatorStatus(0b1000).succeeded());
        assert_eq!(EmulatorStatus(0b1000).describe(), "MemoryCallbackFailed");
        assert_eq!(
            EmulatorStatus(1 << 9 | 1 << 2).describe(),
            "IoPortCallbackFailed|GuestCannotBeFaulted"
        );
        assert_eq!(EmulatorStatus(1 << 20).describe(), "0x100000");
        assert_eq!(EmulatorStatus(0).describe(), "no status bits");
        assert_eq!(CALLBACKS.Size, 48);
    }
}
