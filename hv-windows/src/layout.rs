//! Alignment wrappers for buffers WHP reads and writes.
//!
//! The Windows SDK declares `WHV_UINT128`, and with it `WHV_REGISTER_VALUE`,
//! `DECLSPEC_ALIGN(16)`; windows-sys 0.61 declares them with 8-byte alignment, and WHP
//! faults on register arrays that are not 16-byte aligned (microsoft/win32metadata#2278,
//! hyperlight#908). Every register value and the exit context therefore live inside
//! [`Aligned16`].

use windows_sys::Win32::System::Hypervisor::{
    WHV_REGISTER_VALUE, WHV_RUN_VP_EXIT_CONTEXT, WHV_UINT128,
};

/// `T` placed on a 16-byte boundary. An array of `Aligned16<WHV_REGISTER_VALUE>` has a
/// 16-byte stride, so it can be passed as a `*const WHV_REGISTER_VALUE` array.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub(crate) struct Aligned16<T>(pub T);

/// Opaque: the wrapped WHP unions have no meaningful `Debug` view.
impl<T> std::fmt::Debug for Aligned16<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aligned16(..)")
    }
}

/// A register value as WHP needs it.
pub(crate) type RegValue = Aligned16<WHV_REGISTER_VALUE>;

/// An all-zero register value.
pub(crate) const ZERO_VALUE: RegValue = Aligned16(WHV_REGISTER_VALUE {
    Reg128: WHV_UINT128 { Dword: [0; 4] },
});

/// The exit context `WHvRunVirtualProcessor` fills (224 bytes).
pub(crate) type ExitContext = Aligned16<WHV_RUN_VP_EXIT_CONTEXT>;

/// Casts an aligned register array to the pointer WHP takes.
pub(crate) fn values_ptr(values: &[RegValue]) -> *const WHV_REGISTER_VALUE {
    values.as_ptr().cast()
}

/// Mutable form of [`values_ptr`].
pub(crate) fn values_mut_ptr(values: &mut [RegValue]) -> *mut WHV_REGISTER_VALUE {
    values.as_mut_ptr().cast()
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, size_of};

    use super::*;

    #[test]
    fn aligned_register_values_have_a_16_byte_stride() {
        assert_eq!(size_of::<WHV_REGISTER_VALUE>(), 16);
        assert_eq!(size_of::<RegValue>(), 16);
        assert_eq!(align_of::<RegValue>(), 16);
        let arr = [ZERO_VALUE; 3];
        assert_eq!(values_ptr(&arr) as usize % 16, 0);
        assert_eq!(align_of::<ExitContext>(), 16);
        assert_eq!(size_of::<ExitContext>(), 224);
    }
}
