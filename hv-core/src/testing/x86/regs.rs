//! Register get/set round trips.

use iced_x86::code_asm::*;

use super::{CODE, GDT, Guest, STACK, X86Backend, load, ram};
use crate::VcpuX86;
use crate::arch::x86::regs::Segment;
use crate::arch::x86::{DescriptorTable, Regs, Sregs, protected_mode, real_mode};

/// Every general-purpose register, RIP and RFLAGS read back as set, and the guest sees
/// them (it writes AL to port DX).
pub fn regs_round_trip<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.out(dx, al)?;
        a.hlt()
    });
    let regs = Regs {
        rax: 0x1111_2222_3333_445A,
        rbx: 0x0102_0304_0506_0708,
        rcx: 0xA1A2_A3A4_A5A6_A7A8,
        rdx: 0x96,
        rsi: 0x5555_6666,
        rdi: 0x7777_8888,
        rsp: STACK,
        rbp: 0x9999,
        r8: 8,
        r9: 9,
        r10: 10,
        r11: 11,
        r12: 12,
        r13: 13,
        r14: 14,
        r15: 0xFFFF_0000_FFFF_0000,
        rip: CODE,
        // CF PF AF ZF SF OF and the always-one bit 1; IF clear.
        rflags: 0x8D7,
    };
    g.vcpu.set_regs(&regs).expect("set regs");
    assert_eq!(g.vcpu.regs().expect("regs"), regs);
    g.run_to_halt();
    assert_eq!(g.io.outs(0x96), [[0x5A]]);
    let after = g.vcpu.regs().expect("regs");
    assert_eq!(
        (after.rbx, after.r15, after.rip),
        (regs.rbx, regs.r15, CODE + 2)
    );
}

fn same_segment(a: &Segment, b: &Segment) -> bool {
    (
        a.base, a.limit, a.selector, a.type_, a.present, a.dpl, a.db, a.s, a.l, a.g,
    ) == (
        b.base, b.limit, b.selector, b.type_, b.present, b.dpl, b.db, b.s, b.l, b.g,
    )
}

fn assert_sregs_match(got: &Sregs, want: &Sregs) {
    for (name, g, w) in [
        ("cs", &got.cs, &want.cs),
        ("ds", &got.ds, &want.ds),
        ("es", &got.es, &want.es),
        ("fs", &got.fs, &want.fs),
        ("gs", &got.gs, &want.gs),
        ("ss", &got.ss, &want.ss),
    ] {
        assert!(same_segment(g, w), "{name}: got {g:?}, set {w:?}");
    }
    assert_eq!((got.gdt, got.idt), (want.gdt, want.idt));
    assert_eq!(
        (got.cr0, got.cr3, got.cr4, got.efer),
        (want.cr0, want.cr3, want.cr4, want.efer)
    );
}

/// Segment, descriptor-table and control registers read back as set, in protected and
/// real mode, and the state is runnable.
pub fn sregs_round_trip<H: X86Backend>(hv: &H) {
    let mem = ram();
    load(&mem, 32, CODE, |a| a.hlt());
    let mut entry = protected_mode(&mem, GDT, CODE as u32, STACK as u32).expect("entry");
    entry.sregs.idt = DescriptorTable {
        base: 0x800,
        limit: 0x7FF,
    };
    entry.sregs.cr3 = 0x3000; // ignored with paging off, but must be kept
    let mut g = Guest::new(hv, mem, &entry);
    assert_sregs_match(&g.vcpu.sregs().expect("sregs"), &entry.sregs);

    let real = real_mode(0x07C0, 0, 0x7C00);
    g.vcpu.set_sregs(&real.sregs).expect("set real-mode sregs");
    let got = g.vcpu.sregs().expect("sregs");
    assert_sregs_match(&got, &real.sregs);
    assert_eq!(got.cs.base, 0x7C00);

    g.vcpu
        .set_sregs(&entry.sregs)
        .expect("back to protected mode");
    g.vcpu.set_regs(&entry.regs).expect("regs");
    g.run_to_halt();
}
