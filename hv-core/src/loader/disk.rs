//! Disk images as the BIOS sees them: 512-byte sectors, a CHS geometry, and a
//! copy-on-write overlay so nothing the user did not ask for touches their file.
//!
//! By default guest writes go to an in-memory overlay (a map of sector -> contents) and
//! the file is opened read-only. With `--writable` the file is opened read-write, writes
//! go straight to it, and [`Disk::flush`] (called on every exit path) syncs it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Bytes per sector.
pub const SECTOR: usize = 512;

/// Cylinders/heads/sectors-per-track as int 13h reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Cylinders (1-1024 for int 13h AH=02h).
    pub cylinders: u32,
    /// Heads (1-255).
    pub heads: u32,
    /// Sectors per track (1-63).
    pub sectors: u32,
}

impl Geometry {
    /// Sectors this geometry addresses.
    pub fn total(&self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors)
    }

    /// LBA of C/H/S (S 1-based), if inside the geometry.
    pub fn lba(&self, c: u32, h: u32, s: u32) -> Option<u64> {
        (c < self.cylinders && h < self.heads && (1..=self.sectors).contains(&s)).then(|| {
            (u64::from(c) * u64::from(self.heads) + u64::from(h)) * u64::from(self.sectors)
                + u64::from(s - 1)
        })
    }
}

/// What the BIOS presents the image as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A floppy drive (drive number 0x00); the `u8` is the BIOS drive type (1 = 360K,
    /// 2 = 1.2M, 3 = 720K, 4 = 1.44M, 6 = 2.88M; 0 for the 160K/180K/320K sizes).
    Floppy(u8),
    /// A hard disk (drive number 0x80).
    HardDisk,
}

/// Standard floppy formats by image size: (bytes, cylinders, heads, sectors, BIOS type).
pub const FLOPPY_FORMATS: [(u64, u32, u32, u32, u8); 8] = [
    (163_840, 40, 1, 8, 0),
    (184_320, 40, 1, 9, 0),
    (327_680, 40, 2, 8, 0),
    (368_640, 40, 2, 9, 1),
    (737_280, 80, 2, 9, 3),
    (1_228_800, 80, 2, 15, 2),
    (1_474_560, 80, 2, 18, 4),
    (2_949_120, 80, 2, 36, 6),
];

/// The floppy geometry for an image of exactly `len` bytes, if it is a standard size.
pub fn floppy_geometry(len: u64) -> Option<(Geometry, u8)> {
    FLOPPY_FORMATS
        .iter()
        .find(|f| f.0 == len)
        .map(|&(_, cylinders, heads, sectors, ty)| {
            (
                Geometry {
                    cylinders,
                    heads,
                    sectors,
                },
                ty,
            )
        })
}

/// A hard-disk geometry for `sectors` sectors: 16 heads x 63 sectors while it fits in
/// 1024 cylinders, then 255 heads (the usual LBA-assisted translation).
pub fn hard_disk_geometry(sectors: u64) -> Geometry {
    let heads = if sectors <= 1024 * 16 * 63 { 16 } else { 255 };
    let cylinders = sectors.div_ceil(u64::from(heads) * 63).clamp(1, 1024) as u32;
    Geometry {
        cylinders,
        heads,
        sectors: 63,
    }
}

/// A disk could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The OS refused.
    #[error("{path}: {source}")]
    Io {
        /// The image.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The image's size is not usable.
    #[error("{path}: {why}")]
    Size {
        /// The image.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

enum Backing {
    /// The whole image in memory (tests, embedded images).
    Memory(Vec<u8>),
    /// A file opened read-only (overlay mode) or read-write (`--writable`).
    File { file: File, writable: bool },
}

/// A disk image attached to the BIOS.
pub struct Disk {
    backing: Backing,
    sectors: u64,
    overlay: HashMap<u64, Box<[u8; SECTOR]>>,
    geometry: Geometry,
    kind: DiskKind,
    name: String,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk")
            .field("name", &self.name)
            .field("sectors", &self.sectors)
            .field("kind", &self.kind)
            .field("geometry", &self.geometry)
            .field("overlay_sectors", &self.overlay.len())
            .finish()
    }
}

/// Most sectors the overlay may hold (a guest cannot grow host memory without bound:
/// 1 GiB of overlay at most; larger images must be `--writable`).
pub const MAX_OVERLAY_SECTORS: usize = 2 * 1024 * 1024;

impl Disk {
    fn new(
        backing: Backing,
        len: u64,
        name: String,
        force_hard_disk: bool,
    ) -> Result<Self, String> {
        if len == 0 {
            return Err("the image is empty".into());
        }
        let (geometry, kind) = match floppy_geometry(len) {
            Some((g, ty)) if !force_hard_disk => (g, DiskKind::Floppy(ty)),
            _ => (
                hard_disk_geometry(len.div_ceil(SECTOR as u64)),
                DiskKind::HardDisk,
            ),
        };
        Ok(Self {
            backing,
            sectors: len.div_ceil(SECTOR as u64),
            overlay: HashMap::new(),
            geometry,
            kind,
            name,
        })
    }

    /// A floppy of `len` bytes if that is a standard size, else a 1.44M floppy (2.88M
    /// when larger) holding the image at its start; the sectors past
    /// the end of a shorter image read as zeros (and guest writes to them stay in the
    /// overlay, so a read-only image never grows).
    fn new_floppy(backing: Backing, len: u64, name: String) -> Result<Self, String> {
        if len == 0 {
            return Err("the image is empty".into());
        }
        let padded = match &backing {
            Backing::File { writable: true, .. } => floppy_geometry(len).map(|_| len),
            _ if floppy_geometry(len).is_some() => Some(len),
            // The sizes every floppy-booting program copes with: 1.44M, else 2.88M.
            _ => [1_474_560, 2_949_120].into_iter().find(|&size| size >= len),
        };
        let Some((geometry, ty)) = padded.and_then(floppy_geometry) else {
            return Err(
                if matches!(backing, Backing::File { writable: true, .. })
                    && len < FLOPPY_FORMATS[FLOPPY_FORMATS.len() - 1].0
                {
                    format!(
                        "a --writable floppy image must have a standard floppy size (e.g. 1474560 bytes); this one is {len} bytes"
                    )
                } else {
                    format!(
                        "{len} bytes is larger than any floppy (at most 2949120 bytes, 2.88 MB)"
                    )
                },
            );
        };
        Ok(Self {
            backing,
            sectors: geometry.total(),
            overlay: HashMap::new(),
            geometry,
            kind: DiskKind::Floppy(ty),
            name,
        })
    }

    /// A floppy over bytes in memory; an image of no standard size is padded with zero
    /// sectors to 1.44M (2.88M when larger).
    pub fn floppy_from_bytes(bytes: Vec<u8>, name: &str) -> Result<Self, String> {
        let len = bytes.len() as u64;
        Self::new_floppy(Backing::Memory(bytes), len, name.to_string())
    }

    /// Opens an image file as a floppy (drive 0x00) whatever its size: an image of no
    /// standard size is padded with zero sectors to 1.44M (2.88M when larger); only
    /// without `writable`, since a writable floppy must already have a standard size.
    pub fn open_floppy(path: &Path, writable: bool) -> Result<Self, DiskError> {
        let (file, len) = Self::open_file(path, writable)?;
        Self::new_floppy(
            Backing::File { file, writable },
            len,
            path.display().to_string(),
        )
        .map_err(|why| DiskError::Size {
            path: path.to_path_buf(),
            why,
        })
    }

    fn open_file(path: &Path, writable: bool) -> Result<(File, u64), DiskError> {
        let io_err = |source| DiskError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(DiskError::Size {
                path: path.to_path_buf(),
                why: "not a regular file".into(),
            });
        }
        Ok((file, meta.len()))
    }

    /// A disk over bytes in memory (a partial last sector reads as zeros).
    pub fn from_bytes(bytes: Vec<u8>, name: &str, force_hard_disk: bool) -> Result<Self, String> {
        let len = bytes.len() as u64;
        Self::new(
            Backing::Memory(bytes),
            len,
            name.to_string(),
            force_hard_disk,
        )
    }

    /// Opens an image file. Without `writable`, the file is opened read-only and guest
    /// writes stay in memory.
    pub fn open(path: &Path, writable: bool, force_hard_disk: bool) -> Result<Self, DiskError> {
        let (file, len) = Self::open_file(path, writable)?;
        Self::new(
            Backing::File { file, writable },
            len,
            path.display().to_string(),
            force_hard_disk,
        )
        .map_err(|why| DiskError::Size {
            path: path.to_path_buf(),
            why,
        })
    }

    /// Sectors on the disk.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// CHS geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Floppy or hard disk.
    pub fn kind(&self) -> DiskKind {
        self.kind
    }

    /// The image's name (path) for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sectors written by the guest and held in memory.
    pub fn overlay_sectors(&self) -> usize {
        self.overlay.len()
    }

    fn read_backing(&self, lba: u64, buf: &mut [u8; SECTOR]) -> io::Result<()> {
        buf.fill(0);
        let off = lba * SECTOR as u64;
        match &self.backing {
            Backing::Memory(v) => {
                let start = usize::try_from(off).unwrap_or(usize::MAX).min(v.len());
                let end = start.saturating_add(SECTOR).min(v.len());
                buf[..end - start].copy_from_slice(&v[start..end]);
                Ok(())
            }
            Backing::File { file, .. } => read_at_full(file, buf, off),
        }
    }

    /// Reads sector `lba` into `buf`.
    pub fn read_sector(&self, lba: u64, buf: &mut [u8; SECTOR]) -> io::Result<()> {
        if lba >= self.sectors {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sector beyond the end of the disk",
            ));
        }
        match self.overlay.get(&lba) {
            Some(s) => {
                buf.copy_from_slice(&s[..]);
                Ok(())
            }
            None => self.read_backing(lba, buf),
        }
    }

    /// Writes sector `lba`.
    pub fn write_sector(&mut self, lba: u64, data: &[u8; SECTOR]) -> io::Result<()> {
        if lba >= self.sectors {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sector beyond the end of the disk",
            ));
        }
        match &mut self.backing {
            Backing::File {
                file,
                writable: true,
            } => write_at_full(file, data, lba * SECTOR as u64),
            _ => {
                if self.overlay.len() >= MAX_OVERLAY_SECTORS && !self.overlay.contains_key(&lba) {
                    return Err(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        "copy-on-write overlay is full",
                    ));
                }
                self.overlay.insert(lba, Box::new(*data));
                Ok(())
            }
        }
    }

    /// Makes written data durable (a no-op for the overlay).
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.backing {
            Backing::File {
                file,
                writable: true,
            } => file.sync_data(),
            _ => Ok(()),
        }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{}: flushing disk writes failed: {e}", self.name);
        }
    }
}

#[cfg(unix)]
fn read_at_full(file: &File, buf: &mut [u8], off: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], off + done as u64) {
            Ok(0) => break, // past the end of a short last sector: zeros
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn write_at_full(file: &File, data: &[u8], off: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, off)
}

#[cfg(windows)]
fn read_at_full(file: &File, buf: &mut [u8], off: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.seek_read(&mut buf[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_at_full(file: &File, data: &[u8], off: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut done = 0;
    while done < data.len() {
        done += file.seek_write(&data[done..], off + done as u64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(sectors: usize) -> Vec<u8> {
        (0..sectors * SECTOR).map(|i| (i / SECTOR) as u8).collect()
    }

    #[test]
    fn floppy_sizes_and_geometry() {
        let d = Disk::from_bytes(image(2880), "f", false).expect("1.44M");
        assert_eq!(d.kind(), DiskKind::Floppy(4));
        assert_eq!(
            d.geometry(),
            Geometry {
                cylinders: 80,
                heads: 2,
                sectors: 18
            }
        );
        assert_eq!(d.geometry().lba(0, 1, 1), Some(18));
        assert_eq!(d.geometry().lba(1, 0, 1), Some(36));
        assert_eq!(d.geometry().lba(80, 0, 1), None);
        assert_eq!(d.geometry().lba(0, 0, 0), None);
        for (len, ..) in FLOPPY_FORMATS {
            assert!(floppy_geometry(len).is_some_and(|(g, _)| g.total() * SECTOR as u64 == len));
        }
        let hd = Disk::from_bytes(image(2880), "f", true).expect("forced");
        assert_eq!(hd.kind(), DiskKind::HardDisk);
    }

    #[test]
    fn hard_disk_geometry_covers_the_image() {
        for sectors in [
            1u64,
            63,
            1000,
            16 * 63 * 1024,
            16 * 63 * 1024 + 1,
            10_000_000,
        ] {
            let g = hard_disk_geometry(sectors);
            assert!(
                g.total() >= sectors.min(1024 * 255 * 63),
                "{sectors}: {g:?}"
            );
        }
    }

    #[test]
    fn overlay_keeps_writes_out_of_the_backing() {
        let mut d = Disk::from_bytes(image(4), "m", false).expect("disk");
        let mut s = [0u8; SECTOR];
        d.read_sector(2, &mut s).expect("read");
        assert_eq!(s[0], 2);
        d.write_sector(2, &[0xAB; SECTOR]).expect("write");
        d.read_sector(2, &mut s).expect("read");
        assert_eq!(s, [0xAB; SECTOR]);
        assert_eq!(d.overlay_sectors(), 1);
        assert!(d.read_sector(4, &mut s).is_err());
        assert!(d.write_sector(u64::MAX, &s).is_err());
    }

    #[test]
    fn short_floppy_is_padded_to_a_standard_size() {
        let d = Disk::floppy_from_bytes(image(1), "boot.bin").expect("floppy");
        assert_eq!(d.kind(), DiskKind::Floppy(4));
        assert_eq!(d.sectors(), 2880);
        let mut s = [1u8; SECTOR];
        d.read_sector(2879, &mut s).expect("padding reads");
        assert_eq!(s, [0u8; SECTOR]);
        let d = Disk::floppy_from_bytes(image(720), "x").expect("floppy");
        assert_eq!(d.kind(), DiskKind::Floppy(1));
        let d = Disk::floppy_from_bytes(image(3000), "x").expect("floppy");
        assert_eq!(d.kind(), DiskKind::Floppy(6));
        assert!(Disk::floppy_from_bytes(vec![0; 2_949_121], "big").is_err());
        assert!(Disk::floppy_from_bytes(vec![], "empty").is_err());
    }

    #[test]
    fn partial_last_sector_reads_zero_filled() {
        let d = Disk::from_bytes(vec![7u8; 700], "p", false).expect("disk");
        assert_eq!(d.sectors(), 2);
        let mut s = [1u8; SECTOR];
        d.read_sector(1, &mut s).expect("read");
        assert_eq!(&s[..188], &[7u8; 188][..]);
        assert!(s[188..].iter().all(|&b| b == 0));
    }

    #[test]
    fn file_overlay_never_touches_the_file_and_writable_does() {
        let dir = std::env::temp_dir().join(format!("hv-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("disk.img");
        std::fs::write(&path, image(8)).expect("write image");
        {
            let mut d = Disk::open(&path, false, false).expect("open");
            d.write_sector(1, &[0x55; SECTOR]).expect("overlay write");
        }
        assert_eq!(std::fs::read(&path).expect("read back"), image(8));
        {
            let mut d = Disk::open(&path, true, false).expect("open rw");
            d.write_sector(1, &[0x55; SECTOR]).expect("write through");
            d.flush().expect("flush");
        }
        let after = std::fs::read(&path).expect("read back");
        assert_eq!(&after[SECTOR..2 * SECTOR], &[0x55; SECTOR][..]);
        assert!(Disk::open(&dir, false, false).is_err());
        assert!(Disk::open(&dir.join("missing"), false, false).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The drives the BIOS offers: drive 0x00 (floppy A:) and drive 0x80 (first hard disk).
#[derive(Debug, Default)]
pub struct Drives {
    /// Drive 0x00.
    pub floppy: Option<Disk>,
    /// Drive 0x80.
    pub hard_disk: Option<Disk>,
}

impl Drives {
    /// The disk for BIOS drive number `dl`, if attached.
    pub fn get(&self, dl: u8) -> Option<&Disk> {
        match dl {
            0x00 => self.floppy.as_ref(),
            0x80 => self.hard_disk.as_ref(),
            _ => None,
        }
    }

    /// The disk for BIOS drive number `dl`, mutably.
    pub fn get_mut(&mut self, dl: u8) -> Option<&mut Disk> {
        match dl {
            0x00 => self.floppy.as_mut(),
            0x80 => self.hard_disk.as_mut(),
            _ => None,
        }
    }

    /// Attaches `disk` as the floppy or the hard disk according to its kind; returns
    /// the BIOS drive number.
    pub fn attach(&mut self, disk: Disk) -> u8 {
        match disk.kind() {
            DiskKind::Floppy(_) => {
                self.floppy = Some(disk);
                0x00
            }
            DiskKind::HardDisk => {
                self.hard_disk = Some(disk);
                0x80
            }
        }
    }

    /// Flushes every `--writable` disk.
    pub fn flush(&mut self) -> io::Result<()> {
        for d in [self.floppy.as_mut(), self.hard_disk.as_mut()]
            .into_iter()
            .flatten()
        {
            d.flush()?;
        }
        Ok(())
    }
}
