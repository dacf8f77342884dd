//! hv's Windows Hypervisor Platform backend.
pub mod api;
mod decode;
mod emulator;
pub mod hresult;
mod inject;
mod io;
mod layout;
mod regs;
