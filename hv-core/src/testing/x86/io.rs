//! Port I/O: `in`/`out` of each size and string I/O with a repeat count.
//!
//! Backends may deliver `rep ins/outs` as one exit per element or as one batched exit;
//! either way the `IoHandler` must see one call per element, in order.

use iced_x86::code_asm::*;

use super::{DATA, Guest, X86Backend};
use crate::VcpuX86;
use crate::testing::io_log::IoEvent;

const PORT: u16 = 0x80;

/// `out dx, al/ax/eax` arrive as 1-, 2- and 4-byte writes with the register's bytes.
pub fn pio_out_sizes<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(dx, PORT as u32)?;
        a.mov(al, 0x11)?;
        a.out(dx, al)?;
        a.mov(ax, 0x2233)?;
        a.out(dx, ax)?;
        a.mov(eax, 0x4455_6677)?;
        a.out(dx, eax)?;
        a.hlt()
    });
    g.run_to_halt();
    assert_eq!(
        g.io.outs(PORT),
        vec![vec![0x11], vec![0x33, 0x22], vec![0x77, 0x66, 0x55, 0x44]]
    );
}

/// `in al/ax/eax, dx` are 1-, 2- and 4-byte reads whose data lands in the register.
pub fn pio_in_sizes<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.mov(dx, PORT as u32)?;
        a.mov(bx, DATA as u32)?;
        a.in_(al, dx)?;
        a.mov(byte_ptr(bx), al)?;
        a.in_(ax, dx)?;
        a.mov(word_ptr(bx + 2), ax)?;
        a.in_(eax, dx)?;
        a.mov(dword_ptr(bx + 4), eax)?;
        a.hlt()
    });
    g.io.read_bytes
        .extend([0xA1, 0xB1, 0xB2, 0xC1, 0xC2, 0xC3, 0xC4]);
    g.run_to_halt();
    let sizes: Vec<_> =
        g.io.events
            .iter()
            .map(|e| match e {
                IoEvent::PioIn { port: PORT, data } => data.len(),
                other => panic!("unexpected access {other:?}"),
            })
            .collect();
    assert_eq!(sizes, [1, 2, 4]);
    assert_eq!(g.mem.read_u8(DATA).expect("data"), 0xA1);
    assert_eq!(g.mem.read_u16(DATA + 2).expect("data"), 0xB2B1);
    assert_eq!(g.mem.read_u32(DATA + 4).expect("data"), 0xC4C3_C2C1);
}

/// `rep outsb` with CX = 7 writes seven 1-byte elements from DS:SI, in order.
pub fn rep_outsb<H: X86Backend>(hv: &H) {
    const TEXT: &[u8] = b"hv-rep!";
    let mut g = Guest::real(hv, |a| {
        a.cld()?;
        a.mov(si, DATA as u32)?;
        a.mov(cx, TEXT.len() as u32)?;
        a.mov(dx, PORT as u32)?;
        a.rep().outsb()?;
        a.hlt()
    });
    g.mem.write(DATA, TEXT).expect("data");
    g.run_to_halt();
    let outs = g.io.outs(PORT);
    assert!(outs.iter().all(|d| d.len() == 1), "elements: {outs:?}");
    assert_eq!(outs.concat(), TEXT);
    let regs = g.vcpu.regs().expect("regs");
    assert_eq!(regs.rcx & 0xFFFF, 0, "CX counts down to 0");
    assert_eq!(regs.rsi & 0xFFFF, DATA + TEXT.len() as u64, "SI advances");
}

/// `rep insw` with CX = 4 reads four 2-byte elements into ES:DI, in order.
pub fn rep_insw<H: X86Backend>(hv: &H) {
    let mut g = Guest::real(hv, |a| {
        a.cld()?;
        a.mov(di, DATA as u32)?;
        a.mov(cx, 4)?;
        a.mov(dx, PORT as u32)?;
        a.rep().insw()?;
        a.hlt()
    });
    let input = [1, 2, 3, 4, 5, 6, 7, 8];
    g.io.read_bytes.extend(input);
    g.run_to_halt();
    let mut read = [0u8; 8];
    g.mem.read(DATA, &mut read).expect("data");
    assert_eq!(read, input);
    let elements: Vec<_> =
        g.io.events
            .iter()
            .map(|e| match e {
                IoEvent::PioIn { port: PORT, data } => data.clone(),
                other => panic!("unexpected access {other:?}"),
            })
            .collect();
    assert_eq!(elements, [[1, 2], [3, 4], [5, 6], [7, 8]]);
    assert_eq!(g.vcpu.regs().expect("regs").rcx & 0xFFFF, 0);
}
