//! The flat (raw real-mode binary) loader: any bytes at any 16-bit load address.
//!
//! Invariants: `FlatImage::new` accepts exactly the images that fit between 0x500 and
//! the start of VGA memory and names the reason otherwise; loading writes the bytes at
//! the load address and nothing into the interrupt vector table, BIOS data area or VGA
//! memory; the entry state is CS:IP = 0000:addr with DL = 0x80; loading again (a reset)
//! gives the same entry state.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use hv_core::loader::flat::FlatImage;
use hv_core::loader::{BootImage, LoadError};
use hv_core::machine::layout::{VGA_MEMORY_START, pc_memory};
use hv_core::memory::GuestMemory;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    load_addr: u16,
    /// Pad the image to this many KiB (so sizes near the 640 KiB limit are reached).
    pad_kib: u16,
    bytes: Vec<u8>,
}

fn memory() -> &'static GuestMemory {
    static MEM: OnceLock<GuestMemory> = OnceLock::new();
    MEM.get_or_init(|| pc_memory(2).expect("2 MiB guest"))
}

fn all_zero(mem: &GuestMemory, at: u64, len: usize) -> bool {
    let mut buf = vec![0xAA; len];
    mem.read(at, &mut buf).is_ok() && buf.iter().all(|&b| b == 0)
}

fuzz_target!(|input: Input| {
    let mut bytes = input.bytes;
    let pad = usize::from(input.pad_kib % 700) * 1024;
    if bytes.len() < pad {
        bytes.resize(pad, 0x90);
    }
    let addr = input.load_addr;
    let fits = !bytes.is_empty()
        && addr >= 0x500
        && bytes.len() as u64 <= VGA_MEMORY_START - u64::from(addr);
    let img = match FlatImage::new(bytes.clone(), addr) {
        Ok(img) => img,
        Err(e) => {
            assert!(!fits, "rejected a fitting image: {e}");
            match e {
                LoadError::Empty => assert!(bytes.is_empty()),
                LoadError::TooLarge { size, max, .. } => assert!(size > max && size == bytes.len()),
                LoadError::Invalid(msg) => assert!(addr < 0x500 && msg.contains("0x500"), "{msg}"),
            }
            return;
        }
    };
    assert!(fits, "accepted an image that does not fit");
    let mem = memory();
    mem.write(0, &vec![0u8; 0xC0000]).unwrap();
    let loaded = img
        .load(mem, &Default::default())
        .expect("a checked image loads");
    let mut back = vec![0u8; bytes.len()];
    mem.read(u64::from(addr), &mut back).unwrap();
    assert!(back == bytes, "memory differs from the image");
    assert!(all_zero(mem, 0, 0x500), "IVT/BDA touched");
    assert!(
        all_zero(mem, VGA_MEMORY_START, 0x20000),
        "VGA memory touched"
    );
    let end = u64::from(addr) + bytes.len() as u64;
    let after = (VGA_MEMORY_START - end).min(4096) as usize;
    assert!(all_zero(mem, end, after), "bytes written past the image");
    let e = loaded.entry;
    assert_eq!(
        (e.sregs.cs.selector, e.regs.rip, e.regs.rdx & 0xFF),
        (0, u64::from(addr), 0x80)
    );
    assert_eq!(
        img.load(mem, &Default::default()).unwrap().entry,
        e,
        "reload differs"
    );
});
