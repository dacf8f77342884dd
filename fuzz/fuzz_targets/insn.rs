//! The x86 instruction classifier used in emulation-failure reports: any bytes, either
//! mode, any CPL.
//!
//! Invariants: never panics and never reads past the bytes given (including an empty
//! slice); a legacy prefix in front of a 16/32-bit instruction does not change its class
//! (as long as the prefix run stays under the 14-byte scan limit); the explanation is one
//! non-empty line (it ends up in a one-line error message) and, at CPL 0, names x87 and
//! -mgeneral-regs-only when the class is x87, and IRET and its workaround for a
//! protected-mode IRET at CPL 0.
#![no_main]

use arbitrary::Arbitrary;
use hv_core::arch::x86::insn::{InsnClass, classify, explain_emulation_failure};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    long_mode: bool,
    cpl: u8,
    prefix: u8,
    /// Last, so a seed is the three bytes above followed by the instruction bytes.
    bytes: Vec<u8>,
}

const PREFIXES: [u8; 11] = [
    0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3,
];

fuzz_target!(|input: Input| {
    let bytes = &input.bytes[..input.bytes.len().min(32)];
    let class = classify(bytes, input.long_mode);
    // The prefix byte's top bit doubles as CR0.PE (long mode implies it), so the seed
    // layout stays three header bytes followed by the instruction.
    let protected_mode = input.long_mode || input.prefix & 0x80 != 0;
    let text = explain_emulation_failure(bytes, input.cpl, protected_mode, input.long_mode);
    assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
    if class == InsnClass::X87 && input.cpl == 0 {
        assert!(
            text.contains("x87") && text.contains("-mgeneral-regs-only"),
            "{text}"
        );
    }
    if class == InsnClass::Iret && input.cpl == 0 && protected_mode {
        assert!(text.contains("IRET") && text.contains("RETF"), "{text}");
    }
    let leading = bytes.iter().take_while(|b| PREFIXES.contains(b)).count();
    if !input.long_mode && leading < 12 {
        let mut prefixed = vec![PREFIXES[usize::from(input.prefix) % PREFIXES.len()]];
        prefixed.extend_from_slice(bytes);
        assert_eq!(
            classify(&prefixed, false),
            class,
            "prefix changed the class"
        );
    }
});
