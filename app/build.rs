//! Names for the host cfgs the app branches on, so every `#[cfg]` says what it means.
//!
//! * `pc_host`: the host hypervisor runs x86 guests (KVM on Linux, WHP on Windows), so
//!   `hv run` boots the PC.
//! * `hvf_host`: Hypervisor.framework on Apple Silicon, which runs arm64 guests; `hv run`
//!   boots the arm64 board.
//! * `has_backend`: either. Elsewhere (Intel Macs, other systems) hv builds, and `hv run`
//!   says in one line that there is no backend.

fn main() {
    cfg_aliases::cfg_aliases! {
        pc_host: { any(target_os = "linux", windows) },
        hvf_host: { all(target_os = "macos", target_arch = "aarch64") },
        has_backend: { any(pc_host, hvf_host) },
    }
}
