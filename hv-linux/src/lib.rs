//! hv's KVM backend (Linux only; empty elsewhere).
#![cfg(target_os = "linux")]
