//! Firmware: what the guest finds in memory before its first instruction.

use crate::hypervisor::VcpuX86;
use crate::machine::pc::PcBoard;

/// The port BIOS ROM stubs write their vector number to, to have the VMM perform the
/// service.
pub const TRAP_PORT: u16 = 0xEF;

/// Performs BIOS service `vector` for the stub that trapped. (The minimal firmware has
/// no services yet: the request is ignored.)
pub fn service<V: VcpuX86>(vector: u8, _vcpu: &mut V, _board: &mut PcBoard) -> crate::Result<()> {
    log::debug!("BIOS service {vector:#04x} requested but not implemented");
    Ok(())
}

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
