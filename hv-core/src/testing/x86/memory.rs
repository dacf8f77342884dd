//! Guest memory shared with the host, and read-only (ROM) regions.

use iced_x86::code_asm::*;

use super::{DATA, Guest, RAM_SIZE, X86Backend};
use crate::GuestMemory;
use crate::memory::RegionSpec;
use crate::testing::io_log::IoEvent;

const PORT: u16 = 0x91;

/// A guest store is visible to the host through `GuestMemory`.
pub fn guest_writes_host_reads<H: X86Backend>(hv: &H) {
    let mut g = Guest::protected(hv, |a| {
        a.mov(dword_ptr(DATA), 0xC0FF_EE11u32)?;
        a.hlt()
    });
    g.run_to_halt();
    assert_eq!(g.mem.read_u32(DATA).expect("data"), 0xC0FF_EE11);
}

/// A host write through `GuestMemory` is what the guest then loads.
pub fn host_writes_guest_reads<H: X86Backend>(hv: &H) {
    let mut g = Guest::protected(hv, |a| {
        a.mov(eax, dword_ptr(DATA))?;
        a.out(PORT as u32, eax)?;
        a.hlt()
    });
    g.mem.write_u32(DATA, 0x5A5A_A5A5).expect("data");
    g.run_to_halt();
    assert_eq!(g.io.outs(PORT), [[0xA5, 0xA5, 0x5A, 0x5A]]);
}

/// ROM can be read; a store to it arrives as an MMIO write and leaves the ROM unchanged.
pub fn rom_writes_exit_as_mmio<H: X86Backend>(hv: &H) {
    const ROM: u64 = RAM_SIZE;
    let mem = GuestMemory::new(&[
        RegionSpec {
            gpa: 0,
            size: RAM_SIZE,
            read_only: false,
        },
        RegionSpec {
            gpa: ROM,
            size: 0x4000,
            read_only: true,
        },
    ])
    .expect("layout");
    mem.write_u32(ROM, 0x1122_3344).expect("host writes ROM");
    let mut g = Guest::protected_in(hv, mem, |a| {
        a.mov(eax, dword_ptr(ROM))?;
        a.out(PORT as u32, eax)?;
        a.mov(dword_ptr(ROM), 0xDEAD_BEEFu32)?;
        a.hlt()
    });
    g.run_to_halt();
    assert_eq!(
        g.io.events,
        [
            IoEvent::PioOut {
                port: PORT,
                data: vec![0x44, 0x33, 0x22, 0x11]
            },
            IoEvent::MmioWrite {
                gpa: ROM,
                data: vec![0xEF, 0xBE, 0xAD, 0xDE]
            },
        ]
    );
    assert_eq!(
        g.mem.read_u32(ROM).expect("rom"),
        0x1122_3344,
        "ROM unchanged"
    );
}
