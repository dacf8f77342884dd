//! External interrupt injection and the interrupt window.

use iced_x86::code_asm::*;

use super::{CODE, Guest, X86Backend, load};
use crate::VcpuExit;
use crate::arch::x86::regs::RFLAGS_IF;
use crate::{Vcpu, VcpuX86};

const PORT: u16 = 0x93;
const VECTOR: u8 = 0x20;
const HANDLER: u64 = CODE + 0x100;

/// Waits (with the interrupt window if needed) until the guest can take an interrupt.
fn wait_until_ready<H: X86Backend>(g: &mut Guest<H>) {
    if !g.vcpu.ready_for_interrupt() {
        g.vcpu
            .request_interrupt_window(true)
            .expect("request window");
        g.run_until("the interrupt window", |e| e == VcpuExit::InterruptWindow);
        g.vcpu
            .request_interrupt_window(false)
            .expect("cancel window");
    }
    assert!(
        g.vcpu.ready_for_interrupt(),
        "ready once the window is open"
    );
}

/// A real-mode guest sets an IVT entry, `sti; hlt`; the host injects the vector and the
/// handler's `out` runs, then `iret` returns to the halt loop.
pub fn interrupt_injection_real_mode<H: X86Backend>(hv: &H) {
    let ivt_entry = u64::from(VECTOR) * 4;
    let mut g = Guest::real(hv, |a| {
        a.mov(word_ptr(ivt_entry as u32), HANDLER as u32)?;
        a.mov(word_ptr(ivt_entry as u32 + 2), 0)?;
        a.sti()?;
        let mut wait = a.create_label();
        a.set_label(&mut wait)?;
        a.hlt()?;
        a.jmp(wait)
    });
    load(&g.mem, 16, HANDLER, |a| {
        a.mov(al, 0x42)?;
        a.out(PORT as u32, al)?;
        a.iret()
    });
    g.run_to_halt();
    assert!(g.io.events.is_empty(), "nothing ran before the interrupt");
    wait_until_ready(&mut g);
    g.vcpu.inject_interrupt(VECTOR).expect("inject");
    g.run_to_halt();
    assert_eq!(g.io.outs(PORT), [[0x42]], "the handler ran exactly once");
}

/// With IF = 0 a requested window does not open; after `sti` it does, with IF set and
/// the vCPU ready for an interrupt. (Hardware opens it right after the instruction that
/// follows `sti`; some software-assisted hosts report it at the next entry instead, so
/// only "after sti" is checked.)
pub fn interrupt_window_opens_after_sti<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(al, 1)?;
        a.out(PORT as u32, al)?;
        a.mov(al, 2)?;
        a.out(PORT as u32, al)?;
        a.sti()?; // at CODE + 8
        a.nop()?;
        a.mov(al, 3)?;
        a.out(PORT as u32, al)?;
        let mut spin = a.create_label();
        a.set_label(&mut spin)?;
        a.jmp(spin)
    });
    const AFTER_STI: u64 = CODE + 9;
    g.run_to_io();
    assert!(!g.vcpu.ready_for_interrupt(), "IF is clear at entry");
    g.vcpu
        .request_interrupt_window(true)
        .expect("request window");
    let exit = g.run_once().expect("run");
    assert_eq!(exit, VcpuExit::Io, "no window while IF = 0");
    assert_eq!(g.io.outs(PORT), [[1], [2]]);
    g.run_until("the interrupt window", |e| e == VcpuExit::InterruptWindow);
    let regs = g.vcpu.regs().expect("regs");
    assert!(
        regs.rip >= AFTER_STI,
        "window opened at {:#x}, before sti",
        regs.rip
    );
    assert_ne!(regs.rflags & RFLAGS_IF, 0);
    assert!(g.vcpu.ready_for_interrupt());
    g.vcpu
        .request_interrupt_window(false)
        .expect("cancel window");
}

/// `Vcpu::reset` drops what the old guest left queued: an interrupt injected but never
/// taken, and an interrupt-window request. A guest loaded after the reset runs without
/// the old vector's handler and without a window exit, even though it enables
/// interrupts (a backend that kept the injection would run the handler at the next
/// entry, whatever the new guest's IF).
pub fn reset_discards_queued_events<H: X86Backend>(hv: &H) {
    const FRESH: u64 = CODE + 0x200;
    let ivt_entry = u64::from(VECTOR) * 4;
    let mut g = Guest::real(hv, |a| {
        a.mov(word_ptr(ivt_entry as u32), HANDLER as u32)?;
        a.mov(word_ptr(ivt_entry as u32 + 2), 0)?;
        a.sti()?;
        a.hlt()
    });
    load(&g.mem, 16, HANDLER, |a| {
        a.mov(al, 0x42)?;
        a.out(PORT as u32, al)?;
        a.iret()
    });
    load(&g.mem, 16, FRESH, |a| {
        a.mov(al, 7)?;
        a.out(PORT as u32, al)?;
        a.sti()?;
        a.nop()?;
        a.mov(al, 8)?;
        a.out(PORT as u32, al)?;
        a.cli()?;
        a.hlt()
    });
    g.run_to_halt();
    wait_until_ready(&mut g);
    g.vcpu.inject_interrupt(VECTOR).expect("inject");
    g.vcpu
        .request_interrupt_window(true)
        .expect("request window");
    g.vcpu.reset().expect("reset");
    let entry = crate::arch::x86::real_mode(0, FRESH as u16, super::STACK as u16);
    g.vcpu.set_sregs(&entry.sregs).expect("set sregs");
    g.vcpu.set_regs(&entry.regs).expect("set regs");
    let exit = g.run_until("hlt", |e| !matches!(e, VcpuExit::Io | VcpuExit::Spurious));
    assert_eq!(
        exit,
        VcpuExit::Halt,
        "no window exit after reset; I/O: {:?}",
        g.io.events
    );
    assert_eq!(
        g.io.outs(PORT),
        [[7], [8]],
        "the vector injected before the reset never ran"
    );
}
