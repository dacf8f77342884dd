//! int 13h: the floppy (drive 00h) and the hard disk (drive 80h) from `board.drives`,
//! with CHS and EDD (LBA packet) transfers; and the ROM tables behind int 1Eh/41h/46h.
//!
//! Every transfer is checked before a byte moves: the count (1-128 for CHS, at most 127
//! for EDD), the address (CHS inside the geometry; LBA range inside the disk), and the
//! buffer (in RAM, not the ROM; CHS buffers must not wrap their segment). Errors come
//! back as CF=1 with the status in AH and in the BDA (0x441 floppy, 0x474 hard disk), as
//! SeaBIOS `src/disk.c` reports them.

use super::bda;
use super::cpu_view::{Completion, CpuView, linear, read_guest, writable_ram, write_guest};
use super::rom;
use crate::loader::disk::{DiskKind, Drives, SECTOR};
use crate::machine::pc::PcBoard;

/// Status: invalid function, drive or parameter.
pub const STATUS_INVALID: u8 = 0x01;
/// Status: sector not found (outside the disk).
pub const STATUS_NOT_FOUND: u8 = 0x04;
/// Status: the buffer would wrap its 64 KiB segment.
pub const STATUS_BOUNDARY: u8 = 0x09;
/// Status: the host could not read or write the image.
pub const STATUS_CONTROLLER: u8 = 0x20;

/// Most sectors one CHS call moves.
const MAX_CHS_COUNT: u8 = 128;
/// Most sectors one EDD call moves (Phoenix EDD limit).
const MAX_EDD_COUNT: u16 = 127;
/// Size of the EDD 1.x result (int 13h AH=48h) and with the DPTE pointer (2.x).
const EDD_PARAMS_V1: u16 = 0x1A;
const EDD_PARAMS_V2: u16 = 0x1E;

/// Fills the diskette and fixed-disk parameter tables in the ROM image.
pub fn write_rom_tables(rom_image: &mut [u8], drives: &Drives) {
    let spt = drives
        .floppy
        .as_ref()
        .map_or(18, |d| d.geometry().sectors.min(0xFF) as u8);
    // IBM's values: step rate/head unload, head load, motor off delay, 512-byte
    // sectors, sectors per track, gap, data length, format gap, fill byte, settle, motor on.
    let diskette = [
        0xDF, 0x02, 0x25, 0x02, spt, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08,
    ];
    put(rom_image, rom::DISKETTE_TABLE, &diskette);
    if let Some(d) = &drives.hard_disk {
        let g = d.geometry();
        let cyl = (g.cylinders.min(0xFFFF) as u16).to_le_bytes();
        let heads = g.heads.min(0xFF) as u8;
        let mut table = [0u8; 16];
        table[0..2].copy_from_slice(&cyl);
        table[2] = heads;
        table[5..7].copy_from_slice(&0xFFFFu16.to_le_bytes()); // no write precompensation
        table[8] = if heads > 8 { 0x08 } else { 0x00 };
        table[12..14].copy_from_slice(&cyl); // landing zone
        table[14] = g.sectors.min(0xFF) as u8;
        put(rom_image, rom::FIXED_DISK_TABLE_0, &table);
    }
}

fn put(image: &mut [u8], off: u16, bytes: &[u8]) {
    let off = usize::from(off);
    if let Some(dst) = image.get_mut(off..off + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// What a transfer does with the sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Verify,
}

fn status_field(drive: u8) -> u64 {
    if drive & 0x80 != 0 {
        bda::DISK_STATUS
    } else {
        bda::FLOPPY_STATUS
    }
}

/// int 13h.
pub fn int13(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let drive = cpu.dl();
    let mem = board.shared.memory.clone();
    if cpu.ah() == 0x01 {
        let last = mem.read_u8(status_field(drive)).unwrap_or(0);
        cpu.set_ah(last);
        cpu.set_carry(last != 0);
        return Completion::Done;
    }
    let result = if board.drives.get(drive).is_none() {
        log::debug!(
            "int 13h: AH={:#04x} for absent drive {drive:#04x}",
            cpu.ah()
        );
        Err(STATUS_INVALID)
    } else {
        match cpu.ah() {
            0x00 => Ok(()),
            0x02 => chs_transfer(cpu, board, Op::Read),
            0x03 => chs_transfer(cpu, board, Op::Write),
            0x04 => chs_transfer(cpu, board, Op::Verify),
            0x08 => parameters(cpu, board),
            0x15 => return disk_type(cpu, board),
            0x41 => return edd_check(cpu),
            0x42 => edd_transfer(cpu, board, Op::Read),
            0x43 => edd_transfer(cpu, board, Op::Write),
            0x44 => edd_transfer(cpu, board, Op::Verify),
            0x48 => edd_parameters(cpu, board),
            other => {
                log::debug!("int 13h: AH={other:#04x} not supported");
                Err(STATUS_INVALID)
            }
        }
    };
    let status = match result {
        Ok(()) => {
            cpu.set_ah(0);
            cpu.set_carry(false);
            0
        }
        Err(s) => {
            cpu.fail(s);
            s
        }
    };
    write_guest(&mem, status_field(drive), &[status]);
    Completion::Done
}

/// Moves `count` sectors between the disk at `lba` and guest memory at `buf`. Returns
/// how many sectors were done and the status; the buffer is checked as a whole first.
fn transfer(
    board: &mut PcBoard,
    drive: u8,
    op: Op,
    lba: u64,
    count: u16,
    buf: u64,
) -> (u16, Result<(), u8>) {
    let mem = board.shared.memory.clone();
    let len = u64::from(count) * SECTOR as u64;
    let buffer_ok = match op {
        Op::Read => writable_ram(&mem, buf, len),
        Op::Write => mem.contains(buf, len),
        Op::Verify => true,
    };
    if !buffer_ok {
        log::debug!("int 13h: buffer {buf:#x}+{len:#x} is not usable guest memory");
        return (0, Err(STATUS_INVALID));
    }
    let Some(disk) = board.drives.get_mut(drive) else {
        return (0, Err(STATUS_INVALID));
    };
    for i in 0..count {
        let Some(sector_lba) = lba
            .checked_add(u64::from(i))
            .filter(|&l| l < disk.sectors())
        else {
            return (i, Err(STATUS_NOT_FOUND));
        };
        let addr = buf + u64::from(i) * SECTOR as u64;
        let mut sector = [0u8; SECTOR];
        let outcome = match op {
            Op::Read => disk
                .read_sector(sector_lba, &mut sector)
                .map_err(|e| e.to_string())
                .and_then(|()| mem.write(addr, &sector).map_err(|e| e.to_string())),
            Op::Write => mem
                .read(addr, &mut sector)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    disk.write_sector(sector_lba, &sector)
                        .map_err(|e| e.to_string())
                }),
            Op::Verify => Ok(()),
        };
        if let Err(e) = outcome {
            log::warn!("int 13h: drive {drive:#04x} sector {sector_lba}: {e}");
            return (i, Err(STATUS_CONTROLLER));
        }
    }
    (count, Ok(()))
}

/// AH=02h/03h/04h: AL sectors at CH/CL/DH (cylinder bits 8-9 in CL bits 6-7, sector in
/// CL bits 0-5, 1-based) to or from ES:BX. AL returns the sectors done.
fn chs_transfer(cpu: &mut CpuView, board: &mut PcBoard, op: Op) -> Result<(), u8> {
    let count = cpu.al();
    cpu.set_al(0);
    if count == 0 || count > MAX_CHS_COUNT {
        return Err(STATUS_INVALID);
    }
    let drive = cpu.dl();
    let geometry = board.drives.get(drive).ok_or(STATUS_INVALID)?.geometry();
    let cylinder = u32::from(cpu.ch()) | u32::from(cpu.cl() & 0xC0) << 2;
    let sector = u32::from(cpu.cl() & 0x3F);
    let lba = geometry
        .lba(cylinder, u32::from(cpu.dh()), sector)
        .ok_or(STATUS_INVALID)?;
    let len = u32::from(count) * SECTOR as u32;
    if op != Op::Verify && u32::from(cpu.bx()) + len > 0x1_0000 {
        return Err(STATUS_BOUNDARY);
    }
    let (done, result) = transfer(
        board,
        drive,
        op,
        lba,
        u16::from(count),
        linear(cpu.es, cpu.bx()),
    );
    cpu.set_al(done as u8);
    result
}

/// AH=08h: geometry (maximum cylinder/head, sectors per track), drive count; for the
/// floppy also its type in BL and the parameter table in ES:DI.
fn parameters(cpu: &mut CpuView, board: &PcBoard) -> Result<(), u8> {
    let disk = board.drives.get(cpu.dl()).ok_or(STATUS_INVALID)?;
    let g = disk.geometry();
    let max_cyl = g.cylinders.clamp(1, 1024) - 1;
    let max_head = g.heads.clamp(1, 256) - 1;
    cpu.set_ch(max_cyl as u8);
    cpu.set_cl((g.sectors.min(63) as u8) | ((max_cyl >> 2) as u8 & 0xC0));
    cpu.set_dh(max_head as u8);
    cpu.set_dl(1);
    cpu.set_al(0);
    if let DiskKind::Floppy(kind) = disk.kind() {
        cpu.set_bx(u16::from(kind));
        cpu.es = rom::SEGMENT;
        cpu.set_di(rom::DISKETTE_TABLE);
    }
    Ok(())
}

/// AH=15h: AH = 01h floppy without change-line, 03h hard disk with CX:DX sectors.
fn disk_type(cpu: &mut CpuView, board: &PcBoard) -> Completion {
    if let Some(disk) = board.drives.get(cpu.dl()) {
        match disk.kind() {
            DiskKind::Floppy(_) => cpu.set_ah(0x01),
            DiskKind::HardDisk => {
                let sectors = disk.sectors().min(u64::from(u32::MAX)) as u32;
                cpu.set_cx((sectors >> 16) as u16);
                cpu.set_dx(sectors as u16);
                cpu.set_ah(0x03);
            }
        }
        cpu.set_carry(false);
    }
    Completion::Done
}

/// AH=41h: EDD installation check (BX=55AAh -> AA55h, AH = version 3.0, CX = packet
/// calls, locking/ejecting, EDD). AH carries the version, so this bypasses the status path.
fn edd_check(cpu: &mut CpuView) -> Completion {
    if cpu.bx() != 0x55AA {
        cpu.fail(STATUS_INVALID);
        return Completion::Done;
    }
    cpu.set_bx(0xAA55);
    cpu.set_cx(0x0007);
    cpu.set_ah(0x30);
    cpu.set_carry(false);
    Completion::Done
}

/// AH=42h/43h/44h: the disk address packet at DS:SI.
fn edd_transfer(cpu: &mut CpuView, board: &mut PcBoard, op: Op) -> Result<(), u8> {
    let mem = board.shared.memory.clone();
    let packet_at = linear(cpu.ds, cpu.si());
    let packet = read_guest(&mem, packet_at, 16).ok_or(STATUS_INVALID)?;
    let word = |i: usize| u16::from_le_bytes([packet[i], packet[i + 1]]);
    let size = packet[0];
    if size < 0x10 {
        return Err(STATUS_INVALID);
    }
    let count = word(2);
    let (off, seg) = (word(4), word(6));
    let mut lba_bytes = [0u8; 8];
    lba_bytes.copy_from_slice(&packet[8..16]);
    let lba = u64::from_le_bytes(lba_bytes);
    let buf = if (seg, off) == (0xFFFF, 0xFFFF) && size >= 0x18 {
        // EDD 3.0: a 64-bit flat buffer address follows.
        let ext = read_guest(&mem, packet_at + 16, 8).ok_or(STATUS_INVALID)?;
        let mut flat = [0u8; 8];
        flat.copy_from_slice(&ext);
        u64::from_le_bytes(flat)
    } else {
        linear(seg, off)
    };
    if count > MAX_EDD_COUNT {
        write_guest(&mem, packet_at + 2, &0u16.to_le_bytes());
        return Err(STATUS_INVALID);
    }
    if count == 0 {
        return Ok(());
    }
    let (done, result) = transfer(board, cpu.dl(), op, lba, count, buf);
    // The packet reports the sectors actually moved.
    write_guest(&mem, packet_at + 2, &done.to_le_bytes());
    result
}

/// AH=48h: drive parameters into the buffer at DS:SI, whose first word gives its size.
fn edd_parameters(cpu: &mut CpuView, board: &PcBoard) -> Result<(), u8> {
    let mem = &board.shared.memory;
    let disk = board.drives.get(cpu.dl()).ok_or(STATUS_INVALID)?;
    let at = linear(cpu.ds, cpu.si());
    let given = read_guest(mem, at, 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or(STATUS_INVALID)?;
    if given < EDD_PARAMS_V1 {
        return Err(STATUS_INVALID);
    }
    let size = if given >= EDD_PARAMS_V2 {
        EDD_PARAMS_V2
    } else {
        EDD_PARAMS_V1
    };
    let g = disk.geometry();
    let flags: u16 = match disk.kind() {
        DiskKind::Floppy(_) => 0x0006, // geometry valid, removable
        DiskKind::HardDisk => 0x0002,  // geometry valid
    };
    let mut out = Vec::with_capacity(usize::from(size));
    out.extend(size.to_le_bytes());
    out.extend(flags.to_le_bytes());
    out.extend(g.cylinders.to_le_bytes());
    out.extend(g.heads.to_le_bytes());
    out.extend(g.sectors.to_le_bytes());
    out.extend(disk.sectors().to_le_bytes());
    out.extend((SECTOR as u16).to_le_bytes());
    if size >= EDD_PARAMS_V2 {
        out.extend(0xFFFF_FFFFu32.to_le_bytes()); // no device parameter table extension
    }
    if !write_guest(mem, at, &out) {
        return Err(STATUS_INVALID);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::test_util::{board, cpu, patterned_disk};

    fn with_disks() -> PcBoard {
        let mut b = board();
        b.drives.floppy = Some(patterned_disk(2880, false)); // 1.44 MB
        b.drives.hard_disk = Some(patterned_disk(100, true));
        b
    }

    fn call(b: &mut PcBoard, c: &mut CpuView) {
        int13(c, b);
    }

    #[test]
    fn chs_read_write_verify_on_the_floppy() {
        let mut b = with_disks();
        // Cylinder 1, head 1, sector 3 = LBA (1*2+1)*18+2 = 56.
        let mut c = cpu(0x0202, 0x1000, 0x0103, 0x0100);
        c.es = 0;
        call(&mut b, &mut c);
        assert!(!c.carry());
        assert_eq!(c.ax(), 0x0002);
        let m = b.shared.memory.clone();
        assert_eq!(m.read_u8(0x1000).expect("r"), 56);
        assert_eq!(m.read_u8(0x1200).expect("r"), 57);
        m.write(0x3000, &[0xAB; 512]).expect("w");
        let mut c = cpu(0x0301, 0x3000, 0x0001, 0x0000);
        call(&mut b, &mut c);
        assert!(!c.carry());
        let mut c = cpu(0x0201, 0x4000, 0x0001, 0x0000);
        call(&mut b, &mut c);
        assert_eq!(m.read_u8(0x41FF).expect("r"), 0xAB);
        let mut c = cpu(0x0401, 0, 0x0001, 0x0000);
        call(&mut b, &mut c);
        assert!(!c.carry());
        let mut c = cpu(0x0100, 0, 0, 0);
        call(&mut b, &mut c);
        assert_eq!((c.ah(), c.carry()), (0, false));
    }

    #[test]
    fn chs_rejects_hostile_requests() {
        let mut b = with_disks();
        let m = b.shared.memory.clone();
        let cases: [(u16, u16, u16, u16, u8); 8] = [
            (0x0200, 0x1000, 0x0001, 0x0000, STATUS_INVALID), // count 0
            (0x0281, 0x1000, 0x0001, 0x0000, STATUS_INVALID), // count 129
            (0x0201, 0x1000, 0x0000, 0x0000, STATUS_INVALID), // sector 0
            (0x0201, 0x1000, 0x0013, 0x0000, STATUS_INVALID), // sector 19 > 18
            (0x0201, 0x1000, 0x5001, 0x0000, STATUS_INVALID), // cylinder 80
            (0x0201, 0x1000, 0x0001, 0x0200, STATUS_INVALID), // head 2
            (0x0202, 0xFE00, 0x0001, 0x0000, STATUS_BOUNDARY), // wraps the segment
            (0x0201, 0x1000, 0x0001, 0x0001, STATUS_INVALID), // drive 1 absent
        ];
        for (ax, bx, cx, dx, status) in cases {
            let mut c = cpu(ax, bx, cx, dx);
            call(&mut b, &mut c);
            assert!(c.carry(), "{ax:#x} {bx:#x} {cx:#x} {dx:#x}");
            assert_eq!(c.ah(), status, "{ax:#x} {bx:#x} {cx:#x} {dx:#x}");
        }
        assert_eq!(m.read_u8(bda::FLOPPY_STATUS).expect("r"), STATUS_INVALID);
        let mut c = cpu(0x0100, 0, 0, 0);
        call(&mut b, &mut c);
        assert_eq!((c.ah(), c.carry()), (STATUS_INVALID, true), "last status");
        // Reading into the ROM is refused and leaves it alone.
        let before = m.read_u8(0xF0000).expect("r");
        let mut c = cpu(0x0201, 0x0000, 0x0001, 0x0000);
        c.es = 0xF000;
        call(&mut b, &mut c);
        assert!(c.carry());
        assert_eq!(m.read_u8(0xF0000).expect("r"), before);
    }

    #[test]
    fn hard_disk_read_stops_at_the_end_of_the_image() {
        let mut b = with_disks();
        // 100 sectors, geometry 16 heads x 63: LBA 98 = C0 H1 S36; read 4 -> 2 done.
        let mut c = cpu(0x0204, 0x2000, 0x0024, 0x0180);
        call(&mut b, &mut c);
        assert!(c.carry());
        assert_eq!((c.ah(), c.al()), (STATUS_NOT_FOUND, 2));
        assert_eq!(b.shared.memory.read_u8(0x2200).expect("r"), 99);
        assert_eq!(
            b.shared.memory.read_u8(bda::DISK_STATUS).expect("r"),
            STATUS_NOT_FOUND
        );
    }

    #[test]
    fn parameters_and_type() {
        let mut b = with_disks();
        let mut c = cpu(0x0800, 0, 0, 0x0000);
        call(&mut b, &mut c);
        assert!(!c.carry());
        assert_eq!((c.ch(), c.cl(), c.dh(), c.dl(), c.bl()), (79, 18, 1, 1, 4));
        assert_eq!((c.es, c.di()), (0xF000, rom::DISKETTE_TABLE));
        let mut c = cpu(0x0800, 0, 0, 0x0080);
        call(&mut b, &mut c);
        assert_eq!((c.ch(), c.cl(), c.dh()), (0, 63, 15));
        let mut c = cpu(0x1500, 0, 0, 0x0080);
        call(&mut b, &mut c);
        assert_eq!((c.ah(), c.cx(), c.dx(), c.carry()), (3, 0, 100, false));
        let mut c = cpu(0x1500, 0, 0, 0x0000);
        call(&mut b, &mut c);
        assert_eq!(c.ah(), 1);
        let mut c = cpu(0x0800, 0, 0, 0x0081);
        call(&mut b, &mut c);
        assert!(c.carry());
    }

    #[test]
    fn rom_tables_describe_the_drives() {
        let b = with_disks();
        let mut image = vec![0u8; rom::SIZE];
        write_rom_tables(&mut image, &b.drives);
        assert_eq!(image[usize::from(rom::DISKETTE_TABLE) + 4], 18);
        let t = usize::from(rom::FIXED_DISK_TABLE_0);
        assert_eq!((image[t], image[t + 2], image[t + 14]), (1, 16, 63));
    }

    fn packet(b: &PcBoard, at: u64, size: u8, count: u16, buf: (u16, u16), lba: u64) {
        let mut p = vec![size, 0];
        p.extend(count.to_le_bytes());
        p.extend(buf.1.to_le_bytes());
        p.extend(buf.0.to_le_bytes());
        p.extend(lba.to_le_bytes());
        b.shared.memory.write(at, &p).expect("w");
    }

    #[test]
    fn edd_check_read_write_and_parameters() {
        let mut b = with_disks();
        let mut c = cpu(0x4100, 0x55AA, 0, 0x0080);
        call(&mut b, &mut c);
        assert_eq!((c.bx(), c.ah(), c.carry()), (0xAA55, 0x30, false));
        let mut c = cpu(0x4100, 0x1234, 0, 0x0080);
        call(&mut b, &mut c);
        assert!(c.carry());

        packet(&b, 0x500, 0x10, 3, (0x0000, 0x6000), 10);
        let mut c = cpu(0x4200, 0, 0, 0x0080);
        c.set_si(0x500);
        call(&mut b, &mut c);
        assert!(!c.carry());
        let m = b.shared.memory.clone();
        assert_eq!(m.read_u8(0x6000 + 2 * 512).expect("r"), 12);
        // Past the end: 2 of 5 done, count written back.
        packet(&b, 0x500, 0x10, 5, (0x0000, 0x6000), 98);
        let mut c = cpu(0x4200, 0, 0, 0x0080);
        c.set_si(0x500);
        call(&mut b, &mut c);
        assert!(c.carry());
        assert_eq!(m.read_u16(0x502).expect("r"), 2);
        // Hostile packets.
        for (size, count, lba) in [(0x0F, 1, 0), (0x10, 128, 0), (0x10, 1, u64::MAX)] {
            packet(&b, 0x500, size, count, (0x0000, 0x6000), lba);
            let mut c = cpu(0x4200, 0, 0, 0x0080);
            c.set_si(0x500);
            call(&mut b, &mut c);
            assert!(c.carry(), "size {size} count {count} lba {lba}");
        }
        // A flat 64-bit buffer beyond RAM.
        packet(&b, 0x500, 0x18, 1, (0xFFFF, 0xFFFF), 0);
        m.write_u64(0x510, 1 << 40).expect("w");
        let mut c = cpu(0x4200, 0, 0, 0x0080);
        c.set_si(0x500);
        call(&mut b, &mut c);
        assert!(c.carry());

        // AH=48h with a 0x1E-byte buffer.
        m.write_u16(0x700, 0x42).expect("w");
        let mut c = cpu(0x4800, 0, 0, 0x0080);
        c.set_si(0x700);
        call(&mut b, &mut c);
        assert!(!c.carry());
        assert_eq!(m.read_u16(0x700).expect("r"), 0x1E);
        assert_eq!(m.read_u64(0x710).expect("r"), 100);
        assert_eq!(m.read_u16(0x718).expect("r"), 512);
        m.write_u16(0x700, 0x10).expect("w");
        let mut c = cpu(0x4800, 0, 0, 0x0080);
        c.set_si(0x700);
        call(&mut b, &mut c);
        assert!(c.carry(), "buffer too small");
    }
}
