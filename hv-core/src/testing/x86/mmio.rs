//! MMIO: loads and stores of each size to an address with no memory behind it.

use iced_x86::code_asm::*;

use super::{DATA, Guest, UNMAPPED, X86Backend};
use crate::testing::io_log::IoEvent;

/// Byte, word, dword and qword stores arrive as MMIO writes of that size and value.
pub fn mmio_write_sizes<H: X86Backend>(hv: &H) {
    let mut g = Guest::long(hv, |a| {
        a.mov(rdi, UNMAPPED)?;
        a.mov(byte_ptr(rdi), 0x11)?;
        a.mov(word_ptr(rdi + 2), 0x2233)?;
        a.mov(dword_ptr(rdi + 4), 0x4455_6677)?;
        a.mov(rax, 0x8899_AABB_CCDD_EEFFu64)?;
        a.mov(qword_ptr(rdi + 8), rax)?;
        a.hlt()
    });
    g.run_to_halt();
    let write = |gpa: u64, data: &[u8]| IoEvent::MmioWrite {
        gpa,
        data: data.to_vec(),
    };
    assert_eq!(
        g.io.events,
        [
            write(UNMAPPED, &[0x11]),
            write(UNMAPPED + 2, &[0x33, 0x22]),
            write(UNMAPPED + 4, &[0x77, 0x66, 0x55, 0x44]),
            write(
                UNMAPPED + 8,
                &[0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88]
            ),
        ]
    );
}

/// Byte, word, dword and qword loads are MMIO reads of that size whose data reaches the
/// register (the guest copies each into RAM).
pub fn mmio_read_sizes<H: X86Backend>(hv: &H) {
    let mut g = Guest::long(hv, |a| {
        a.mov(rdi, UNMAPPED)?;
        a.mov(rsi, DATA)?;
        a.mov(al, byte_ptr(rdi))?;
        a.mov(byte_ptr(rsi), al)?;
        a.mov(ax, word_ptr(rdi + 2))?;
        a.mov(word_ptr(rsi + 2), ax)?;
        a.mov(eax, dword_ptr(rdi + 4))?;
        a.mov(dword_ptr(rsi + 4), eax)?;
        a.mov(rax, qword_ptr(rdi + 8))?;
        a.mov(qword_ptr(rsi + 8), rax)?;
        a.hlt()
    });
    g.io.read_bytes.extend(1..=15u8);
    g.run_to_halt();
    let reads: Vec<_> =
        g.io.events
            .iter()
            .map(|e| match e {
                IoEvent::MmioRead { gpa, data } => (*gpa, data.len()),
                other => panic!("unexpected access {other:?}"),
            })
            .collect();
    assert_eq!(
        reads,
        [
            (UNMAPPED, 1),
            (UNMAPPED + 2, 2),
            (UNMAPPED + 4, 4),
            (UNMAPPED + 8, 8)
        ]
    );
    assert_eq!(g.mem.read_u8(DATA).expect("data"), 1);
    assert_eq!(g.mem.read_u16(DATA + 2).expect("data"), 0x0302);
    assert_eq!(g.mem.read_u32(DATA + 4).expect("data"), 0x0706_0504);
    assert_eq!(
        g.mem.read_u64(DATA + 8).expect("data"),
        0x0F0E_0D0C_0B0A_0908
    );
}
