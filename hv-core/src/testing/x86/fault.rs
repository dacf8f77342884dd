//! A triple fault stops the guest with a reason a user can read.

use super::{CODE, GDT, Guest, STACK, X86Backend, load, ram};
use crate::arch::x86::{DescriptorTable, protected_mode};
use crate::{HvError, VcpuExit};

/// `ud2` with an empty IDT: #UD, then #GP for the missing gate, then #DF, then a triple
/// fault. Hardware virtualization reports `Shutdown`; hosts that emulate kernel-mode
/// code may instead report a guest failure, which must then name what happened and where.
pub fn triple_fault_stops_the_guest<H: X86Backend>(hv: &H) {
    let mem = ram();
    load(&mem, 32, CODE, |a| a.ud2());
    let mut entry = protected_mode(&mem, GDT, CODE as u32, STACK as u32).expect("entry");
    entry.sregs.idt = DescriptorTable { base: 0, limit: 0 };
    let mut g = Guest::new(hv, mem, &entry);
    let result = loop {
        match g.run_once() {
            Ok(VcpuExit::Spurious) => continue,
            other => break other,
        }
    };
    match result {
        Ok(VcpuExit::Shutdown) => assert_eq!(VcpuExit::Shutdown.name(), "shutdown"),
        Err(HvError::Guest(failure)) => {
            let text = failure.to_string();
            assert!(
                !failure.what.is_empty(),
                "the report says what happened: {text}"
            );
            assert!(
                text.contains(&format!("{:#x}", failure.pc)),
                "the report names the guest PC: {text}"
            );
        }
        other => panic!("a triple fault must stop the guest, got {other:?}"),
    }
    assert!(g.io.events.is_empty(), "no I/O: {:?}", g.io.events);
}
