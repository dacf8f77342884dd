//! HRESULT handling: success test, names for the codes WHP returns, and the mapping to
//! [`HvError`].
//!
//! `HvError::Api` carries only the raw code, so the name is logged where the error is
//! made; [`describe`] gives the same text for messages.

use hv_core::HvError;
use windows_sys::Win32::Foundation::{
    E_ACCESSDENIED, E_FAIL, E_INVALIDARG, E_NOTIMPL, E_OUTOFMEMORY, E_UNEXPECTED,
    WHV_E_GPA_RANGE_NOT_FOUND, WHV_E_INSUFFICIENT_BUFFER, WHV_E_INVALID_PARTITION_CONFIG,
    WHV_E_INVALID_VP_REGISTER_NAME, WHV_E_INVALID_VP_STATE, WHV_E_UNKNOWN_CAPABILITY,
    WHV_E_UNKNOWN_PROPERTY, WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG,
    WHV_E_UNSUPPORTED_PROCESSOR_CONFIG, WHV_E_VP_ALREADY_EXISTS, WHV_E_VP_DOES_NOT_EXIST,
};
use windows_sys::core::HRESULT;

/// Backend name used in every error.
pub(crate) const BACKEND: &str = "WHP";

/// `HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND)`: what a missing DLL looks like as an HRESULT.
pub(crate) const HRESULT_MOD_NOT_FOUND: HRESULT = 0x8007_007E_u32 as HRESULT;
/// `HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND)`: a DLL without an export we need.
pub(crate) const HRESULT_PROC_NOT_FOUND: HRESULT = 0x8007_007F_u32 as HRESULT;

/// `SUCCEEDED(hr)`: the severity bit is clear.
pub(crate) fn succeeded(hr: HRESULT) -> bool {
    hr >= 0
}

/// The symbolic name of `hr`, for the codes WHP and its emulator are known to return.
pub fn hresult_name(hr: HRESULT) -> Option<&'static str> {
    const NAMES: [(HRESULT, &str); 20] = [
        (0, "S_OK"),
        (WHV_E_UNKNOWN_CAPABILITY, "WHV_E_UNKNOWN_CAPABILITY"),
        (WHV_E_INSUFFICIENT_BUFFER, "WHV_E_INSUFFICIENT_BUFFER"),
        (WHV_E_UNKNOWN_PROPERTY, "WHV_E_UNKNOWN_PROPERTY"),
        (
            WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG,
            "WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG",
        ),
        (
            WHV_E_INVALID_PARTITION_CONFIG,
            "WHV_E_INVALID_PARTITION_CONFIG",
        ),
        (WHV_E_GPA_RANGE_NOT_FOUND, "WHV_E_GPA_RANGE_NOT_FOUND"),
        (WHV_E_VP_ALREADY_EXISTS, "WHV_E_VP_ALREADY_EXISTS"),
        (WHV_E_VP_DOES_NOT_EXIST, "WHV_E_VP_DOES_NOT_EXIST"),
        (WHV_E_INVALID_VP_STATE, "WHV_E_INVALID_VP_STATE"),
        (
            WHV_E_INVALID_VP_REGISTER_NAME,
            "WHV_E_INVALID_VP_REGISTER_NAME",
        ),
        (
            WHV_E_UNSUPPORTED_PROCESSOR_CONFIG,
            "WHV_E_UNSUPPORTED_PROCESSOR_CONFIG",
        ),
        (E_INVALIDARG, "E_INVALIDARG"),
        (E_UNEXPECTED, "E_UNEXPECTED"),
        (E_ACCESSDENIED, "E_ACCESSDENIED"),
        (E_OUTOFMEMORY, "E_OUTOFMEMORY"),
        (E_NOTIMPL, "E_NOTIMPL"),
        (E_FAIL, "E_FAIL"),
        (
            HRESULT_MOD_NOT_FOUND,
            "HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND)",
        ),
        (
            HRESULT_PROC_NOT_FOUND,
            "HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND)",
        ),
    ];
    NAMES.iter().find(|(code, _)| *code == hr).map(|(_, n)| *n)
}

/// `hr` as text: "WHV_E_GPA_RANGE_NOT_FOUND (0x80370305)", or just the hex code.
pub fn describe(hr: HRESULT) -> String {
    let code = hr as u32;
    match hresult_name(hr) {
        Some(name) => format!("{name} ({code:#010x})"),
        None => format!("{code:#010x}"),
    }
}

/// The error for a failed call `op`. The raw code is kept bit-exact (as a `u32`).
pub(crate) fn api_error(op: &'static str, hr: HRESULT) -> HvError {
    log::warn!("{op} failed: {}", describe(hr));
    HvError::Api {
        backend: BACKEND,
        op,
        code: u64::from(hr as u32),
    }
}

/// `Ok(())` if `hr` is a success code, else the [`api_error`] for `op`.
pub(crate) fn check(op: &'static str, hr: HRESULT) -> Result<(), HvError> {
    if succeeded(hr) {
        Ok(())
    } else {
        Err(api_error(op, hr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_codes_pass_and_failures_keep_the_raw_code() {
        assert!(check("WHvSetupPartition", 0).is_ok());
        assert!(
            check("WHvSetupPartition", 1).is_ok(),
            "S_FALSE is a success"
        );
        match check("WHvMapGpaRange", WHV_E_GPA_RANGE_NOT_FOUND) {
            Err(HvError::Api { backend, op, code }) => {
                assert_eq!(backend, "WHP");
                assert_eq!(op, "WHvMapGpaRange");
                assert_eq!(code, 0x8037_0305);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_whv_e_code_has_a_name() {
        for (hr, name) in [
            (0x8037_0300_u32, "WHV_E_UNKNOWN_CAPABILITY"),
            (0x8037_0301, "WHV_E_INSUFFICIENT_BUFFER"),
            (0x8037_0302, "WHV_E_UNKNOWN_PROPERTY"),
            (0x8037_0303, "WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG"),
            (0x8037_0304, "WHV_E_INVALID_PARTITION_CONFIG"),
            (0x8037_0305, "WHV_E_GPA_RANGE_NOT_FOUND"),
            (0x8037_0306, "WHV_E_VP_ALREADY_EXISTS"),
            (0x8037_0307, "WHV_E_VP_DOES_NOT_EXIST"),
            (0x8037_0308, "WHV_E_INVALID_VP_STATE"),
            (0x8037_0309, "WHV_E_INVALID_VP_REGISTER_NAME"),
            (0x8037_0310, "WHV_E_UNSUPPORTED_PROCESSOR_CONFIG"),
            (0x8007_0057, "E_INVALIDARG"),
            (0x8007_007E, "HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND)"),
        ] {
            assert_eq!(hresult_name(hr as HRESULT), Some(name), "{hr:#x}");
        }
        assert_eq!(hresult_name(0x8123_4567_u32 as HRESULT), None);
    }

    #[test]
    fn describe_formats_name_and_code() {
        assert_eq!(
            describe(WHV_E_INVALID_VP_STATE),
            "WHV_E_INVALID_VP_STATE (0x80370308)"
        );
        assert_eq!(describe(0x8123_4567_u32 as HRESULT), "0x81234567");
    }
}
