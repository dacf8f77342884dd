//! The WHP entry points, loaded at run time into a table of typed function pointers.
//!
//! windows-sys declares these functions as raw-dylib imports of WinHvPlatform.dll and
//! WinHvEmulation.dll. Calling them directly would make those DLLs load-time imports:
//! on a Windows without the "Windows Hypervisor Platform" feature the whole `hv`
//! process would fail to start instead of reporting what is missing. So, like QEMU's
//! `whpx`, we load both DLLs with `LoadLibraryExW(LOAD_LIBRARY_SEARCH_SYSTEM32)` and
//! look each export up with `GetProcAddress`. Nothing here is imported at load time,
//! which also lets this crate's test binary link on Linux (where no loader exists and
//! [`WhpApi::load`] reports the platform as unavailable).
//!
//! Each pointer type spells out the windows-sys signature; `signature_checks` below
//! proves at compile time that they match, so a transmuted `GetProcAddress` result has
//! the ABI the DLL really exports.

use std::ffi::c_void;

use hv_core::{HvError, Result};
use windows_sys::Win32::System::Hypervisor::{
    WHV_CAPABILITY_CODE, WHV_EMULATOR_CALLBACKS, WHV_EMULATOR_STATUS, WHV_MAP_GPA_RANGE_FLAGS,
    WHV_MEMORY_ACCESS_CONTEXT, WHV_PARTITION_HANDLE, WHV_PARTITION_PROPERTY_CODE,
    WHV_REGISTER_NAME, WHV_REGISTER_VALUE, WHV_TRANSLATE_GVA_FLAGS, WHV_TRANSLATE_GVA_RESULT,
    WHV_VP_EXIT_CONTEXT, WHV_X64_IO_PORT_ACCESS_CONTEXT,
};
use windows_sys::core::HRESULT;

/// `WHvGetCapability`.
pub(crate) type GetCapabilityFn =
    unsafe extern "system" fn(WHV_CAPABILITY_CODE, *mut c_void, u32, *mut u32) -> HRESULT;
/// `WHvCreatePartition`.
pub(crate) type CreatePartitionFn = unsafe extern "system" fn(*mut WHV_PARTITION_HANDLE) -> HRESULT;
/// `WHvSetupPartition` and `WHvDeletePartition`.
pub(crate) type PartitionFn = unsafe extern "system" fn(WHV_PARTITION_HANDLE) -> HRESULT;
/// `WHvSetPartitionProperty`.
pub(crate) type SetPartitionPropertyFn = unsafe extern "system" fn(
    WHV_PARTITION_HANDLE,
    WHV_PARTITION_PROPERTY_CODE,
    *const c_void,
    u32,
) -> HRESULT;
/// `WHvMapGpaRange`.
pub(crate) type MapGpaRangeFn = unsafe extern "system" fn(
    WHV_PARTITION_HANDLE,
    *const c_void,
    u64,
    u64,
    WHV_MAP_GPA_RANGE_FLAGS,
) -> HRESULT;
/// `WHvUnmapGpaRange`.
pub(crate) type UnmapGpaRangeFn =
    unsafe extern "system" fn(WHV_PARTITION_HANDLE, u64, u64) -> HRESULT;
/// `WHvCreateVirtualProcessor` and `WHvCancelRunVirtualProcessor` (index, flags).
pub(crate) type VpFlagsFn = unsafe extern "system" fn(WHV_PARTITION_HANDLE, u32, u32) -> HRESULT;
/// `WHvDeleteVirtualProcessor`.
pub(crate) type DeleteVpFn = unsafe extern "system" fn(WHV_PARTITION_HANDLE, u32) -> HRESULT;
/// `WHvRunVirtualProcessor`.
pub(crate) type RunVpFn =
    unsafe extern "system" fn(WHV_PARTITION_HANDLE, u32, *mut c_void, u32) -> HRESULT;
/// `WHvGetVirtualProcessorRegisters`.
pub(crate) type GetVpRegistersFn = unsafe extern "system" fn(
    WHV_PARTITION_HANDLE,
    u32,
    *const WHV_REGISTER_NAME,
    u32,
    *mut WHV_REGISTER_VALUE,
) -> HRESULT;
/// `WHvSetVirtualProcessorRegisters`.
pub(crate) type SetVpRegistersFn = unsafe extern "system" fn(
    WHV_PARTITION_HANDLE,
    u32,
    *const WHV_REGISTER_NAME,
    u32,
    *const WHV_REGISTER_VALUE,
) -> HRESULT;
/// `WHvTranslateGva`.
pub(crate) type TranslateGvaFn = unsafe extern "system" fn(
    WHV_PARTITION_HANDLE,
    u32,
    u64,
    WHV_TRANSLATE_GVA_FLAGS,
    *mut WHV_TRANSLATE_GVA_RESULT,
    *mut u64,
) -> HRESULT;
/// `WHvEmulatorCreateEmulator`.
pub(crate) type EmulatorCreateFn =
    unsafe extern "system" fn(*const WHV_EMULATOR_CALLBACKS, *mut *mut c_void) -> HRESULT;
/// `WHvEmulatorDestroyEmulator`.
pub(crate) type EmulatorDestroyFn = unsafe extern "system" fn(*const c_void) -> HRESULT;
/// `WHvEmulatorTryIoEmulation`.
pub(crate) type EmulatorTryIoFn = unsafe extern "system" fn(
    *const c_void,
    *const c_void,
    *const WHV_VP_EXIT_CONTEXT,
    *const WHV_X64_IO_PORT_ACCESS_CONTEXT,
    *mut WHV_EMULATOR_STATUS,
) -> HRESULT;
/// `WHvEmulatorTryMmioEmulation`.
pub(crate) type EmulatorTryMmioFn = unsafe extern "system" fn(
    *const c_void,
    *const c_void,
    *const WHV_VP_EXIT_CONTEXT,
    *const WHV_MEMORY_ACCESS_CONTEXT,
    *mut WHV_EMULATOR_STATUS,
) -> HRESULT;

/// Every WHP function hv calls. Loaded once per process and never unloaded: partitions
/// and kickers may call into the DLLs until the process exits.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub(crate) struct WhpApi {
    pub get_capability: GetCapabilityFn,
    pub create_partition: CreatePartitionFn,
    pub setup_partition: PartitionFn,
    pub delete_partition: PartitionFn,
    pub set_partition_property: SetPartitionPropertyFn,
    pub map_gpa_range: MapGpaRangeFn,
    pub unmap_gpa_range: UnmapGpaRangeFn,
    pub create_virtual_processor: VpFlagsFn,
    pub delete_virtual_processor: DeleteVpFn,
    pub run_virtual_processor: RunVpFn,
    pub cancel_run_virtual_processor: VpFlagsFn,
    pub get_vp_registers: GetVpRegistersFn,
    pub set_vp_registers: SetVpRegistersFn,
    pub translate_gva: TranslateGvaFn,
    pub emulator_create: EmulatorCreateFn,
    pub emulator_destroy: EmulatorDestroyFn,
    pub emulator_try_io: EmulatorTryIoFn,
    pub emulator_try_mmio: EmulatorTryMmioFn,
}

/// The command that installs the missing Windows feature (an elevated prompt, then a
/// reboot). PowerShell: `Enable-WindowsOptionalFeature -Online -FeatureName HypervisorPlatform`.
pub const ENABLE_COMMAND: &str =
    "DISM /Online /Enable-Feature /FeatureName:HypervisorPlatform /All";

/// The one-line "what is missing and what to do" text for a DLL that cannot be loaded.
pub(crate) fn missing_feature_message(dll: &str, win32_error: u32) -> String {
    format!(
        "the Windows Hypervisor Platform is not enabled ({dll} could not be loaded: Windows \
         error {win32_error}); enable it from an elevated prompt with `{ENABLE_COMMAND}` and \
         reboot"
    )
}

impl WhpApi {
    /// Loads the table (once per process).
    pub(crate) fn load() -> Result<&'static WhpApi> {
        use std::sync::OnceLock;
        static API: OnceLock<std::result::Result<WhpApi, String>> = OnceLock::new();
        API.get_or_init(load_table)
            .as_ref()
            .map_err(|msg| HvError::Unavailable(msg.clone()))
    }
}

#[cfg(all(windows, target_arch = "x86_64"))]
fn load_table() -> std::result::Result<WhpApi, String> {
    loader::load()
}

#[cfg(not(all(windows, target_arch = "x86_64")))]
fn load_table() -> std::result::Result<WhpApi, String> {
    Err(
        "the Windows Hypervisor Platform backend runs x86-64 guests on x86-64 Windows only"
            .to_string(),
    )
}

/// Dynamic loading. Type-checked on every host, called (and so linked) only on Windows.
#[cfg_attr(not(all(windows, target_arch = "x86_64")), allow(dead_code))]
mod loader {
    use std::ffi::CStr;

    use windows_sys::Win32::Foundation::{FARPROC, GetLastError, HMODULE};
    use windows_sys::Win32::System::LibraryLoader::{
        GetProcAddress, LOAD_LIBRARY_SEARCH_SYSTEM32, LoadLibraryExW,
    };

    use super::*;

    const PLATFORM_DLL: &str = "WinHvPlatform.dll";
    const EMULATION_DLL: &str = "WinHvEmulation.dll";

    /// Loads `name` from System32 only, so a planted DLL next to the binary is ignored.
    fn load_library(name: &str) -> Result<HMODULE, String> {
        let wide: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).collect();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call; the
        // file handle argument must be null.
        let module = unsafe {
            LoadLibraryExW(
                wide.as_ptr(),
                std::ptr::null_mut(),
                LOAD_LIBRARY_SEARCH_SYSTEM32,
            )
        };
        if module.is_null() {
            // SAFETY: no preconditions; reads the calling thread's last-error value.
            let err = unsafe { GetLastError() };
            return Err(missing_feature_message(name, err));
        }
        Ok(module)
    }

    /// An untyped export pointer, as `GetProcAddress` returns it.
    type RawProc = unsafe extern "system" fn() -> isize;

    fn symbol(module: HMODULE, dll: &str, name: &CStr) -> Result<RawProc, String> {
        // SAFETY: `module` is a loaded module that is never freed; `name` is NUL-terminated.
        let proc: FARPROC = unsafe { GetProcAddress(module, name.as_ptr().cast()) };
        let Some(proc) = proc else {
            return Err(format!(
                "{dll} has no export {}: this Windows is too old for the Windows Hypervisor \
                 Platform API hv uses (Windows 10 version 1803 or later is needed)",
                name.to_string_lossy()
            ));
        };
        Ok(proc)
    }

    /// Looks up `$name` in `$module` and casts it to the table's pointer type.
    macro_rules! resolve {
        ($module:expr, $dll:expr, $name:literal, $ty:ty) => {{
            let proc = symbol($module, $dll, $name)?;
            // SAFETY: `proc` is the export named `$name`, whose signature is `$ty` (the
            // windows-sys declaration, checked at compile time at the end of this file).
            // Function pointers of every signature have the same size.
            unsafe { std::mem::transmute::<RawProc, $ty>(proc) }
        }};
    }

    pub(super) fn load() -> Result<WhpApi, String> {
        let p = load_library(PLATFORM_DLL)?;
        let e = load_library(EMULATION_DLL)?;
        let api = WhpApi {
            get_capability: resolve!(p, PLATFORM_DLL, c"WHvGetCapability", GetCapabilityFn),
            create_partition: resolve!(p, PLATFORM_DLL, c"WHvCreatePartition", CreatePartitionFn),
            setup_partition: resolve!(p, PLATFORM_DLL, c"WHvSetupPartition", PartitionFn),
            delete_partition: resolve!(p, PLATFORM_DLL, c"WHvDeletePartition", PartitionFn),
            set_partition_property: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvSetPartitionProperty",
                SetPartitionPropertyFn
            ),
            map_gpa_range: resolve!(p, PLATFORM_DLL, c"WHvMapGpaRange", MapGpaRangeFn),
            unmap_gpa_range: resolve!(p, PLATFORM_DLL, c"WHvUnmapGpaRange", UnmapGpaRangeFn),
            create_virtual_processor: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvCreateVirtualProcessor",
                VpFlagsFn
            ),
            delete_virtual_processor: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvDeleteVirtualProcessor",
                DeleteVpFn
            ),
            run_virtual_processor: resolve!(p, PLATFORM_DLL, c"WHvRunVirtualProcessor", RunVpFn),
            cancel_run_virtual_processor: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvCancelRunVirtualProcessor",
                VpFlagsFn
            ),
            get_vp_registers: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvGetVirtualProcessorRegisters",
                GetVpRegistersFn
            ),
            set_vp_registers: resolve!(
                p,
                PLATFORM_DLL,
                c"WHvSetVirtualProcessorRegisters",
                SetVpRegistersFn
            ),
            translate_gva: resolve!(p, PLATFORM_DLL, c"WHvTranslateGva", TranslateGvaFn),
            emulator_create: resolve!(
                e,
                EMULATION_DLL,
                c"WHvEmulatorCreateEmulator",
                EmulatorCreateFn
            ),
            emulator_destroy: resolve!(
                e,
                EMULATION_DLL,
                c"WHvEmulatorDestroyEmulator",
                EmulatorDestroyFn
            ),
            emulator_try_io: resolve!(
                e,
                EMULATION_DLL,
                c"WHvEmulatorTryIoEmulation",
                EmulatorTryIoFn
            ),
            emulator_try_mmio: resolve!(
                e,
                EMULATION_DLL,
                c"WHvEmulatorTryMmioEmulation",
                EmulatorTryMmioFn
            ),
        };
        log::debug!("loaded {PLATFORM_DLL} and {EMULATION_DLL}");
        Ok(api)
    }
}

/// Compile-time proof that each pointer type is the windows-sys declaration (the
/// "signature checks" the loader relies on). Evaluated
/// by the compiler only (the value is `()`), so no import is emitted.
#[allow(clippy::type_complexity)]
const _: () = {
    use windows_sys::Win32::System::Hypervisor as w;
    let _: GetCapabilityFn = w::WHvGetCapability;
    let _: CreatePartitionFn = w::WHvCreatePartition;
    let _: PartitionFn = w::WHvSetupPartition;
    let _: PartitionFn = w::WHvDeletePartition;
    let _: SetPartitionPropertyFn = w::WHvSetPartitionProperty;
    let _: MapGpaRangeFn = w::WHvMapGpaRange;
    let _: UnmapGpaRangeFn = w::WHvUnmapGpaRange;
    let _: VpFlagsFn = w::WHvCreateVirtualProcessor;
    let _: DeleteVpFn = w::WHvDeleteVirtualProcessor;
    let _: RunVpFn = w::WHvRunVirtualProcessor;
    let _: VpFlagsFn = w::WHvCancelRunVirtualProcessor;
    let _: GetVpRegistersFn = w::WHvGetVirtualProcessorRegisters;
    let _: SetVpRegistersFn = w::WHvSetVirtualProcessorRegisters;
    let _: TranslateGvaFn = w::WHvTranslateGva;
    let _: EmulatorCreateFn = w::WHvEmulatorCreateEmulator;
    let _: EmulatorDestroyFn = w::WHvEmulatorDestroyEmulator;
    let _: EmulatorTryIoFn = w::WHvEmulatorTryIoEmulation;
    let _: EmulatorTryMmioFn = w::WHvEmulatorTryMmioEmulation;
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dll_message_names_the_feature_and_the_command() {
        let m = missing_feature_message("WinHvPlatform.dll", 126);
        assert!(m.contains("WinHvPlatform.dll"));
        assert!(m.contains("the Windows Hypervisor Platform is not enabled"), "{m}");
        assert!(m.contains("DISM /Online /Enable-Feature /FeatureName:HypervisorPlatform /All"));
        assert!(!m.contains('\n'));
    }

    /// On Windows the real loader runs: with the feature the table loads; without it
    /// (for example under Wine, which has no WinHvPlatform.dll) the error names the DLL
    /// and the command that installs the feature.
    #[cfg(all(windows, target_arch = "x86_64"))]
    #[test]
    fn load_finds_the_dlls_or_names_the_missing_feature() {
        match WhpApi::load() {
            Ok(_) => {}
            Err(HvError::Unavailable(m)) => {
                assert!(m.contains(".dll"), "{m}");
                assert!(m.contains(ENABLE_COMMAND) || m.contains("too old"), "{m}");
                assert!(!m.contains('\n'));
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn load_reports_unavailable_off_windows() {
        assert!(matches!(WhpApi::load(), Err(HvError::Unavailable(_))));
    }
}
