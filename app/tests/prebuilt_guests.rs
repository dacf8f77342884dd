//! The committed test guests are complete: every source in tests/guests has its prebuilt
//! binary and no binary outlives its source. (That the bytes match the sources is
//! `tests/guests/check-reproducible.sh`'s job, which needs nasm and gcc; this runs
//! anywhere.)

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

/// The stems of the files in `dir` whose name ends in `.{ext}`.
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 file name")
                .to_owned()
        })
        .collect()
}

#[test]
fn every_guest_source_has_its_prebuilt_binary_and_no_more() {
    let sources = stems(&guests_dir(), "asm");
    let binaries = stems(&prebuilt_dir(), "bin");
    assert!(!sources.is_empty(), "no guest sources found");
    let unbuilt: Vec<_> = sources.difference(&binaries).collect();
    let orphans: Vec<_> = binaries.difference(&sources).collect();
    assert!(
        unbuilt.is_empty() && orphans.is_empty(),
        "tests/guests/prebuilt is out of date: no binary for {unbuilt:?}, no source for \
         {orphans:?}; run app/tests/guests/build.sh and commit app/tests/guests/prebuilt/"
    );
    for name in &binaries {
        let len = std::fs::metadata(guest(name)).expect("metadata").len();
        assert!(len > 0, "prebuilt/{name}.bin is empty");
    }
}

/// The multiboot kernel is an i386 ELF with a valid multiboot header in its first 8 KiB
/// (Multiboot 0.6.96 section 3.1.1: 4-byte aligned, magic + flags + checksum == 0).
#[test]
fn prebuilt_multiboot_kernel_is_an_i386_elf_with_a_multiboot_header() {
    let elf = std::fs::read(multiboot_kernel()).expect("read multiboot.elf");
    assert_eq!(elf.get(..4), Some(&b"\x7fELF"[..]), "ELF magic");
    assert_eq!(elf.get(4), Some(&1), "ELFCLASS32");
    assert_eq!(
        elf.get(18..20),
        Some(&3u16.to_le_bytes()[..]),
        "e_machine EM_386"
    );
    let word = |at: usize| -> u32 {
        let bytes = elf.get(at..at + 4).expect("in bounds");
        u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    };
    let header = (0..elf.len().min(8192).saturating_sub(11))
        .step_by(4)
        .find(|&at| word(at) == 0x1BAD_B002)
        .expect("multiboot magic within the first 8 KiB");
    let sum = word(header)
        .wrapping_add(word(header + 4))
        .wrapping_add(word(header + 8));
    assert_eq!(sum, 0, "multiboot header checksum");
}
