//! Errors shared by all backends.

use std::fmt;

/// Result with [`HvError`].
pub type Result<T, E = HvError> = std::result::Result<T, E>;

/// An error from a backend or from the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HvError {
    /// The host hypervisor cannot be used. The text is one line that says what is missing
    /// and what to do.
    #[error("{0}")]
    Unavailable(String),
    /// An OS call failed.
    #[error("{op}: {source}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A hypervisor API returned an error code (an HRESULT, an `hv_return_t`, ...).
    #[error("{op} failed with {backend} code {code:#x}")]
    Api {
        /// The backend ("WHP", "HVF").
        backend: &'static str,
        /// The call that failed.
        op: &'static str,
        /// The raw code.
        code: u64,
    },
    /// The backend reported an exit it does not know.
    #[error("{backend} reported an unknown vCPU exit (code {code:#x}): {what}")]
    UnknownExit {
        /// The backend.
        backend: &'static str,
        /// The backend's own exit code.
        code: u64,
        /// What is known about it.
        what: String,
    },
    /// The guest did something the hypervisor could not run (emulation failure, failed
    /// entry, unsupported instruction). The report names RIP and the instruction bytes.
    #[error("{0}")]
    Guest(Box<GuestFailure>),
    /// A caller passed something that cannot work (unaligned memory, bad register).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Guest memory could not be set up or accessed.
    #[error("guest memory: {0}")]
    Memory(String),
}

impl HvError {
    /// Wraps the last OS error for `op`.
    pub fn last_os_error(op: &'static str) -> Self {
        HvError::Os {
            op,
            source: std::io::Error::last_os_error(),
        }
    }
}

/// A guest failure the VMM cannot recover from, with what the user needs to understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFailure {
    /// What the hypervisor reported ("emulation failure", "entry failed (reason 0x21)").
    pub what: String,
    /// Guest instruction pointer (RIP or PC).
    pub pc: u64,
    /// Current privilege level (x86 CPL, arm64 EL), if known.
    pub privilege: Option<u8>,
    /// Up to 15 instruction bytes at `pc`, if they could be read.
    pub bytes: Vec<u8>,
    /// What the bytes most likely mean and what to do.
    pub explanation: String,
}

impl fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest stopped: {} at {:#x}", self.what, self.pc)?;
        if let Some(p) = self.privilege {
            write!(f, " (CPL {p})")?;
        }
        if self.bytes.is_empty() {
            write!(f, ", instruction bytes unreadable")?;
        } else {
            write!(f, ", bytes")?;
            for b in &self.bytes {
                write!(f, " {b:02x}")?;
            }
        }
        if !self.explanation.is_empty() {
            write!(f, ": {}", self.explanation)?;
        }
        Ok(())
    }
}
