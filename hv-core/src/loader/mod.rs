//! Image formats: how a file on disk becomes guest memory contents and an entry state.

pub mod boot_sector;
pub mod bzimage;
mod detect;
pub mod disk;
pub mod e820;
pub mod flat;
pub mod multiboot;

pub use detect::{DETECT_BYTES, ImageKind, detect};

use crate::arch::x86::EntryState;
use crate::memory::GuestMemory;
use disk::Drives;

/// A loader could not place the image.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    /// The image is empty.
    #[error("the image is empty")]
    Empty,
    /// The image does not fit where it must go.
    #[error("the image is {size} bytes but at most {max} bytes fit at {addr:#x}")]
    TooLarge {
        /// Image size.
        size: usize,
        /// Room available.
        max: usize,
        /// Load address.
        addr: u64,
    },
    /// Any other problem, described.
    #[error("{0}")]
    Invalid(String),
}

/// What a loader produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Registers for the first instruction.
    pub entry: EntryState,
}

/// Something that can (re)load itself into guest memory: used at power-on and on every
/// reset.
pub trait BootImage: Send + std::fmt::Debug {
    /// Writes the image into `mem` (zeroed, with the firmware installed) and returns the
    /// entry state. Disk images are already attached to `drives` (they persist across
    /// resets, as a real disk does); a boot-sector loader reads its sector from there.
    fn load(&self, mem: &GuestMemory, drives: &Drives) -> Result<Loaded, LoadError>;
}
