//! arm64 guest support shared by backends: register names, exception-syndrome decoding,
//! exception entry, trapped system registers, the GICv3 signalling rule, PSCI and the
//! virtual-timer protocol. Everything here is pure and tested on any host.

pub mod esr;
pub mod exception;
pub mod gic;
pub mod psci;
pub mod regs;
pub mod sysreg;
pub mod vtimer;

pub use esr::{DataAbort, Exception, MmioAccess, MmioDecodeError, Syndrome};
pub use psci::{PsciAction, PsciCall};
pub use regs::{Arm64Reg, Arm64SysReg};
pub use vtimer::{Vtimer, VtimerSync, WfiWait};
