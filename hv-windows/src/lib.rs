//! hv's Windows Hypervisor Platform backend.
pub mod api;
mod decode;
pub mod hresult;
mod io;
mod layout;
mod regs;
