//! The BIOS ROM image (segment F000): interrupt stubs, the tables guests read through
//! interrupt vectors, and the 8x16 font.
//!
//! Every stub is a handful of bytes of hand-assembled 8086 code: the work happens in Rust
//! after one write to [`TRAP_PORT`](super::TRAP_PORT). Tables sit at the offsets IBM's
//! BIOS used, because old programs hard-code some of them.
//!
//! ```text
//! F000:0000  8x16 font (int 10h AX=1130h BH=06h)
//! F000:1000  service stubs, 20 bytes apart, in SERVICE_VECTORS order
//! F000:1400  IRQ stubs (int 08h, int 09h), EOI stubs, the halt loop
//! F000:E401  fixed-disk parameter tables (int 41h, int 46h)
//! F000:E6F5  system configuration table (int 15h AH=C0h)
//! F000:EFC7  diskette parameter table (int 1Eh)
//! F000:FF53  the default handler: iret
//! F000:FFF5  BIOS date, F000:FFFE model byte
//! ```

use super::TRAP_PORT;

/// The ROM's segment.
pub const SEGMENT: u16 = 0xF000;
/// Linear address of the ROM.
pub const BASE: u64 = 0xF_0000;
/// Size of the ROM.
pub const SIZE: usize = 0x1_0000;

/// Offset of the 8x16 font.
pub const FONT_8X16: u16 = 0x0000;
/// Offset of the fixed-disk parameter table for drive 0x80 (int 41h).
pub const FIXED_DISK_TABLE_0: u16 = 0xE401;
/// Offset of the table for drive 0x81 (int 46h); all zeros (no second disk).
pub const FIXED_DISK_TABLE_1: u16 = 0xE411;
/// Offset of the int 15h AH=C0h configuration table.
pub const CONFIG_TABLE: u16 = 0xE6F5;
/// Offset of the int 1Eh diskette parameter table.
pub const DISKETTE_TABLE: u16 = 0xEFC7;
/// Offset of the default `iret` handler (IBM's dummy handler address).
pub const IRET: u16 = 0xFF53;
/// Offset of the BIOS date string.
const DATE: u16 = 0xFFF5;
/// Offset of the model byte.
const MODEL: u16 = 0xFFFE;
/// Model byte: PC/AT (what SeaBIOS reports).
pub const MODEL_AT: u8 = 0xFC;

/// Vectors served by a generic service stub, in stub order.
pub const SERVICE_VECTORS: [u8; 9] = [0x10, 0x11, 0x12, 0x13, 0x15, 0x16, 0x18, 0x19, 0x1A];
/// First service stub.
const SERVICE_STUBS: u16 = 0x1000;
/// Distance between two service stubs.
const SERVICE_STUB_SPACING: u16 = 20;
/// Bytes of code in a service stub (see [`service_stub`]).
const SERVICE_STUB_LEN: u16 = 18;
/// Offset of the `hlt` inside a service stub.
const SERVICE_STUB_HLT: u16 = 12;
const _: () = assert!(SERVICE_STUB_LEN <= SERVICE_STUB_SPACING);
/// The int 08h (IRQ0) stub.
pub const IRQ0_STUB: u16 = 0x1400;
/// The int 09h (IRQ1) stub.
pub const IRQ1_STUB: u16 = 0x1420;
/// EOI to the master PIC, for IRQ 2-7.
pub const EOI_MASTER_STUB: u16 = 0x1440;
/// EOI to both PICs, for IRQ 8-15.
pub const EOI_SLAVE_STUB: u16 = 0x1450;
/// `cli; hlt` forever: where int 18h (and a failed int 19h) ends.
pub const HALT_LOOP: u16 = 0x1460;

const OUT_IMM8: u8 = 0xE6;
const PUSH_AX: u8 = 0x50;
const POP_AX: u8 = 0x58;
const MOV_AL: u8 = 0xB0;
const MOV_AH: u8 = 0xB4;
const IRET_OP: u8 = 0xCF;
const CLI: u8 = 0xFA;
const STI: u8 = 0xFB;
const HLT: u8 = 0xF4;
const PIC_EOI: u8 = 0x20;

/// The generic stub for `vector`:
///
/// ```text
///         push ax
///         mov ah, 0          ; AH: which attempt this is (0 = the first)
/// retry:  mov al, vector
///         out TRAP_PORT, al  ; the VMM serves the call: AL = 0 done / 1 halt,
///                            ; and AH = the next attempt's number
///         test al, al
///         jz done
///         sti                ; halt with interrupts on: the VMM injects what is
///         hlt                ; pending (or what the service waits for) at this hlt
///         cli
///         jmp retry          ; ... and the service is asked again
/// done:   pop ax             ; AX as the VMM left it in the frame
///         iret               ; FLAGS (CF, ZF) as the VMM left them in the frame
/// ```
///
/// The halt serves two answers (see [`super::cpu_view::Completion`]): *wait* (a key,
/// time to pass) and *yield* (the caller had interrupts enabled and one is pending: it is
/// let in before the service runs, as a BIOS running its services with `sti` would).
/// A HLT exits to the VMM on every backend with IF=1 and no interrupt shadow, so the
/// interrupt is injected there; an interrupt-window exit would need luck.
pub fn service_stub(vector: u8) -> [u8; SERVICE_STUB_LEN as usize] {
    #[rustfmt::skip]
    let code = [
        PUSH_AX,
        MOV_AH, 0x00,
        MOV_AL, vector,         // retry (offset 3)
        OUT_IMM8, TRAP_PORT as u8,
        0x84, 0xC0,             // test al, al
        0x74, 0x05,             // jz done (11 + 5 = 16)
        STI,
        HLT,                    // offset SERVICE_STUB_HLT
        CLI,
        0xEB, 0xF3,             // jmp retry (16 - 13 = 3)
        POP_AX,                 // done (offset 16)
        IRET_OP,
    ];
    code
}

/// int 08h: count the tick in the VMM, chain to the user hook int 1Ch, then EOI.
fn irq0_stub() -> Vec<u8> {
    vec![
        PUSH_AX,
        MOV_AL,
        0x08,
        OUT_IMM8,
        TRAP_PORT as u8,
        0xCD,
        0x1C, // int 1Ch
        MOV_AL,
        PIC_EOI,
        OUT_IMM8,
        0x20,
        POP_AX,
        IRET_OP,
    ]
}

/// int 09h: the VMM reads the scancode and fills the keyboard buffer; then EOI.
fn irq1_stub() -> Vec<u8> {
    vec![
        PUSH_AX,
        MOV_AL,
        0x09,
        OUT_IMM8,
        TRAP_PORT as u8,
        MOV_AL,
        PIC_EOI,
        OUT_IMM8,
        0x20,
        POP_AX,
        IRET_OP,
    ]
}

fn eoi_stub(slave: bool) -> Vec<u8> {
    let mut code = vec![PUSH_AX, MOV_AL, PIC_EOI];
    if slave {
        code.extend([OUT_IMM8, 0xA0]);
    }
    code.extend([OUT_IMM8, 0x20, POP_AX, IRET_OP]);
    code
}

/// `halt: cli; hlt; jmp halt`.
fn halt_loop() -> Vec<u8> {
    vec![CLI, HLT, 0xEB, 0xFC]
}

/// The int 15h AH=C0h table: length 8, model, submodel, revision, then feature bytes
/// (byte 1: 0x40 second PIC, 0x20 RTC, 0x04 EBDA allocated).
fn config_table() -> [u8; 10] {
    [
        0x08, 0x00, MODEL_AT, 0x00, 0x01, 0x64, 0x00, 0x00, 0x00, 0x00,
    ]
}

/// Offset of the generic stub serving `vector`, if it has one.
pub fn service_stub_offset(vector: u8) -> Option<u16> {
    let i = SERVICE_VECTORS.iter().position(|&v| v == vector)?;
    Some(SERVICE_STUBS + i as u16 * SERVICE_STUB_SPACING)
}

/// The vector whose service stub halted, if linear address `addr` is that stub's `hlt`
/// or the instruction after it (backends report a halt's RIP at or past the `hlt`).
pub fn halted_service_stub_at(addr: u64) -> Option<u8> {
    let off = u16::try_from(addr.checked_sub(BASE)?).ok()?;
    SERVICE_VECTORS.iter().copied().find(|&v| {
        service_stub_offset(v).is_some_and(|start| {
            off == start + SERVICE_STUB_HLT || off == start + SERVICE_STUB_HLT + 1
        })
    })
}

/// The vector whose trapping stub contains linear address `addr`. Used to check that a
/// trap came from the ROM stub for the vector it names (the backend may report RIP at
/// the `out` or just past it; both are inside the stub).
pub fn trapping_vector_at(addr: u64) -> Option<u8> {
    let off = u16::try_from(addr.checked_sub(BASE)?).ok()?;
    let within = |start: u16, len: u16| (start..start + len).contains(&off);
    if within(IRQ0_STUB, irq0_stub().len() as u16) {
        return Some(0x08);
    }
    if within(IRQ1_STUB, irq1_stub().len() as u16) {
        return Some(0x09);
    }
    SERVICE_VECTORS
        .iter()
        .copied()
        .find(|&v| service_stub_offset(v).is_some_and(|start| within(start, SERVICE_STUB_LEN)))
}

/// Where the IVT entry for `vector` points (offset in segment F000), or `None` for
/// vectors that hold data pointers or nothing.
pub fn handler_offset(vector: u8) -> Option<u16> {
    Some(match vector {
        // int 13h's floppy-only alias.
        0x40 => service_stub_offset(0x13)?,
        v if service_stub_offset(v).is_some() => service_stub_offset(v)?,
        0x08 => IRQ0_STUB,
        0x09 => IRQ1_STUB,
        0x0A..=0x0F => EOI_MASTER_STUB,
        0x70..=0x77 => EOI_SLAVE_STUB,
        // Data pointers: video parameters (none), 8x8 fonts (none: there is no 8x8
        // font), user vectors SeaBIOS leaves 0.
        0x1D | 0x1F | 0x43 | 0x60..=0x66 | 0x79 => return None,
        0x1E => DISKETTE_TABLE,
        0x41 => FIXED_DISK_TABLE_0,
        0x46 => FIXED_DISK_TABLE_1,
        _ => IRET,
    })
}

/// The ROM image with its code; tables that depend on the attached disks are filled in
/// by their modules.
pub fn image(font_8x16: &[u8]) -> Vec<u8> {
    let mut rom = vec![0u8; SIZE];
    let mut put = |off: u16, bytes: &[u8]| {
        let off = usize::from(off);
        rom[off..off + bytes.len()].copy_from_slice(bytes);
    };
    put(FONT_8X16, &font_8x16[..font_8x16.len().min(0x1000)]);
    for v in SERVICE_VECTORS {
        if let Some(off) = service_stub_offset(v) {
            put(off, &service_stub(v));
        }
    }
    put(IRQ0_STUB, &irq0_stub());
    put(IRQ1_STUB, &irq1_stub());
    put(EOI_MASTER_STUB, &eoi_stub(false));
    put(EOI_SLAVE_STUB, &eoi_stub(true));
    put(HALT_LOOP, &halt_loop());
    put(IRET, &[IRET_OP]);
    put(CONFIG_TABLE, &config_table());
    put(DATE, b"06/23/99");
    put(MODEL, &[MODEL_AT]);
    rom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_do_not_overlap_and_jumps_land_on_their_labels() {
        let last = service_stub_offset(*SERVICE_VECTORS.last().expect("non-empty")).expect("stub")
            + SERVICE_STUB_SPACING;
        assert!(last <= IRQ0_STUB);
        assert!(IRQ0_STUB + irq0_stub().len() as u16 <= IRQ1_STUB);
        assert!(IRQ1_STUB + irq1_stub().len() as u16 <= EOI_MASTER_STUB);
        assert!(EOI_MASTER_STUB + eoi_stub(false).len() as u16 <= EOI_SLAVE_STUB);
        assert!(EOI_SLAVE_STUB + eoi_stub(true).len() as u16 <= HALT_LOOP);
        let s = service_stub(0x16);
        // jz at 9: target = 11 + 5 = 16 = pop ax.
        assert_eq!(s[9], 0x74);
        assert_eq!(s[11 + s[10] as usize], POP_AX);
        // jmp at 14: target = 16 + (-13) = 3 = mov al, vector.
        assert_eq!(s[14], 0xEB);
        assert_eq!(s[(16 + s[15] as i8 as isize) as usize], MOV_AL);
        assert_eq!(s[4], 0x16);
        assert_eq!(
            &s[usize::from(SERVICE_STUB_HLT) - 1..usize::from(SERVICE_STUB_HLT) + 2],
            &[STI, HLT, CLI]
        );
        let h = halt_loop();
        assert_eq!((4 + h[3] as i8 as isize) as usize, 0, "jmp back to cli");
    }

    #[test]
    fn traps_are_matched_to_their_stub() {
        let off = service_stub_offset(0x13).expect("stub");
        for rip in [off + 5, off + 7] {
            assert_eq!(trapping_vector_at(BASE + u64::from(rip)), Some(0x13));
        }
        assert_eq!(
            trapping_vector_at(BASE + u64::from(IRQ1_STUB) + 3),
            Some(0x09)
        );
        assert_eq!(trapping_vector_at(BASE + u64::from(IRET)), None);
        assert_eq!(trapping_vector_at(0x7C00), None);
        assert_eq!(trapping_vector_at(BASE + 0x2_0000), None);
        let off = service_stub_offset(0x15).expect("stub");
        for at in [off + SERVICE_STUB_HLT, off + SERVICE_STUB_HLT + 1] {
            assert_eq!(halted_service_stub_at(BASE + u64::from(at)), Some(0x15));
        }
        assert_eq!(halted_service_stub_at(BASE + u64::from(off + 5)), None);
        assert_eq!(
            halted_service_stub_at(BASE + u64::from(HALT_LOOP + 2)),
            None
        );
        assert_eq!(halted_service_stub_at(0x7C01), None);
    }

    #[test]
    fn vectors_point_at_the_right_kind_of_handler() {
        assert_eq!(handler_offset(0x16), service_stub_offset(0x16));
        assert_eq!(handler_offset(0x40), service_stub_offset(0x13));
        assert_eq!(handler_offset(0x0E), Some(EOI_MASTER_STUB));
        assert_eq!(handler_offset(0x74), Some(EOI_SLAVE_STUB));
        assert_eq!(handler_offset(0x20), Some(IRET));
        assert_eq!(handler_offset(0x1E), Some(DISKETTE_TABLE));
        assert_eq!(handler_offset(0x1F), None);
        let rom = image(&[0xAA; 4096]);
        assert_eq!(rom[usize::from(IRET)], IRET_OP);
        assert_eq!(rom[0xFFF], 0xAA);
        assert_eq!(rom[usize::from(MODEL)], MODEL_AT);
    }
}
