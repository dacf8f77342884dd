//! Classifies the instruction bytes at a failure so the report can say what went wrong.
//!
//! On hypervisors that emulate kernel-mode guest code (like this project's CI machines),
//! x87, MMX and SSE instructions at CPL 0 stop the guest with an emulation failure. The
//! most useful thing the VMM can say is which kind of instruction it was and what to do.

/// What a failing instruction most likely is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsnClass {
    /// x87 floating point (opcodes D8-DF).
    X87,
    /// MMX/SSE/SSE2+ (0F-prefixed vector opcodes, or FXSAVE/LDMXCSR-style state ops).
    Sse,
    /// AVX (VEX or EVEX encoded).
    Avx,
    /// `iret` (any operand size).
    Iret,
    /// Anything else.
    Other,
}

fn is_legacy_prefix(b: u8) -> bool {
    matches!(
        b,
        0x26 | 0x2E | 0x36 | 0x3E | 0x64 | 0x65 | 0x66 | 0x67 | 0xF0 | 0xF2 | 0xF3
    )
}

/// Classifies `bytes` (starting at RIP). `long_mode` selects REX prefix handling.
pub fn classify(bytes: &[u8], long_mode: bool) -> InsnClass {
    let mut i = 0;
    while i < bytes.len() && i < 14 && is_legacy_prefix(bytes[i]) {
        i += 1;
    }
    if long_mode && i < bytes.len() && (0x40..=0x4F).contains(&bytes[i]) {
        i += 1;
    }
    let Some(&op) = bytes.get(i) else {
        return InsnClass::Other;
    };
    match op {
        0xCF => InsnClass::Iret,
        0xD8..=0xDF => InsnClass::X87,
        0x9B => InsnClass::X87, // fwait
        // VEX/EVEX: outside 64-bit mode C4/C5/62 are LES/LDS/BOUND unless ModRM.mod == 11.
        0xC4 | 0xC5 | 0x62 => {
            let modrm_is_reg = bytes.get(i + 1).is_some_and(|m| m >> 6 == 3);
            if long_mode || modrm_is_reg {
                InsnClass::Avx
            } else {
                InsnClass::Other
            }
        }
        0x0F => match bytes.get(i + 1) {
            Some(0x10..=0x17 | 0x28..=0x2F | 0x50..=0x7F | 0xC2..=0xC6 | 0xD0..=0xFF) => {
                InsnClass::Sse
            }
            Some(0x0E) => InsnClass::Sse, // femms (emms is 0F 77, above)
            Some(0xAE) => match bytes.get(i + 2).map(|m| (m >> 3) & 7) {
                // fxsave, fxrstor, ldmxcsr, stmxcsr, xsave, xrstor (memory forms)
                Some(0..=5) if bytes.get(i + 2).is_some_and(|m| m >> 6 != 3) => InsnClass::Sse,
                _ => InsnClass::Other,
            },
            _ => InsnClass::Other,
        },
        _ => InsnClass::Other,
    }
}

/// One sentence for an emulation failure at `cpl` with these bytes. `protected_mode` is
/// CR0.PE, `long_mode` is EFER.LMA.
pub fn explain_emulation_failure(
    bytes: &[u8],
    cpl: u8,
    protected_mode: bool,
    long_mode: bool,
) -> String {
    let kind = match classify(bytes, long_mode) {
        InsnClass::X87 => "an x87 floating-point instruction",
        InsnClass::Sse => "an MMX/SSE instruction",
        InsnClass::Avx => "an AVX instruction",
        InsnClass::Iret if protected_mode && cpl == 0 => {
            return "this is IRET at CPL 0 in protected mode; this host's KVM emulates kernel-mode \
                    guest code and its instruction emulator implements IRET only in real mode. \
                    Return from interrupt handlers with POPF + RETF (see assets/README.md), or run \
                    on hardware KVM"
                .to_string();
        }
        InsnClass::Iret | InsnClass::Other => {
            return if bytes.is_empty() {
                "the instruction could not be read (RIP outside guest memory?)".to_string()
            } else {
                "the hypervisor could not emulate this instruction; if the guest jumped into \
                 garbage, check its code and stack"
                    .to_string()
            };
        }
    };
    if cpl == 0 {
        format!(
            "this is {kind} at CPL 0; this host's KVM emulates kernel-mode guest code and cannot \
             run floating-point/vector instructions there. Build the guest's kernel-mode code \
             integer-only (gcc -mgeneral-regs-only, no x87/SSE), or run on hardware KVM"
        )
    } else {
        format!("this is {kind} that the hypervisor could not emulate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_fpu_and_vector_opcodes() {
        assert_eq!(classify(&[0xD9, 0xE8], false), InsnClass::X87); // fld1
        assert_eq!(classify(&[0x66, 0x0F, 0xEF, 0xC0], false), InsnClass::Sse); // pxor xmm0,xmm0
        assert_eq!(classify(&[0x0F, 0x28, 0xC1], true), InsnClass::Sse); // movaps
        assert_eq!(classify(&[0x48, 0x0F, 0x10, 0x00], true), InsnClass::Sse); // rex movups
        assert_eq!(classify(&[0x0F, 0xAE, 0x10], false), InsnClass::Sse); // ldmxcsr [eax]
        assert_eq!(classify(&[0x0F, 0xAE, 0xF0], false), InsnClass::Other); // mfence
        assert_eq!(classify(&[0xC5, 0xF8, 0x77], true), InsnClass::Avx); // vzeroupper
        assert_eq!(classify(&[0xC4, 0x06], false), InsnClass::Other); // les eax,[esi]
        assert_eq!(classify(&[0x90], false), InsnClass::Other);
        assert_eq!(classify(&[0x66, 0xCF], false), InsnClass::Iret);
        assert_eq!(classify(&[0x48, 0xCF], true), InsnClass::Iret);
        assert_eq!(classify(&[0x66, 0xCF], false), InsnClass::Iret);
        assert_eq!(classify(&[0x48, 0xCF], true), InsnClass::Iret);
        assert_eq!(classify(&[], false), InsnClass::Other);
        assert_eq!(classify(&[0x66; 20], false), InsnClass::Other);
    }

    #[test]
    fn explanation_names_the_cause_and_the_fix() {
        let s = explain_emulation_failure(&[0xD9, 0xEE], 0, true, false);
        assert!(
            s.contains("x87") && s.contains("-mgeneral-regs-only"),
            "{s}"
        );
        let s = explain_emulation_failure(&[0x0F, 0x57, 0xC0], 3, true, false);
        assert!(s.contains("SSE") && !s.contains("CPL 0"), "{s}");
        assert!(explain_emulation_failure(&[], 0, false, false).contains("could not be read"));
        let s = explain_emulation_failure(&[0xCF, 0x55], 0, true, false);
        assert!(s.contains("IRET") && s.contains("RETF"), "{s}");
        let s = explain_emulation_failure(&[0xCF], 0, false, false);
        assert!(!s.contains("IRET"), "real-mode IRET is emulated fine: {s}");
    }
}
