//! arm64 guest support shared by backends: register names, exception-syndrome decoding,
//! PSCI and the virtual-timer protocol. Everything here is pure and tested on any host.

pub mod esr;
pub mod psci;
pub mod regs;
pub mod vtimer;

pub use esr::{DataAbort, Exception, MmioAccess, MmioDecodeError, Syndrome};
pub use psci::{PsciAction, PsciCall};
pub use regs::{Arm64Reg, Arm64SysReg};
pub use vtimer::{Vtimer, VtimerSync, WfiWait};
