//! Architecture-specific types shared by backends: registers, entry states, decoding.

pub mod arm64;
pub mod x86;
