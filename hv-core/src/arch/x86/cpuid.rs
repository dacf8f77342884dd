//! The CPUID policy every x86 backend applies on top of what the host offers.
//!
//! hv has no local APIC: interrupts come from the userspace 8259 pair. A guest that sees
//! the APIC bit would program an APIC that is not there (Linux would wait forever for
//! its timer), so the bit is hidden and Linux falls back to XT-PIC + PIT.

/// One CPUID result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// CPUID.1:EDX bit 9, on-chip APIC.
pub const LEAF1_EDX_APIC: u32 = 1 << 9;
/// CPUID.1:ECX bit 21, x2APIC.
pub const LEAF1_ECX_X2APIC: u32 = 1 << 21;
/// CPUID.1:ECX bit 24, TSC deadline timer (an APIC timer mode).
pub const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// CPUID.1:ECX bit 31, running under a hypervisor.
pub const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;

/// Adjusts the host's answer for `leaf`/`subleaf` to hv's machine.
pub fn adjust(leaf: u32, _subleaf: u32, r: &mut CpuidResult) {
    if leaf == 1 {
        r.edx &= !LEAF1_EDX_APIC;
        r.ecx &= !(LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE);
        r.ecx |= LEAF1_ECX_HYPERVISOR;
        // Initial APIC ID (EBX[31:24]) is meaningless without an APIC; report 0 with one
        // logical processor.
        r.ebx &= 0x0000_FFFF;
        r.ebx |= 1 << 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf1_hides_apic_and_sets_hypervisor_bit() {
        let mut r = CpuidResult {
            eax: 0x906ea,
            ebx: 0x0410_0800,
            ecx: 0x7ffa_fbff,
            edx: 0xbfeb_fbff,
        };
        adjust(1, 0, &mut r);
        assert_eq!(r.edx & LEAF1_EDX_APIC, 0);
        assert_eq!(r.ecx & (LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE), 0);
        assert_ne!(r.ecx & LEAF1_ECX_HYPERVISOR, 0);
        assert_eq!(r.ebx >> 24, 0);
        let before = CpuidResult {
            eax: 1,
            ebx: 2,
            ecx: 3,
            edx: 4,
        };
        let mut other = before;
        adjust(7, 0, &mut other);
        assert_eq!(other, before);
    }
}
