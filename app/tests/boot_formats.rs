//! Boot formats end to end: floppy (int 13h CHS), hard disk (int 13h LBA extensions and
//! the copy-on-write overlay vs --writable), a boot sector using int 10h/16h, a multiboot
//! kernel written in C, a fake 64-bit bzImage, and the one-line errors for bad images.
//!
//! The images are the committed builds in tests/guests/prebuilt (see tests/guests/build.sh);
//! tests that need a variant patch a copy of those bytes.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A copy of `src` under a new name, so a test can modify or check it alone.
fn copy(src: &Path, name: &str) -> PathBuf {
    let dst = out_dir().join(name);
    std::fs::copy(src, &dst).expect("copy image");
    dst
}

fn sector(bytes: &[u8], lba: usize) -> &[u8] {
    &bytes[lba * 512..(lba + 1) * 512]
}

#[test]
fn floppy_boot_sector_loads_more_sectors_with_chs() {
    if !backend_or_skip("floppy_boot_sector_loads_more_sectors_with_chs") {
        return;
    }
    let img = copy(&guest("floppy_chs"), "floppy_chs.img");
    let screen = out_dir().join("floppy_chs.txt");
    let (status, _, _) = run_hv_ok(&[
        s(&img),
        "--until-text",
        "boot drive 00",
        "--dump-screen",
        s(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0);
    let text = read_screen(&screen);
    assert!(text.contains("CHS stage 2 running"), "{text}");
    assert!(text.contains("loaded from C1/H1/S3"), "{text}");
}

#[test]
fn hard_disk_uses_lba_extensions_and_writes_only_with_writable() {
    if !backend_or_skip("hard_disk_uses_lba_extensions_and_writes_only_with_writable") {
        return;
    }
    let built = guest("hd_lba");
    let original = std::fs::read(&built).expect("image");
    let img = copy(&built, "hd_lba.img");
    let screen = out_dir().join("hd_lba.txt");
    let args = |writable: bool| {
        let mut a = vec![
            s(&img),
            "--until-text",
            "sector 60 written",
            "--dump-screen",
            s(&screen),
            "--timeout",
            "60",
        ];
        if writable {
            a.push("--writable");
        }
        a
    };
    let (status, _, _) = run_hv_ok(&args(false));
    assert_eq!(status, 0);
    assert!(read_screen(&screen).contains("LBA stage 2 running"));
    assert_eq!(
        std::fs::read(&img).expect("image"),
        original,
        "without --writable the image file is untouched"
    );
    let (status, _, _) = run_hv_ok(&args(true));
    assert_eq!(status, 0);
    let after = std::fs::read(&img).expect("image");
    assert_eq!(after.len(), original.len());
    assert_eq!(
        sector(&after, 60),
        sector(&original, 41),
        "guest write reached the file"
    );
    assert!(sector(&after, 60).starts_with(b"WRITTEN BY THE GUEST"));
}

#[test]
fn boot_sector_echoes_typed_keys_with_int10_and_int16() {
    if !backend_or_skip("boot_sector_echoes_typed_keys_with_int10_and_int16") {
        return;
    }
    let img = guest("echo");
    let screen = out_dir().join("echo.txt");
    let (status, _, _) = run_hv_ok(&[
        s(&img),
        "--type",
        r"hello hv\n",
        "--until-text",
        "DONE",
        "--dump-screen",
        s(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0);
    let text = read_screen(&screen);
    assert!(text.contains("Type: hello hv"), "{text}");
}

#[test]
fn multiboot_c_kernel_gets_info_modules_and_memory_map() {
    if !backend_or_skip("multiboot_c_kernel_gets_info_modules_and_memory_map") {
        return;
    }
    let elf = multiboot_kernel();
    let module = out_dir().join("mb_module.bin");
    std::fs::write(&module, b"Zmodule contents").expect("module");
    let module_arg = format!("{},size=16", s(&module));
    let screen = out_dir().join("multiboot.txt");
    let (status, stdout, _) = run_hv_ok(&[
        s(&elf),
        "--memory",
        "32",
        "--append",
        "hello=world",
        "--module",
        &module_arg,
        "--until-text",
        "MMAP DONE",
        "--dump-screen",
        s(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0);
    let text = read_screen(&screen);
    assert!(
        text.contains("MULTIBOOT OK flags=0000024D lower=0000027F upper=00007C00"),
        "{text}"
    );
    assert!(text.contains("loader=hv"), "{text}");
    assert!(text.contains("cmdline=hello=world"), "{text}");
    assert!(text.contains("module first=Z at 00"), "{text}");
    assert!(
        stdout.contains("mb_module.bin size=16\n"),
        "module string on serial"
    );
    for line in [
        "mmap 0000000000000000 000000000009FC00 1",
        "mmap 000000000009FC00 0000000000000400 2",
        "mmap 00000000000F0000 0000000000010000 2",
        "mmap 0000000000100000 0000000001F00000 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
        assert!(stdout.contains(line), "serial lacks {line:?}");
    }
}

#[test]
fn fake_bzimage_enters_64_bit_with_boot_params() {
    if !backend_or_skip("fake_bzimage_enters_64_bit_with_boot_params") {
        return;
    }
    let img = guest("fake_bzimage");
    let initrd = out_dir().join("fake_initrd.bin");
    std::fs::write(&initrd, b"INITRD-CONTENT\0").expect("initrd");
    let screen = out_dir().join("bzimage.txt");
    let (status, stdout, _) = run_hv_ok(&[
        s(&img),
        "--append",
        "console=tty0 hv=1",
        "--initrd",
        s(&initrd),
        "--dump-screen",
        s(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0x21, "the payload exits with debug-exit value 0x10");
    let text = read_screen(&screen);
    assert!(
        text.starts_with("BZ64 entered boot_params OK console=tty0 hv=1 INITRD-CONTENT BZ64 DONE"),
        "{text}"
    );
    assert!(stdout.contains("BZ64 DONE"));
}

/// Runs hv on a bad image: exit status 1 and exactly one error line naming the file.
fn refused(args: &[&str], file: &Path, problem: &str) {
    let (status, _, stderr) = run_hv_ok(args);
    assert_eq!(status, 1, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    let expected = format!("hv: error: {}: ", file.display());
    assert!(lines[0].starts_with(&expected), "{stderr}");
    assert!(lines[0].contains(problem), "{stderr}");
}

#[test]
fn bad_images_fail_with_one_clear_line() {
    let dir = out_dir();
    let elf = std::fs::read(multiboot_kernel()).expect("kernel");

    let elf64 = dir.join("elf64.elf");
    let mut v = elf.clone();
    v[4] = 2;
    std::fs::write(&elf64, &v).expect("write");
    refused(&[s(&elf64)], &elf64, "64-bit ELF");

    let badsum = dir.join("badsum.elf");
    let mut v = elf.clone();
    let at = v
        .windows(4)
        .position(|w| w == 0x1BAD_B002u32.to_le_bytes())
        .expect("header");
    v[at + 8] ^= 0x10;
    std::fs::write(&badsum, &v).expect("write");
    refused(
        &[s(&badsum)],
        &badsum,
        "multiboot header checksum is wrong (flags 0x3",
    );

    let truncated = dir.join("truncated.elf");
    std::fs::write(&truncated, &elf[..elf.len().min(0x1100)]).expect("write");
    refused(&[s(&truncated)], &truncated, "truncated");

    let nosig = dir.join("nosig.img");
    std::fs::write(&nosig, vec![0u8; 8192]).expect("write");
    refused(
        &["--format", "disk", s(&nosig)],
        &nosig,
        "no boot signature (0x55AA)",
    );
    refused(&[s(&nosig)], &nosig, "not a recognised image");

    let empty = dir.join("empty.img");
    std::fs::write(&empty, b"").expect("write");
    let (status, _, stderr) = run_hv_ok(&[s(&empty)]);
    assert_eq!(status, 1);
    assert!(stderr.contains("is empty"), "{stderr}");

    let old = dir.join("old_bzimage.bin");
    let mut v = std::fs::read(guest("fake_bzimage")).expect("bz");
    v[0x206..0x208].copy_from_slice(&0x0205u16.to_le_bytes());
    std::fs::write(&old, &v).expect("write");
    refused(&[s(&old)], &old, "boot protocol 2.05 is too old");

    // Too large for --memory: a kernel whose BSS does not fit in 2 MiB.
    let big = dir.join("big.bin");
    let mut v = Vec::new();
    let flags = 0x1_0000u32;
    for x in [0x1BAD_B002, flags, 0u32.wrapping_sub(0x1BAD_B002 + flags)] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for x in [0x10_0000u32, 0x10_0000, 0, 0x40_0000, 0x10_0000] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&big, &v).expect("write");
    refused(&["--memory", "2", s(&big)], &big, "give more --memory");
}
