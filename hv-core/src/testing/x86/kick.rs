//! Kicking a vCPU from another thread, before it runs, and after it is gone.

use std::time::Duration;

use iced_x86::code_asm::*;

use super::{CODE, Guest, X86Backend};
use crate::{Vcpu, VcpuExit, VcpuX86};

const PORT: u16 = 0x95;

/// A guest spinning in `jmp $` (no exits at all) is forced out by a kick from another
/// thread, and the run reports `Kicked` with RIP still in the loop.
pub fn kick_while_spinning<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(al, 1)?;
        a.out(PORT as u32, al)?;
        let mut spin = a.create_label();
        a.set_label(&mut spin)?;
        a.jmp(spin)
    });
    g.run_to_io(); // the guest is now about to spin
    let kicker = g.vcpu.kicker();
    let kicking = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        kicker.kick();
    });
    g.run_until("the kick", |e| e == VcpuExit::Kicked);
    kicking.join().expect("kicker thread");
    assert_eq!(g.io.outs(PORT), [[1]], "no exits while spinning");
    assert_eq!(
        g.vcpu.regs().expect("regs").rip,
        CODE + 4,
        "stopped in the loop"
    );
}

/// A kick issued while the vCPU is not running is kept: the next run returns `Kicked`
/// before executing anything, and the run after that proceeds normally.
pub fn kick_before_run_is_sticky<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(al, 1)?;
        a.out(PORT as u32, al)?;
        a.hlt()
    });
    g.vcpu.kicker().kick();
    let exit = g.run_until("the pending kick", |e| e != VcpuExit::Spurious);
    assert_eq!(exit, VcpuExit::Kicked);
    assert!(g.io.events.is_empty(), "nothing ran: {:?}", g.io.events);
    g.run_to_halt();
    assert_eq!(g.io.outs(PORT), [[1]], "the kick is consumed, not repeated");
}

/// Kicking through a kicker whose vCPU has been dropped does nothing (no crash, no
/// effect on a new vCPU).
pub fn kick_after_vcpu_drop_is_harmless<H: X86Backend>(hv: &H) {
    let g = Guest::real(hv, |a| a.hlt());
    let stale = g.vcpu.kicker();
    drop(g);
    stale.kick();
    stale.kick();
    let mut fresh = Guest::real(hv, |a| a.hlt());
    stale.kick();
    let exit = fresh.run_until("hlt", |e| e == VcpuExit::Halt);
    assert_eq!(exit, VcpuExit::Halt);
}
