//! Reading the user's image file and choosing a loader.

use std::path::Path;

use anyhow::{Context, Result, bail};
use hv_core::loader::BootImage;
use hv_core::loader::flat::{DEFAULT_LOAD_ADDR, FlatImage};

use crate::cli::{Format, RunArgs};

/// Largest image file hv reads (larger files are certainly not small OS images).
pub const MAX_IMAGE_BYTES: u64 = 512 << 20;

/// Reads `path` with errors that say what to do.
pub fn read_image(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot open image {}", path.display()))?;
    if meta.is_dir() {
        bail!(
            "{} is a directory; give the path of an image file",
            path.display()
        );
    }
    if meta.len() == 0 {
        bail!(
            "{} is empty; give the path of an image file",
            path.display()
        );
    }
    if meta.len() > MAX_IMAGE_BYTES {
        bail!(
            "{} is {} MiB; hv boots small images (at most {} MiB)",
            path.display(),
            meta.len() >> 20,
            MAX_IMAGE_BYTES >> 20
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read image {}", path.display()))
}

/// Builds the boot image for `args`.
pub fn boot_image(args: &RunArgs) -> Result<Box<dyn BootImage>> {
    let Some(path) = args.image.as_deref() else {
        bail!("no image given; run `hv run PATH` (the bundled demo image is not built yet)");
    };
    let bytes = read_image(path)?;
    match args.format {
        Format::Auto | Format::Flat => {
            let img = FlatImage::new(bytes, args.load_addr.unwrap_or(DEFAULT_LOAD_ADDR))
                .with_context(|| format!("{}", path.display()))?;
            Ok(Box::new(img))
        }
    }
}
