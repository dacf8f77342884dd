//! External interrupt injection and the interrupt window.

use iced_x86::code_asm::*;

use super::{CODE, Guest, X86Backend, load};
use crate::VcpuExit;
use crate::VcpuX86;
use crate::arch::x86::regs::RFLAGS_IF;

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
