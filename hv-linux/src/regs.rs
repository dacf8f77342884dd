//! Marshalling between KVM's register structs and hv-core's.
//!
//! Pure conversions, so they can be tested without `/dev/kvm`. `kvm_sregs` carries an
//! interrupt bitmap hv-core does not model; [`to_kvm_sregs`] keeps the one read from KVM
//! so setting segments never drops or invents a pending interrupt.

use hv_core::arch::x86::{DescriptorTable, Regs, Segment, Sregs};
use kvm_bindings::{kvm_dtable, kvm_regs, kvm_segment, kvm_sregs};

/// `kvm_regs` -> [`Regs`].
pub(crate) fn from_kvm_regs(r: &kvm_regs) -> Regs {
    Regs {
        rax: r.rax,
        rbx: r.rbx,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        rsp: r.rsp,
        rbp: r.rbp,
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rip: r.rip,
        rflags: r.rflags,
    }
}

/// [`Regs`] -> `kvm_regs`.
pub(crate) fn to_kvm_regs(r: &Regs) -> kvm_regs {
    kvm_regs {
        rax: r.rax,
        rbx: r.rbx,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        rsp: r.rsp,
        rbp: r.rbp,
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rip: r.rip,
        rflags: r.rflags,
    }
}

fn from_kvm_segment(s: &kvm_segment) -> Segment {
    Segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.type_ & 0xF,
        present: s.present != 0,
        dpl: s.dpl & 3,
        db: s.db != 0,
        s: s.s != 0,
        l: s.l != 0,
        g: s.g != 0,
        avl: s.avl != 0,
        unusable: s.unusable != 0,
    }
}

fn to_kvm_segment(s: &Segment) -> kvm_segment {
    kvm_segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.type_ & 0xF,
        present: u8::from(s.present),
        dpl: s.dpl & 3,
        db: u8::from(s.db),
        s: u8::from(s.s),
        l: u8::from(s.l),
        g: u8::from(s.g),
        avl: u8::from(s.avl),
        unusable: u8::from(s.unusable),
        padding: 0,
    }
}

fn from_kvm_dtable(t: &kvm_dtable) -> DescriptorTable {
    DescriptorTable {
        base: t.base,
        limit: t.limit,
    }
}

fn to_kvm_dtable(t: &DescriptorTable) -> kvm_dtable {
    kvm_dtable {
        base: t.base,
        limit: t.limit,
        padding: [0; 3],
    }
}

/// `kvm_sregs` -> [`Sregs`].
pub(crate) fn from_kvm_sregs(s: &kvm_sregs) -> Sregs {
    Sregs {
        cs: from_kvm_segment(&s.cs),
        ds: from_kvm_segment(&s.ds),
        es: from_kvm_segment(&s.es),
        fs: from_kvm_segment(&s.fs),
        gs: from_kvm_segment(&s.gs),
        ss: from_kvm_segment(&s.ss),
        tr: from_kvm_segment(&s.tr),
        ldt: from_kvm_segment(&s.ldt),
        gdt: from_kvm_dtable(&s.gdt),
        idt: from_kvm_dtable(&s.idt),
        cr0: s.cr0,
        cr2: s.cr2,
        cr3: s.cr3,
        cr4: s.cr4,
        cr8: s.cr8,
        efer: s.efer,
        apic_base: s.apic_base,
    }
}

/// [`Sregs`] -> `kvm_sregs`, keeping `current.interrupt_bitmap` (KVM's pending interrupt).
pub(crate) fn to_kvm_sregs(s: &Sregs, current: &kvm_sregs) -> kvm_sregs {
    kvm_sregs {
        cs: to_kvm_segment(&s.cs),
        ds: to_kvm_segment(&s.ds),
        es: to_kvm_segment(&s.es),
        fs: to_kvm_segment(&s.fs),
        gs: to_kvm_segment(&s.gs),
        ss: to_kvm_segment(&s.ss),
        tr: to_kvm_segment(&s.tr),
        ldt: to_kvm_segment(&s.ldt),
        gdt: to_kvm_dtable(&s.gdt),
        idt: to_kvm_dtable(&s.idt),
        cr0: s.cr0,
        cr2: s.cr2,
        cr3: s.cr3,
        cr4: s.cr4,
        cr8: s.cr8,
        efer: s.efer,
        apic_base: s.apic_base,
        interrupt_bitmap: current.interrupt_bitmap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_core::GuestMemory;
    use hv_core::arch::x86::{long_mode, real_mode};

    #[test]
    fn regs_round_trip_every_field() {
        // Distinct values per field catch swapped assignments.
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
            rip: 17,
            rflags: 0x202,
        };
        let k = to_kvm_regs(&r);
        assert_eq!((k.rsi, k.rdi, k.rsp, k.rbp, k.r15), (5, 6, 7, 8, 16));
        assert_eq!(from_kvm_regs(&k), r);
    }

    #[test]
    fn sregs_round_trip_real_and_long_mode() {
        let mem = GuestMemory::ram(0x10000).expect("ram");
        let long = long_mode(&mem, 0x9000, 0x500, 0x1000, 0x8000).expect("fits");
        let mut real = real_mode(0x07c0, 0, 0x7c00);
        real.sregs.cr2 = 0x1234;
        real.sregs.cr8 = 0xf;
        real.sregs.apic_base = 0xfee0_0900;
        real.sregs.ldt.unusable = true;
        for sregs in [real.sregs, long.sregs] {
            let current = kvm_sregs::default();
            assert_eq!(from_kvm_sregs(&to_kvm_sregs(&sregs, &current)), sregs);
        }
    }

    #[test]
    fn sregs_keep_kvm_pending_interrupt_bitmap() {
        let current = kvm_sregs {
            interrupt_bitmap: [0, 1 << 3, 0, 0],
            ..Default::default()
        };
        let k = to_kvm_sregs(&real_mode(0, 0x7c00, 0).sregs, &current);
        assert_eq!(k.interrupt_bitmap, [0, 1 << 3, 0, 0]);
        assert_eq!(k.cs.type_, 0xB);
        assert_eq!(k.ss.present, 1);
    }

    #[test]
    fn segment_flags_map_to_kvm_bytes() {
        let s = Segment {
            base: 0x1000,
            limit: 0xFFFF_FFFF,
            selector: 0x1b,
            type_: 0xFB, // upper nibble is not part of the type and must be dropped
            present: true,
            dpl: 7, // only two bits exist
            db: true,
            s: true,
            l: false,
            g: true,
            avl: true,
            unusable: false,
        };
        let k = to_kvm_segment(&s);
        assert_eq!(
            (k.type_, k.dpl, k.db, k.g, k.avl, k.l),
            (0xB, 3, 1, 1, 1, 0)
        );
        let back = from_kvm_segment(&k);
        assert_eq!((back.type_, back.dpl, back.base), (0xB, 3, 0x1000));
    }
}
