//! `hlt`, and entry in real, 32-bit protected and 64-bit long mode.
//!
//! Each entry case runs `push` and reports how far the stack pointer moved: 2 bytes in
//! 16-bit code, 4 in 32-bit, 8 in 64-bit. A backend that loaded the wrong mode would
//! decode the same bytes differently and report another width (or fault).

use iced_x86::code_asm::*;

use super::{CODE, Guest, X86Backend};
use crate::arch::x86::regs::{CR0_PE, EFER_LMA};
use crate::{VcpuExit, VcpuX86};

const PORT: u16 = 0x90;

/// `hlt` ends the run with `Halt`, RIP after the instruction, and no I/O.
pub fn hlt_exits_after_the_instruction<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.nop()?;
        a.hlt()
    });
    let exit = g.run_once().expect("run");
    assert_eq!(exit, VcpuExit::Halt);
    assert!(g.io.events.is_empty(), "no I/O: {:?}", g.io.events);
    assert_eq!(
        g.vcpu.regs().expect("regs").rip,
        CODE + 2,
        "RIP is past nop; hlt"
    );
}

fn reported_push_width<H: X86Backend>(g: &mut Guest<H>) -> Vec<Vec<u8>> {
    g.run_to_halt();
    g.io.outs(PORT)
}

/// Real-mode entry: 16-bit pushes, CR0.PE clear.
pub fn entry_real_mode<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(bx, sp)?;
        a.push(ax)?;
        a.sub(bx, sp)?;
        a.mov(al, bl)?;
        a.out(PORT as u32, al)?;
        a.hlt()
    });
    assert_eq!(reported_push_width(&mut g), [[2]]);
    assert_eq!(g.vcpu.sregs().expect("sregs").cr0 & CR0_PE, 0);
}

/// 32-bit protected-mode entry: 32-bit pushes, CR0.PE set, not long mode.
pub fn entry_protected_mode<H: X86Backend>(hv: &H) {
    let mut g = Guest::protected(hv, |a| {
        a.mov(ebx, esp)?;
        a.push(eax)?;
        a.sub(ebx, esp)?;
        a.mov(al, bl)?;
        a.out(PORT as u32, al)?;
        a.hlt()
    });
    assert_eq!(reported_push_width(&mut g), [[4]]);
    let sregs = g.vcpu.sregs().expect("sregs");
    assert_ne!(sregs.cr0 & CR0_PE, 0);
    assert_eq!(sregs.efer & EFER_LMA, 0);
}

/// 64-bit long-mode entry: 64-bit pushes, EFER.LMA set.
pub fn entry_long_mode<H: X86Backend>(hv: &H) {
    let mut g = Guest::long(hv, |a| {
        a.mov(rbx, rsp)?;
        a.push(rax)?;
        a.sub(rbx, rsp)?;
        a.mov(al, bl)?;
        a.out(PORT as u32, al)?;
        a.hlt()
    });
    assert_eq!(reported_push_width(&mut g), [[8]]);
    assert_ne!(g.vcpu.sregs().expect("sregs").efer & EFER_LMA, 0);
}
