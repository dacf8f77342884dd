//! arm64 register names shared by backends (syndrome decoding lives beside them).

pub mod regs;

pub use regs::{Arm64Reg, Arm64SysReg};
