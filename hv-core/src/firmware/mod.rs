//! Firmware: what the guest finds in memory before its first instruction.

use crate::machine::pc::PcBoard;

/// Linear address of the default interrupt handler (`iret`) in the BIOS ROM, at the
/// place IBM's BIOS kept its dummy handler (F000:FF53).
pub const DEFAULT_HANDLER: u64 = 0xF_FF53;

/// Installs the firmware tables into freshly zeroed guest memory: an IVT whose every
/// vector returns at once, so a stray interrupt never jumps to address 0.
pub fn install(board: &PcBoard) -> crate::Result<()> {
    let mem = &board.shared.memory;
    mem.write(DEFAULT_HANDLER, &[0xCF])?; // iret
    let vector = (0xF000u32 << 16) | (DEFAULT_HANDLER as u32 & 0xFFFF);
    let ivt: Vec<u8> = (0..256).flat_map(|_| vector.to_le_bytes()).collect();
    mem.write(0, &ivt)?;
    Ok(())
}
