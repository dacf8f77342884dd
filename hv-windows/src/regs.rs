//! hv-core register files <-> WHP (name, value) arrays.
//!
//! Each direction is one batch, so `regs()` and `sregs()` cost one hypercall each.
//! Layouts (WinHvPlatformDefs.h): GPRs, RIP, RFLAGS, CRx and EFER are `Reg64`; segments
//! are `WHV_X64_SEGMENT_REGISTER` with the VMX-style 16-bit attribute word that
//! [`Segment::attributes`] produces; GDTR/IDTR are `WHV_X64_TABLE_REGISTER`.
//!
//! `Sregs::apic_base` is not transferred: hv's partitions have no local APIC
//! (`LocalApicEmulationMode` None), so it reads as 0 and is ignored on writes.

use hv_core::arch::x86::{DescriptorTable, Regs, Segment, Sregs};
use windows_sys::Win32::System::Hypervisor::*;

use crate::layout::{Aligned16, RegValue, ZERO_VALUE};

/// Names for [`Regs`], in the order of [`regs_to_values`].
pub(crate) const GPR_NAMES: [WHV_REGISTER_NAME; 18] = [
    WHvX64RegisterRax,
    WHvX64RegisterRbx,
    WHvX64RegisterRcx,
    WHvX64RegisterRdx,
    WHvX64RegisterRsi,
    WHvX64RegisterRdi,
    WHvX64RegisterRsp,
    WHvX64RegisterRbp,
    WHvX64RegisterR8,
    WHvX64RegisterR9,
    WHvX64RegisterR10,
    WHvX64RegisterR11,
    WHvX64RegisterR12,
    WHvX64RegisterR13,
    WHvX64RegisterR14,
    WHvX64RegisterR15,
    WHvX64RegisterRip,
    WHvX64RegisterRflags,
];

/// Names for [`Sregs`], in the order of [`sregs_to_values`].
pub(crate) const SREG_NAMES: [WHV_REGISTER_NAME; 16] = [
    WHvX64RegisterCs,
    WHvX64RegisterDs,
    WHvX64RegisterEs,
    WHvX64RegisterFs,
    WHvX64RegisterGs,
    WHvX64RegisterSs,
    WHvX64RegisterTr,
    WHvX64RegisterLdtr,
    WHvX64RegisterGdtr,
    WHvX64RegisterIdtr,
    WHvX64RegisterCr0,
    WHvX64RegisterCr2,
    WHvX64RegisterCr3,
    WHvX64RegisterCr4,
    WHvX64RegisterCr8,
    WHvX64RegisterEfer,
];

/// Up to [`RegBatch::CAPACITY`] registers written in one `WHvSetVirtualProcessorRegisters`
/// call, on the stack (the exit paths build one per exit).
pub(crate) struct RegBatch {
    names: [WHV_REGISTER_NAME; RegBatch::CAPACITY],
    values: [RegValue; RegBatch::CAPACITY],
    len: usize,
}

impl RegBatch {
    /// The largest batch an exit path builds (RAX-RDX, RIP, RFLAGS, InterruptState).
    pub(crate) const CAPACITY: usize = 8;

    pub(crate) fn new() -> Self {
        Self {
            names: [0; Self::CAPACITY],
            values: [ZERO_VALUE; Self::CAPACITY],
            len: 0,
        }
    }

    /// Adds a `Reg64` value.
    ///
    /// # Panics
    /// If the batch is full: every caller pushes a fixed, small number of registers, so
    /// this is a bug in the backend, never something a guest can cause.
    pub(crate) fn push(&mut self, name: WHV_REGISTER_NAME, value: u64) -> &mut Self {
        assert!(self.len < Self::CAPACITY, "register batch overflow");
        self.names[self.len] = name;
        self.values[self.len] = from_u64(value);
        self.len += 1;
        self
    }

    pub(crate) fn names(&self) -> &[WHV_REGISTER_NAME] {
        &self.names[..self.len]
    }

    pub(crate) fn values(&self) -> &[RegValue] {
        &self.values[..self.len]
    }
}

/// A `Reg64` value (upper 64 bits zero).
pub(crate) fn from_u64(v: u64) -> RegValue {
    let mut r = ZERO_VALUE;
    r.0.Reg64 = v;
    r
}

/// Reads the `Reg64` view.
pub(crate) fn to_u64(v: &RegValue) -> u64 {
    // SAFETY: every view of WHV_REGISTER_VALUE is plain integer data, so any bit
    // pattern is a valid u64.
    unsafe { v.0.Reg64 }
}

/// A segment register value.
pub(crate) fn from_segment(s: &Segment) -> RegValue {
    Aligned16(WHV_REGISTER_VALUE {
        Segment: whv_segment(s),
    })
}

/// hv-core segment -> WHP segment register.
pub(crate) fn whv_segment(s: &Segment) -> WHV_X64_SEGMENT_REGISTER {
    WHV_X64_SEGMENT_REGISTER {
        Base: s.base,
        Limit: s.limit,
        Selector: s.selector,
        Anonymous: WHV_X64_SEGMENT_REGISTER_0 {
            Attributes: s.attributes(),
        },
    }
}

/// WHP segment register -> hv-core segment.
pub(crate) fn segment_from_whv(s: &WHV_X64_SEGMENT_REGISTER) -> Segment {
    // SAFETY: the union is a u16 either way (bitfield struct or `Attributes`).
    let attributes = unsafe { s.Anonymous.Attributes };
    Segment {
        base: s.Base,
        limit: s.Limit,
        selector: s.Selector,
        ..Segment::default()
    }
    .with_attributes(attributes)
}

/// Reads the `Segment` view.
pub(crate) fn to_segment(v: &RegValue) -> Segment {
    // SAFETY: WHV_X64_SEGMENT_REGISTER is plain integers; any 16 bytes are valid.
    let s = unsafe { v.0.Segment };
    segment_from_whv(&s)
}

fn from_table(t: &DescriptorTable) -> RegValue {
    Aligned16(WHV_REGISTER_VALUE {
        Table: WHV_X64_TABLE_REGISTER {
            Pad: [0; 3],
            Limit: t.limit,
            Base: t.base,
        },
    })
}

fn to_table(v: &RegValue) -> DescriptorTable {
    // SAFETY: WHV_X64_TABLE_REGISTER is plain integers; any 16 bytes are valid.
    let t = unsafe { v.0.Table };
    DescriptorTable {
        base: t.Base,
        limit: t.Limit,
    }
}

/// [`Regs`] as values for [`GPR_NAMES`].
pub(crate) fn regs_to_values(r: &Regs) -> [RegValue; 18] {
    [
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15, r.rip, r.rflags,
    ]
    .map(from_u64)
}

/// Values read for [`GPR_NAMES`] as [`Regs`].
pub(crate) fn regs_from_values(v: &[RegValue; 18]) -> Regs {
    let g = v.each_ref().map(to_u64);
    Regs {
        rax: g[0],
        rbx: g[1],
        rcx: g[2],
        rdx: g[3],
        rsi: g[4],
        rdi: g[5],
        rsp: g[6],
        rbp: g[7],
        r8: g[8],
        r9: g[9],
        r10: g[10],
        r11: g[11],
        r12: g[12],
        r13: g[13],
        r14: g[14],
        r15: g[15],
        rip: g[16],
        rflags: g[17],
    }
}

/// [`Sregs`] as values for [`SREG_NAMES`].
pub(crate) fn sregs_to_values(s: &Sregs) -> [RegValue; 16] {
    [
        from_segment(&s.cs),
        from_segment(&s.ds),
        from_segment(&s.es),
        from_segment(&s.fs),
        from_segment(&s.gs),
        from_segment(&s.ss),
        from_segment(&s.tr),
        from_segment(&s.ldt),
        from_table(&s.gdt),
        from_table(&s.idt),
        from_u64(s.cr0),
        from_u64(s.cr2),
        from_u64(s.cr3),
        from_u64(s.cr4),
        from_u64(s.cr8),
        from_u64(s.efer),
    ]
}

/// Values read for [`SREG_NAMES`] as [`Sregs`].
pub(crate) fn sregs_from_values(v: &[RegValue; 16]) -> Sregs {
    Sregs {
        cs: to_segment(&v[0]),
        ds: to_segment(&v[1]),
        es: to_segment(&v[2]),
        fs: to_segment(&v[3]),
        gs: to_segment(&v[4]),
        ss: to_segment(&v[5]),
        tr: to_segment(&v[6]),
        ldt: to_segment(&v[7]),
        gdt: to_table(&v[8]),
        idt: to_table(&v[9]),
        cr0: to_u64(&v[10]),
        cr2: to_u64(&v[11]),
        cr3: to_u64(&v[12]),
        cr4: to_u64(&v[13]),
        cr8: to_u64(&v[14]),
        efer: to_u64(&v[15]),
        apic_base: 0,
    }
}

#[cfg(test)]
mod tests {
    use hv_core::arch::x86::{long_mode, real_mode};

    use super::*;

    fn bytes(v: &RegValue) -> [u8; 16] {
        // SAFETY: test helper; WHV_UINT128 is 16 plain bytes.
        let d = unsafe { v.0.Reg128.Dword };
        let mut out = [0u8; 16];
        for (chunk, word) in out.chunks_exact_mut(4).zip(d) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    #[test]
    fn register_names_have_the_documented_numbers() {
        assert_eq!(GPR_NAMES[0], 0); // Rax
        assert_eq!(GPR_NAMES[1], 3); // Rbx
        assert_eq!(GPR_NAMES[6], 4); // Rsp
        assert_eq!(GPR_NAMES[16], 16); // Rip
        assert_eq!(GPR_NAMES[17], 17); // Rflags
        assert_eq!(SREG_NAMES[0], 19); // Cs
        assert_eq!(SREG_NAMES[7], 24); // Ldtr
        assert_eq!(SREG_NAMES[8], 27); // Gdtr
        assert_eq!(SREG_NAMES[9], 26); // Idtr
        assert_eq!(SREG_NAMES[14], 32); // Cr8
        assert_eq!(SREG_NAMES[15], 0x2001); // Efer
    }

    #[test]
    fn regs_round_trip_in_name_order() {
        let r = Regs {
            rax: 1,
            rbx: 2,
            rcx: 3,
            rdx: 4,
            rsi: 5,
            rdi: 6,
            rsp: 7,
            rbp: 8,
            r8: 9,
            r9: 10,
            r10: 11,
            r11: 12,
            r12: 13,
            r13: 14,
            r14: 15,
            r15: 16,
            rip: 0x7c00,
            rflags: 0x202,
        };
        let v = regs_to_values(&r);
        assert_eq!(to_u64(&v[16]), 0x7c00);
        assert_eq!(to_u64(&v[6]), 7, "RSP sits at the WHvX64RegisterRsp slot");
        assert_eq!(regs_from_values(&v), r);
    }

    #[test]
    fn segment_value_is_byte_exact() {
        let s = Segment {
            base: 0x1122_3344_5566_7788,
            limit: 0xffff_ffff,
            selector: 0x10,
            ..Segment::default()
        }
        .with_attributes(0xa09b);
        let b = bytes(&from_segment(&s));
        assert_eq!(&b[0..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&b[8..12], &0xffff_ffffu32.to_le_bytes());
        assert_eq!(&b[12..14], &0x10u16.to_le_bytes());
        assert_eq!(&b[14..16], &0xa09bu16.to_le_bytes());
        assert_eq!(to_segment(&from_segment(&s)), s);
    }

    #[test]
    fn table_value_is_byte_exact() {
        let b = bytes(&from_table(&DescriptorTable {
            base: 0x1000,
            limit: 0x27,
        }));
        assert_eq!(&b[0..6], &[0; 6], "Pad");
        assert_eq!(&b[6..8], &0x27u16.to_le_bytes());
        assert_eq!(&b[8..16], &0x1000u64.to_le_bytes());
    }

    #[test]
    fn sregs_round_trip_for_entry_states() {
        let mem = hv_core::GuestMemory::ram(0x20_0000).expect("ram");
        let states = [
            real_mode(0, 0x7c00, 0x7000),
            long_mode(&mem, 0x1000, 0x500, 0x10_0000, 0x8000).expect("long mode"),
        ];
        for st in states {
            let mut s = st.sregs;
            s.apic_base = 0;
            let back = sregs_from_values(&sregs_to_values(&s));
            assert_eq!(back, s);
        }
        let real = real_mode(0, 0x7c00, 0x7000).sregs;
        assert_eq!(to_u64(&sregs_to_values(&real)[10]), real.cr0);
        let cs = bytes(&sregs_to_values(&real)[0]);
        assert_eq!(
            &cs[14..16],
            &0x9bu16.to_le_bytes(),
            "real-mode code is 0x9b"
        );
    }
}
