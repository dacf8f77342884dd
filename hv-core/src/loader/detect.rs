//! Telling image formats apart by their content (`--format auto`).
//!
//! In order, the first rule that matches wins:
//!
//! 1. an ELF file (`\x7fELF`) is a multiboot kernel (the multiboot loader then explains
//!    what is wrong if it is not one: no header, 64-bit, Multiboot2, ...);
//! 2. "HdrS" at 0x202 with the 0xAA55 boot flag is a Linux bzImage;
//! 3. a file with 0x55AA at offset 510 is a bootable disk: a floppy if its size is a
//!    standard floppy size (160K-2.88M), else a hard disk (a 512-byte boot sector is a
//!    one-sector hard disk);
//! 4. a file of a standard floppy size is a floppy even without the signature (as
//!    SeaBIOS boots floppies);
//! 5. a valid multiboot header (a.out kludge) in the first 8 KiB is a multiboot kernel;
//!    a multiboot magic with a wrong checksum, or a Multiboot2 header, is an error;
//! 6. anything else is an error that suggests `--format flat` for raw code.

use super::LoadError;
use super::disk::floppy_geometry;
use super::multiboot::{HeaderSearch, find_header, find_multiboot2};

/// How many leading bytes of a file [`detect`] looks at.
pub const DETECT_BYTES: usize = super::multiboot::MULTIBOOT2_SEARCH_BYTES;

/// What an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// A Linux bzImage.
    BzImage,
    /// A multiboot (v1) kernel.
    Multiboot,
    /// A floppy image (drive 0x00).
    Floppy,
    /// A hard-disk image or a bare boot sector (drive 0x80).
    HardDisk,
}

/// Decides what an image of `len` bytes starting with `head` (its first
/// [`DETECT_BYTES`] bytes or all of it) is.
pub fn detect(head: &[u8], len: u64) -> Result<ImageKind, LoadError> {
    if len == 0 || head.is_empty() {
        return Err(LoadError::Empty);
    }
    if head.starts_with(b"\x7fELF") {
        return Ok(ImageKind::Multiboot);
    }
    if super::bzimage::is_bzimage(head) {
        return Ok(ImageKind::BzImage);
    }
    let is_floppy = floppy_geometry(len).is_some();
    if head.get(510..512) == Some(&[0x55, 0xAA][..]) || is_floppy {
        return Ok(if is_floppy {
            ImageKind::Floppy
        } else {
            ImageKind::HardDisk
        });
    }
    match find_header(head) {
        HeaderSearch::Found(_) => return Ok(ImageKind::Multiboot),
        HeaderSearch::BadChecksum(off, flags, checksum) => {
            return Err(LoadError::Invalid(format!(
                "multiboot header checksum is wrong (flags {flags:#x}, checksum {checksum:#x}; header at offset {off:#x})"
            )));
        }
        HeaderSearch::Truncated(off) => {
            return Err(LoadError::Invalid(format!(
                "the multiboot header at offset {off:#x} runs past the end of the file"
            )));
        }
        HeaderSearch::None => {}
    }
    if let Some(off) = find_multiboot2(head) {
        return Err(LoadError::Invalid(format!(
            "a Multiboot2 kernel (magic 0xE85250D6 at offset {off:#x}); hv boots Multiboot 1 kernels (header magic 0x1BADB002)"
        )));
    }
    Err(LoadError::Invalid(format!(
        "not a recognised image ({len} bytes): no boot signature (0x55AA) at offset 510, not a floppy size, no multiboot header, not ELF or a Linux bzImage; for raw real-mode code use --format flat"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_sig(len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[510] = 0x55;
        v[511] = 0xAA;
        v
    }

    #[test]
    fn rules_in_order() {
        assert_eq!(detect(&[], 0), Err(LoadError::Empty));
        assert_eq!(detect(b"\x7fELF\x02", 5), Ok(ImageKind::Multiboot));
        assert_eq!(detect(&with_sig(512), 512), Ok(ImageKind::HardDisk));
        assert_eq!(detect(&with_sig(4096), 10 << 20), Ok(ImageKind::HardDisk));
        assert_eq!(detect(&with_sig(4096), 1_474_560), Ok(ImageKind::Floppy));
        assert_eq!(detect(&[0u8; 4096], 368_640), Ok(ImageKind::Floppy));
        let mut bz = with_sig(0x400);
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        assert_eq!(detect(&bz, 0x400), Ok(ImageKind::BzImage));
    }

    #[test]
    fn multiboot_headers_outside_elf() {
        let mut v = vec![0u8; 64];
        let flags = 0x1_0003u32;
        v[8..12].copy_from_slice(&0x1BAD_B002u32.to_le_bytes());
        v[12..16].copy_from_slice(&flags.to_le_bytes());
        v[16..20].copy_from_slice(&0u32.wrapping_sub(0x1BAD_B002 + flags).to_le_bytes());
        assert_eq!(detect(&v, 64), Ok(ImageKind::Multiboot));
        v[16] ^= 1;
        let e = detect(&v, 64).expect_err("bad checksum").to_string();
        assert!(e.contains("checksum is wrong (flags 0x10003"), "{e}");
        // Magic too close to the end to hold flags and checksum.
        let mut t = vec![0u8; 8];
        t[4..8].copy_from_slice(&0x1BAD_B002u32.to_le_bytes());
        assert!(
            detect(&t, 8)
                .expect_err("truncated")
                .to_string()
                .contains("runs past")
        );
    }

    #[test]
    fn multiboot2_and_garbage_are_explained() {
        let mut v = vec![0u8; 64];
        let (magic, arch, len) = (0xE852_50D6u32, 0u32, 24u32);
        v[16..20].copy_from_slice(&magic.to_le_bytes());
        v[20..24].copy_from_slice(&arch.to_le_bytes());
        v[24..28].copy_from_slice(&len.to_le_bytes());
        v[28..32].copy_from_slice(&0u32.wrapping_sub(magic + arch + len).to_le_bytes());
        assert!(
            detect(&v, 64)
                .expect_err("mb2")
                .to_string()
                .contains("Multiboot2")
        );
        let e = detect(&[0x90; 100], 100).expect_err("garbage").to_string();
        assert!(e.contains("--format flat"), "{e}");
        for n in 1..40 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let _ = detect(&junk, n as u64);
        }
    }
}
