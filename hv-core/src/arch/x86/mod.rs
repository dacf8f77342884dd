//! x86 register types, entry states (real, protected, long mode), CPUID policy, and the
//! classification of instruction bytes used to explain emulation failures.

pub mod cpuid;
pub mod entry;
pub mod insn;
pub mod regs;

pub use entry::{EntryState, long_mode, protected_mode, real_mode};
pub use regs::{DescriptorTable, Regs, Segment, Sregs};
