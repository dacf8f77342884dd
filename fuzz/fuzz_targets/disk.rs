//! Disk images as the BIOS sees them: geometry detection for any size, CHS -> LBA for any
//! C/H/S, and sector reads/writes through the copy-on-write overlay.
//!
//! Invariants: a standard floppy size gets a floppy geometry that covers the image
//! exactly; any other size gets a hard-disk geometry with 16 or 255 heads, 63 sectors
//! per track and 1-1024 cylinders that covers every sector CHS can reach; `lba` answers
//! only inside the geometry; reads and writes past the last sector fail instead of
//! touching memory; a read returns the last write to that sector, else the image's bytes
//! (zero-padded in a partial last sector); the image bytes themselves never change.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use hv_core::loader::disk::{
    Disk, DiskKind, FLOPPY_FORMATS, SECTOR, floppy_geometry, hard_disk_geometry,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Size {
    /// One of the standard floppy sizes.
    Floppy(u8),
    /// Any size below 1 MiB.
    Bytes(u32),
}

#[derive(Debug, Arbitrary)]
enum Op {
    Read(u32),
    Write(u32, u8),
    Chs(u32, u32, u32),
}

#[derive(Debug, Arbitrary)]
struct Input {
    size: Size,
    force_hard_disk: bool,
    any_len: u64,
    /// The image is this pattern repeated (a fixed size keeps seeds easy to write).
    pattern: [u8; 16],
    ops: Vec<Op>,
}

fn check_geometry_math(len: u64) {
    if let Some((g, _)) = floppy_geometry(len) {
        assert_eq!(g.total() * SECTOR as u64, len);
    }
    let sectors = len / SECTOR as u64;
    let g = hard_disk_geometry(sectors);
    assert!(matches!(g.heads, 16 | 255) && g.sectors == 63);
    assert!((1..=1024).contains(&g.cylinders));
    if sectors <= 1024 * 255 * 63 {
        assert!(
            g.total() >= sectors,
            "{g:?} does not cover {sectors} sectors"
        );
    }
}

fuzz_target!(|input: Input| {
    check_geometry_math(input.any_len);
    let len = match input.size {
        Size::Floppy(i) => FLOPPY_FORMATS[usize::from(i) % FLOPPY_FORMATS.len()].0 as usize,
        Size::Bytes(n) => (n % (1 << 20)) as usize,
    };
    let mut image = input.pattern.repeat(len / 16 + 1);
    image.truncate(len);
    let mut disk = match Disk::from_bytes(image.clone(), "fuzz.img", input.force_hard_disk) {
        Ok(d) => d,
        Err(e) => {
            assert!(len == 0, "refused a {len}-byte image: {e}");
            return;
        }
    };
    assert_eq!(disk.sectors(), (len as u64).div_ceil(SECTOR as u64));
    let geo = disk.geometry();
    match disk.kind() {
        DiskKind::Floppy(_) => {
            assert!(!input.force_hard_disk);
            assert_eq!(geo.total(), disk.sectors());
        }
        DiskKind::HardDisk => assert_eq!(geo, hard_disk_geometry(disk.sectors())),
    }
    let mut written: HashMap<u64, u8> = HashMap::new();
    let mut buf = [0u8; SECTOR];
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Read(lba) => {
                let lba = u64::from(lba);
                let r = disk.read_sector(lba, &mut buf);
                assert_eq!(r.is_ok(), lba < disk.sectors());
                if r.is_err() {
                    continue;
                }
                match written.get(&lba) {
                    Some(&b) => assert!(buf.iter().all(|&x| x == b), "overlay read"),
                    None => {
                        let start = lba as usize * SECTOR;
                        let end = (start + SECTOR).min(len);
                        assert_eq!(&buf[..end - start], &image[start..end], "backing read");
                        assert!(
                            buf[end - start..].iter().all(|&x| x == 0),
                            "padding not zero"
                        );
                    }
                }
            }
            Op::Write(lba, b) => {
                let lba = u64::from(lba);
                let ok = disk.write_sector(lba, &[b; SECTOR]).is_ok();
                assert_eq!(ok, lba < disk.sectors());
                if ok {
                    written.insert(lba, b);
                }
            }
            Op::Chs(c, h, s) => {
                if let Some(lba) = geo.lba(c, h, s) {
                    assert!(c < geo.cylinders && h < geo.heads && (1..=geo.sectors).contains(&s));
                    assert!(lba < geo.total());
                }
            }
        }
    }
    assert_eq!(disk.overlay_sectors(), written.len());
    assert!(disk.flush().is_ok());
});
