//! `hv_return_t` codes: names for messages, and conversion to [`HvError`].

use hv_core::HvError;

use crate::abi::{HvReturn as hv_return_t, ret as code};

/// Backend name used in errors and logs.
pub const BACKEND: &str = "HVF";

/// The symbolic name and meaning of an `hv_return_t`.
pub fn describe(ret: hv_return_t) -> (&'static str, &'static str) {
    match ret as u32 {
        code::SUCCESS => ("HV_SUCCESS", "success"),
        code::ERROR => ("HV_ERROR", "the operation was unsuccessful"),
        code::BUSY => ("HV_BUSY", "the resource is busy"),
        code::BAD_ARGUMENT => ("HV_BAD_ARGUMENT", "invalid argument"),
        code::ILLEGAL_GUEST_STATE => ("HV_ILLEGAL_GUEST_STATE", "the guest state is illegal"),
        code::NO_RESOURCES => ("HV_NO_RESOURCES", "the host has no resources left"),
        code::NO_DEVICE => ("HV_NO_DEVICE", "no VM or vCPU is available"),
        code::DENIED => ("HV_DENIED", "the system denied the operation"),
        code::EXISTS => ("HV_EXISTS", "the object already exists"),
        code::UNSUPPORTED => ("HV_UNSUPPORTED", "the operation is not supported"),
        _ => ("unknown hv_return_t", "undocumented error code"),
    }
}

/// The [`HvError`] for a failed call. The name goes to the log (the shared `Api` variant
/// carries the raw code so callers can match on it).
pub fn api_error(op: &'static str, ret: hv_return_t) -> HvError {
    let (name, meaning) = describe(ret);
    log::warn!("{op} failed: {name} ({:#x}): {meaning}", ret as u32);
    HvError::Api {
        backend: BACKEND,
        op,
        code: u64::from(ret as u32),
    }
}

/// `Ok` for HV_SUCCESS, else [`api_error`].
pub fn check(op: &'static str, ret: hv_return_t) -> Result<(), HvError> {
    if ret == 0 {
        Ok(())
    } else {
        Err(api_error(op, ret))
    }
}

/// The one-line reason `hv_vm_create` failed, for [`HvError::Unavailable`].
pub fn vm_create_unavailable(ret: hv_return_t) -> String {
    match ret as u32 {
        code::DENIED => "Hypervisor.framework denied hv_vm_create (HV_DENIED): the binary lacks \
             the com.apple.security.hypervisor entitlement; sign it with \
             `codesign --sign - --entitlements hv-apple/entitlements.plist --force <binary>` \
             (or run through scripts/macos-codesign-run.sh)"
            .to_string(),
        code::UNSUPPORTED => "Hypervisor.framework is unsupported here (HV_UNSUPPORTED): it needs \
             an Apple Silicon Mac running macOS 11+ on the host itself (a macOS VM has no nested \
             virtualization), and an unsigned binary can also get this code: sign it with the \
             com.apple.security.hypervisor entitlement (scripts/macos-codesign-run.sh)"
            .to_string(),
        code::BUSY => "Hypervisor.framework allows one VM per process and one already exists \
             (HV_BUSY)"
            .to_string(),
        code::NO_RESOURCES => "Hypervisor.framework has no resources for another VM \
             (HV_NO_RESOURCES); close other virtual machines"
            .to_string(),
        _ => {
            let (name, meaning) = describe(ret);
            format!("hv_vm_create failed: {name} ({:#x}): {meaning}", ret as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_header_name() {
        for (c, name) in [
            (code::SUCCESS, "HV_SUCCESS"),
            (code::ERROR, "HV_ERROR"),
            (code::BUSY, "HV_BUSY"),
            (code::BAD_ARGUMENT, "HV_BAD_ARGUMENT"),
            (code::ILLEGAL_GUEST_STATE, "HV_ILLEGAL_GUEST_STATE"),
            (code::NO_RESOURCES, "HV_NO_RESOURCES"),
            (code::NO_DEVICE, "HV_NO_DEVICE"),
            (code::DENIED, "HV_DENIED"),
            (code::EXISTS, "HV_EXISTS"),
            (code::UNSUPPORTED, "HV_UNSUPPORTED"),
        ] {
            assert_eq!(describe(c as hv_return_t).0, name);
        }
        assert_eq!(describe(0x1234).0, "unknown hv_return_t");
    }

    #[test]
    fn errors_keep_the_unsigned_code() {
        assert!(check("hv_vcpu_run", 0).is_ok());
        let e = check("hv_vcpu_run", code::ILLEGAL_GUEST_STATE as hv_return_t)
            .expect_err("nonzero is an error");
        assert!(matches!(
            e,
            HvError::Api {
                backend: "HVF",
                op: "hv_vcpu_run",
                code: 0xfae9_4004
            }
        ));
    }

    #[test]
    fn vm_create_messages_say_what_to_do() {
        let denied = vm_create_unavailable(code::DENIED as hv_return_t);
        assert!(denied.contains("codesign") && denied.contains("com.apple.security.hypervisor"));
        let unsupported = vm_create_unavailable(code::UNSUPPORTED as hv_return_t);
        assert!(unsupported.contains("Apple Silicon") && unsupported.contains("nested"));
        assert!(!denied.contains('\n') && !unsupported.contains('\n'));
        assert!(vm_create_unavailable(7).contains("0x7"));
    }
}
