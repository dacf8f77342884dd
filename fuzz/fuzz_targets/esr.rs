//! The arm64 exception-syndrome decoder and MMIO completion (HVF exits): any 64-bit ESR,
//! any fault address, any register value.
//!
//! Invariants: decoding never panics; PC advances by 0 or 4 only; a decodable data abort
//! becomes exactly one device access of 1, 2, 4 or 8 bytes at the faulting address, of
//! the direction the syndrome says; a store sends the register's low `size` bytes (zero
//! for XZR); a load's result fits the destination (W registers are zero-extended, sign
//! extension matches the top bit of the loaded bytes); an undecodable abort yields an
//! error that names the address (the user sees it as one line).
#![no_main]

use arbitrary::Arbitrary;
use hv_core::arch::arm64::esr::{Exception, Syndrome};
use hv_fuzz::{Access, IoRecorder};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    esr: u64,
    gpa: u64,
    reg_value: u64,
    device_byte: u8,
}

fuzz_target!(|input: Input| {
    let syndrome = Syndrome(input.esr);
    let exception = syndrome.decode();
    assert!(matches!(exception.pc_advance(), 0 | 4));
    assert_eq!(u64::from(syndrome.ec()), (input.esr >> 26) & 0x3F);
    let Exception::DataAbort(abort) = exception else {
        return;
    };
    let access = match abort.mmio_access(input.gpa) {
        Ok(a) => a,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("{:#x}", input.gpa)) && !msg.contains('\n'),
                "{msg}"
            );
            return;
        }
    };
    assert!(matches!(access.len(), 1 | 2 | 4 | 8) && !access.is_empty());
    // SAS = 0b11 with SF = 0 (an 8-byte load into a W register) is reserved; hardware
    // never reports it, so only the no-panic property applies.
    let reserved = access.len() == 8 && !access.sixty_four;
    assert_eq!(access.write, abort.wnr);
    let mut io = IoRecorder {
        fill: input.device_byte,
        ..Default::default()
    };
    let result = access.complete(input.reg_value, &mut io);
    assert_eq!(io.log.len(), 1, "one access per abort");
    let mask = if access.len() == 8 {
        u64::MAX
    } else {
        (1u64 << (access.len() * 8)) - 1
    };
    match &io.log[0] {
        Access::MmioWrite(gpa, data) => {
            assert!(access.write && *gpa == input.gpa && data.len() == access.len());
            let mut raw = [0u8; 8];
            raw[..data.len()].copy_from_slice(data);
            let expect = if access.reg.is_some() {
                input.reg_value & mask
            } else {
                0
            };
            assert_eq!(u64::from_le_bytes(raw), expect);
            assert!(result.is_none());
        }
        Access::MmioRead(gpa, len) => {
            assert!(!access.write && *gpa == input.gpa && *len == access.len());
            assert_eq!(result.is_some(), access.reg.is_some());
            if let Some(v) = result {
                let raw = u64::from_le_bytes([input.device_byte; 8]) & mask;
                if !access.sixty_four {
                    assert_eq!(v >> 32, 0, "W register not zero-extended");
                }
                if !reserved {
                    assert_eq!(v & mask, raw, "loaded bytes changed");
                }
                let top = raw >> (access.len() * 8 - 1) & 1 == 1;
                if access.len() < 8 && !(access.sign_extend && top) {
                    assert_eq!(v & !mask, 0, "high bits set without sign extension");
                }
            }
        }
        other => panic!("unexpected access {other:?}"),
    }
});
