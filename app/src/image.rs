//! Reading the user's image file, choosing a loader (by content with `--format auto`)
//! and attaching disks.
//!
//! Every error is one line that names the file and the problem.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

/// Building the PC's boot image: on the hosts whose hypervisor runs x86 guests.
#[cfg(pc_host)]
mod pc;
#[cfg(pc_host)]
pub use pc::prepare;

/// Largest image file hv reads into memory (larger files are certainly not small OS
/// images; disk images are not read whole and may be larger).
pub const MAX_IMAGE_BYTES: u64 = 512 << 20;

pub(crate) fn name(path: &Path) -> String {
    path.display().to_string()
}

/// Checks that `path` is a non-empty regular file and returns its size.
pub(crate) fn image_len(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot open: {e}", name(path)))?;
    if meta.is_dir() {
        bail!(
            "{} is a directory; give the path of an image file",
            name(path)
        );
    }
    if meta.len() == 0 {
        bail!("{} is empty; give the path of an image file", name(path));
    }
    Ok(meta.len())
}

/// Reads `path` whole, with errors that say what to do.
pub fn read_image(path: &Path) -> Result<Vec<u8>> {
    let len = image_len(path)?;
    if len > MAX_IMAGE_BYTES {
        bail!(
            "{} is {} MiB; hv loads files of at most {} MiB",
            name(path),
            len >> 20,
            MAX_IMAGE_BYTES >> 20
        );
    }
    std::fs::read(path).map_err(|e| anyhow!("{}: cannot read: {e}", name(path)))
}
