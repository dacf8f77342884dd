//! The PC's boot image for `hv run`: the bundled demo, or the user's file through the
//! loader its content (or `--format`) selects.

use std::io::Read;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use hv_core::loader::boot_sector::DiskBoot;
use hv_core::loader::disk::{Disk, Drives, floppy_geometry};
use hv_core::loader::flat::{DEFAULT_LOAD_ADDR, FlatImage};
use hv_core::loader::multiboot::{Module, MultibootImage, MultibootOptions};
use hv_core::loader::{BootImage, DETECT_BYTES, ImageKind, LoadError, detect};
use hv_core::machine::layout::{MAX_MEMORY_MIB, MIN_MEMORY_MIB};

use super::{image_len, name, read_image};
use crate::cli::{Format, RunArgs};

/// What to boot: the loader, and the disks it boots from.
#[derive(Debug)]
pub struct Boot {
    /// Reloaded at power-on and on every reset.
    pub image: Box<dyn BootImage>,
    /// Disks for the BIOS (they flush `--writable` writes when dropped).
    pub drives: Drives,
}

/// The bundled demo OS (built by `assets/build.sh`, committed), embedded so that `hv run`
/// with no IMAGE works from any directory and from an installed binary.
pub const DEMO_IMAGE: &[u8] = include_bytes!("../../../assets/demo.img");

/// The name the embedded demo image goes by in messages.
pub const DEMO_NAME: &str = "demo.img (bundled)";

/// Boots the embedded demo image as hard disk 0x80.
fn bundled_demo(args: &RunArgs) -> Result<Boot> {
    if args.writable {
        bail!("--writable needs an IMAGE file; the bundled demo image is read-only");
    }
    if args.format != Format::Auto
        && args.format != Format::Disk
        && args.format != Format::Bootsector
    {
        bail!("--format applies to an IMAGE file; the bundled demo image is a hard-disk image");
    }
    let mut drives = Drives::default();
    let disk = Disk::from_bytes(DEMO_IMAGE.to_vec(), DEMO_NAME, true)
        .map_err(|e| anyhow!("{DEMO_NAME}: {e}"))?;
    let drive = drives.attach(disk);
    let image = DiskBoot::new(&drives, drive).map_err(|e| anyhow!("{DEMO_NAME}: {e}"))?;
    Ok(Boot {
        image: Box::new(image),
        drives,
    })
}

/// The first [`DETECT_BYTES`] bytes of `path` (or all of it).
fn read_head(path: &Path) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).map_err(|e| anyhow!("{}: cannot open: {e}", name(path)))?;
    let mut head = Vec::with_capacity(DETECT_BYTES);
    file.take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| anyhow!("{}: cannot read: {e}", name(path)))?;
    Ok(head)
}

/// `path: problem` for a loader's error.
fn at(path: &Path, e: LoadError) -> anyhow::Error {
    anyhow!("{}: {e}", name(path))
}

/// Builds the boot image (and its drives) for `args`.
pub fn prepare(args: &RunArgs) -> Result<Boot> {
    if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&args.memory) {
        bail!(
            "--memory {} is out of range; use {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} MiB",
            args.memory
        );
    }
    let Some(path) = args.image.as_deref() else {
        return bundled_demo(args);
    };
    let len = image_len(path)?;
    let kind = match args.format {
        Format::Auto => Some(detect(&read_head(path)?, len).map_err(|e| at(path, e))?),
        Format::Bootsector if floppy_geometry(len).is_some() => Some(ImageKind::Floppy),
        Format::Bootsector | Format::Disk => Some(ImageKind::HardDisk),
        Format::Floppy => Some(ImageKind::Floppy),
        Format::Multiboot => Some(ImageKind::Multiboot),
        Format::Bzimage => Some(ImageKind::BzImage),
        Format::Flat => None,
    };
    check_options(args, path, kind)?;
    let ram_end = args.memory << 20;
    let mut drives = Drives::default();
    let image: Box<dyn BootImage> = match kind {
        None => Box::new(
            FlatImage::new(
                read_image(path)?,
                args.load_addr.unwrap_or(DEFAULT_LOAD_ADDR),
            )
            .map_err(|e| at(path, e))?,
        ),
        Some(ImageKind::Floppy | ImageKind::HardDisk) => {
            let disk = if kind == Some(ImageKind::Floppy) {
                Disk::open_floppy(path, args.writable)?
            } else {
                Disk::open(path, args.writable, true)?
            };
            let drive = drives.attach(disk);
            Box::new(DiskBoot::new(&drives, drive).map_err(|e| at(path, e))?)
        }
        Some(ImageKind::Multiboot) => {
            let mut modules = Vec::with_capacity(args.modules.len());
            for spec in &args.modules {
                let (file, margs) = spec.split_once(',').unwrap_or((spec, ""));
                if file.is_empty() {
                    bail!("--module {spec:?}: give a file path before the comma");
                }
                let string = if margs.is_empty() {
                    file.to_string()
                } else {
                    format!("{file} {margs}")
                };
                modules.push(Module {
                    string,
                    bytes: read_image(Path::new(file))?,
                });
            }
            let opts = MultibootOptions {
                cmdline: args.append.clone().unwrap_or_default(),
                modules,
            };
            Box::new(
                MultibootImage::new(read_image(path)?, opts, ram_end).map_err(|e| at(path, e))?,
            )
        }
        Some(ImageKind::BzImage) => bzimage(args, path, ram_end)?,
    };
    Ok(Boot { image, drives })
}

fn bzimage(args: &RunArgs, path: &Path, ram_end: u64) -> Result<Box<dyn BootImage>> {
    use hv_core::loader::bzimage::{BzImageLinux, Initrd};
    let initrd = match &args.initrd {
        Some(p) => Some(Initrd {
            bytes: read_image(p)?,
        }),
        None => None,
    };
    let cmdline = args.append.clone().unwrap_or_default();
    let img =
        BzImageLinux::new(read_image(path)?, cmdline, initrd, ram_end).map_err(|e| at(path, e))?;
    Ok(Box::new(img))
}

fn kind_name(kind: Option<ImageKind>) -> &'static str {
    match kind {
        None => "a flat binary",
        Some(ImageKind::Floppy) => "a floppy image",
        Some(ImageKind::HardDisk) => "a disk image",
        Some(ImageKind::Multiboot) => "a multiboot kernel",
        Some(ImageKind::BzImage) => "a Linux bzImage",
    }
}

/// Refuses options that do not apply to what the image is.
fn check_options(args: &RunArgs, path: &Path, kind: Option<ImageKind>) -> Result<()> {
    let is = kind_name(kind);
    let file = name(path);
    let how = if args.format == Format::Auto {
        "detected as"
    } else {
        "given as"
    };
    let disk = matches!(kind, Some(ImageKind::Floppy | ImageKind::HardDisk));
    let kernel = matches!(kind, Some(ImageKind::Multiboot | ImageKind::BzImage));
    let refuse = |opt: &str, applies: &str| -> Result<()> {
        bail!("{opt} applies to {applies}, but {file} is {how} {is}")
    };
    if args.writable && !disk {
        refuse("--writable", "disk and floppy images")?;
    }
    if args.load_addr.is_some() && kind.is_some() {
        refuse("--load-addr", "--format flat")?;
    }
    if args.append.is_some() && !kernel {
        refuse("--append", "multiboot kernels and Linux bzImages")?;
    }
    if args.initrd.is_some() && kind != Some(ImageKind::BzImage) {
        refuse("--initrd", "Linux bzImages")?;
    }
    if !args.modules.is_empty() && kind != Some(ImageKind::Multiboot) {
        refuse("--module", "multiboot kernels")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    fn args(extra: &[&str]) -> RunArgs {
        let mut v = vec!["hv", "run", "--headless"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(v).command {
            crate::cli::Command::Run(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hv-image-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    fn error(extra: &[&str]) -> String {
        format!("{:#}", prepare(&args(extra)).expect_err("must fail"))
    }

    #[test]
    fn boot_sector_and_floppy_attach_drives() {
        let mut bs = vec![0u8; 512];
        bs[510] = 0x55;
        bs[511] = 0xAA;
        let p = tmp("bs.bin", &bs);
        let b = prepare(&args(&[p.to_str().expect("utf-8")])).expect("boots");
        assert!(b.drives.hard_disk.is_some() && b.drives.floppy.is_none());
        let b = prepare(&args(&["--format", "floppy", p.to_str().expect("utf-8")])).expect("boots");
        assert!(b.drives.floppy.is_some());
        let f = tmp("f.img", &vec![0u8; 1_474_560]);
        let b = prepare(&args(&[f.to_str().expect("utf-8")])).expect("floppy");
        assert!(b.drives.floppy.is_some());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let p = tmp("nosig.img", &[0u8; 4096]);
        let ps = p.to_str().expect("utf-8");
        let e = error(&[ps]);
        assert!(e.starts_with(ps) && e.contains("--format flat"), "{e}");
        let e = error(&["--format", "disk", ps]);
        assert_eq!(
            e,
            format!("{ps}: no boot signature (0x55AA) at offset 510; not a bootable disk image")
        );
        let e = error(&["--initrd", ps, "--format", "disk", ps]);
        assert!(e.contains("--initrd applies to Linux bzImages"), "{e}");
        let e = error(&["--format", "multiboot", ps]);
        assert!(e.starts_with(&format!("{ps}: no multiboot header")), "{e}");
        let e = error(&["--format", "bzimage", ps]);
        assert!(e.contains("HdrS"), "{e}");
        let empty = tmp("empty.img", &[]);
        assert!(error(&[empty.to_str().expect("utf-8")]).contains("is empty"));
        assert!(error(&["/nonexistent/x.img"]).starts_with("/nonexistent/x.img: cannot open"));
        assert!(error(&["--memory", "1", ps]).contains("--memory 1 is out of range"));
        assert!(error(&["--writable", "--format", "flat", ps]).contains("--writable"));
        assert!(error(&["--module", ",x", "--format", "multiboot", ps]).contains("--module"));
    }

    #[test]
    fn bundled_demo_is_a_bootable_disk() {
        assert!(DEMO_IMAGE.len() >= 512 && DEMO_IMAGE.len() % 512 == 0);
        assert_eq!(&DEMO_IMAGE[510..512], &[0x55, 0xAA]);
    }
}
