//! Helpers for the firmware's unit tests: a board without a vCPU.

use std::sync::{Arc, Mutex};

use crate::arch::x86::regs::Regs;
use crate::clock::FakeClock;
use crate::devices::system::SystemControl;
use crate::devices::uart::SerialLog;
use crate::devices::vga::VgaState;
use crate::loader::disk::Disk;
use crate::machine::layout::pc_memory;
use crate::machine::pc::{PcBoard, SharedParts};
use crate::machine::stats::ExitStats;

use super::cpu_view::CpuView;

/// A 4 MiB PC with the BIOS installed and a fake clock.
pub fn board() -> PcBoard {
    board_with_clock(Arc::new(FakeClock::new()))
}

/// A 4 MiB PC on `clock`, BIOS installed.
pub fn board_with_clock(clock: Arc<FakeClock>) -> PcBoard {
    let shared = SharedParts {
        memory: pc_memory(4).expect("memory"),
        clock,
        vga: Arc::new(Mutex::new(VgaState::default())),
        serial_log: SerialLog::shared(),
        stats: Arc::new(ExitStats::default()),
        system: Arc::new(SystemControl::new()),
    };
    let b = PcBoard::new(shared, None);
    super::install(&b).expect("install");
    b
}

/// A disk of `sectors` sectors where every byte of sector n is n as u8.
pub fn patterned_disk(sectors: usize, force_hard_disk: bool) -> Disk {
    let bytes: Vec<u8> = (0..sectors).flat_map(|s| vec![s as u8; 512]).collect();
    Disk::from_bytes(bytes, "test", force_hard_disk).expect("disk")
}

/// A caller with AX, BX, CX, DX set.
pub fn cpu(ax: u16, bx: u16, cx: u16, dx: u16) -> CpuView {
    CpuView::for_test(Regs {
        rax: ax.into(),
        rbx: bx.into(),
        rcx: cx.into(),
        rdx: dx.into(),
        ..Default::default()
    })
}
