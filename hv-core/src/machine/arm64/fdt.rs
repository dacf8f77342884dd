//! The flattened device tree the board hands its guest in X0.
//!
//! Standard nodes follow the bindings Linux documents (memory, cpus with
//! `enable-method = "psci"`, `arm,psci-1.0`, `arm,armv8-timer`, `arm,gic-v3`,
//! `arm,pl011` + `arm,primecell` with a `fixed-clock`), laid out as QEMU `virt` does, so
//! an unmodified arm64 kernel finds its console and timer. hv's own devices are described
//! with hv compatibles so a guest can discover them instead of hard-coding addresses:
//!
//! ```text
//! isa@b000000      "hv,isa-window"  ISA-style I/O window: #address-cells = <2>
//!                                   (space, offset; space 1 = I/O ports, as the
//!                                   classic ISA binding), ranges map port p to
//!                                   0x0B00_0000 + p
//!   i8042@1,60     "hv,i8042"       reg = ports 0x60 and 0x64; keyboard + aux SPIs
//!   vga@1,3b0      "hv,vga"         reg = ports 0x3B0-0x3DF
//! vga-ram@a0000    "hv,vga-ram"     VGA memory (plain RAM, not in /memory)
//! ```
//!
//! Without the in-kernel GIC the tree has no interrupt controller and no `interrupts`
//! properties: the only IRQ is the vCPU's input line, and a guest polls device status.

use vm_fdt::FdtWriter;

use crate::error::{HvError, Result};

use super::layout::{
    self, GicRegions, ISA_WINDOW_BASE, ISA_WINDOW_SIZE, PL011_BASE, PL011_SIZE, RAM_BASE,
    VGA_RAM_BASE, VGA_RAM_SIZE,
};

/// Largest DTB the Linux boot protocol accepts (Documentation/arch/arm64/booting.rst).
pub const MAX_DTB_SIZE: usize = 2 << 20;

/// Interrupt specifier cell 0: shared peripheral interrupt.
const GIC_SPI: u32 = 0;
/// Interrupt specifier cell 0: private peripheral interrupt.
const GIC_PPI: u32 = 1;
/// Interrupt specifier cell 2: level-sensitive, active high.
const IRQ_LEVEL_HIGH: u32 = 4;
/// ISA binding address space for I/O ports.
const ISA_IO_SPACE: u32 = 1;

const PHANDLE_GIC: u32 = 1;
const PHANDLE_APB_PCLK: u32 = 2;
/// The PL011's reference clock as QEMU virt describes it (24 MHz).
const APB_PCLK_HZ: u32 = 24_000_000;

/// Path of the console node, for `/chosen/stdout-path`.
pub fn pl011_node_name() -> String {
    format!("pl011@{PL011_BASE:x}")
}

/// What the device tree describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtConfig {
    /// Main RAM in bytes (at [`RAM_BASE`]).
    pub ram_size: u64,
    /// vCPUs (hv runs one).
    pub vcpus: u32,
    /// The in-kernel GICv3, where it really is, if there is one.
    pub gic: Option<GicRegions>,
    /// Kernel command line for `/chosen/bootargs`.
    pub bootargs: String,
}

fn fdt_err(e: vm_fdt::Error) -> HvError {
    HvError::InvalidArgument(format!("building the device tree: {e}"))
}

/// Two-cell address + two-cell size, as `reg` under the root (#address-cells = 2).
fn reg64(pairs: &[(u64, u64)]) -> Vec<u64> {
    pairs.iter().flat_map(|&(a, s)| [a, s]).collect()
}

fn spi(n: u32) -> [u32; 3] {
    [GIC_SPI, n, IRQ_LEVEL_HIGH]
}

/// Builds the DTB.
pub fn build(cfg: &DtConfig) -> Result<Vec<u8>> {
    let mut fdt = FdtWriter::new().map_err(fdt_err)?;
    let root = fdt.begin_node("").map_err(fdt_err)?;
    fdt.property_string("compatible", "hv,arm64-board")
        .map_err(fdt_err)?;
    fdt.property_string("model", "hv arm64 board")
        .map_err(fdt_err)?;
    fdt.property_u32("#address-cells", 2).map_err(fdt_err)?;
    fdt.property_u32("#size-cells", 2).map_err(fdt_err)?;
    if cfg.gic.is_some() {
        fdt.property_u32("interrupt-parent", PHANDLE_GIC)
            .map_err(fdt_err)?;
    }

    chosen(&mut fdt, cfg)?;
    memory(&mut fdt, cfg)?;
    cpus(&mut fdt, cfg)?;
    psci(&mut fdt)?;
    if let Some(regions) = &cfg.gic {
        timer(&mut fdt)?;
        gic(&mut fdt, regions)?;
    } else {
        // The node still tells a kernel the architected timer exists; with no interrupt
        // controller it has no interrupts to name.
        let node = fdt.begin_node("timer").map_err(fdt_err)?;
        fdt.property_string("compatible", "arm,armv8-timer")
            .map_err(fdt_err)?;
        fdt.property_null("always-on").map_err(fdt_err)?;
        fdt.end_node(node).map_err(fdt_err)?;
    }
    apb_pclk(&mut fdt)?;
    pl011(&mut fdt, cfg)?;
    isa_window(&mut fdt, cfg)?;
    vga_ram(&mut fdt)?;

    fdt.end_node(root).map_err(fdt_err)?;
    let blob = fdt.finish().map_err(fdt_err)?;
    if blob.len() > MAX_DTB_SIZE {
        return Err(HvError::InvalidArgument(format!(
            "the device tree is {} bytes; the boot protocol allows {MAX_DTB_SIZE}",
            blob.len()
        )));
    }
    Ok(blob)
}

fn chosen(fdt: &mut FdtWriter, cfg: &DtConfig) -> Result<()> {
    let node = fdt.begin_node("chosen").map_err(fdt_err)?;
    fdt.property_string("stdout-path", &format!("/{}", pl011_node_name()))
        .map_err(fdt_err)?;
    fdt.property_string("bootargs", &cfg.bootargs)
        .map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn memory(fdt: &mut FdtWriter, cfg: &DtConfig) -> Result<()> {
    let node = fdt
        .begin_node(&format!("memory@{RAM_BASE:x}"))
        .map_err(fdt_err)?;
    fdt.property_string("device_type", "memory")
        .map_err(fdt_err)?;
    fdt.property_array_u64("reg", &reg64(&[(RAM_BASE, cfg.ram_size)]))
        .map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn cpus(fdt: &mut FdtWriter, cfg: &DtConfig) -> Result<()> {
    let node = fdt.begin_node("cpus").map_err(fdt_err)?;
    fdt.property_u32("#address-cells", 1).map_err(fdt_err)?;
    fdt.property_u32("#size-cells", 0).map_err(fdt_err)?;
    for id in 0..cfg.vcpus.max(1) {
        // reg = MPIDR_EL1 affinity (Aff0 = index), as the backends program it.
        let cpu = fdt.begin_node(&format!("cpu@{id:x}")).map_err(fdt_err)?;
        fdt.property_string("device_type", "cpu").map_err(fdt_err)?;
        fdt.property_string("compatible", "arm,armv8")
            .map_err(fdt_err)?;
        fdt.property_u32("reg", id).map_err(fdt_err)?;
        fdt.property_string("enable-method", "psci")
            .map_err(fdt_err)?;
        fdt.end_node(cpu).map_err(fdt_err)?;
    }
    fdt.end_node(node).map_err(fdt_err)
}

fn psci(fdt: &mut FdtWriter) -> Result<()> {
    let node = fdt.begin_node("psci").map_err(fdt_err)?;
    fdt.property_string_list(
        "compatible",
        vec!["arm,psci-1.0".into(), "arm,psci-0.2".into()],
    )
    .map_err(fdt_err)?;
    // The backends answer PSCI on HVC (arch::arm64::psci).
    fdt.property_string("method", "hvc").map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn timer(fdt: &mut FdtWriter) -> Result<()> {
    use layout::irq::{HTIMER_PPI, PTIMER_NS_PPI, PTIMER_S_PPI, VTIMER_PPI};
    let node = fdt.begin_node("timer").map_err(fdt_err)?;
    fdt.property_string("compatible", "arm,armv8-timer")
        .map_err(fdt_err)?;
    // Order fixed by the binding: secure phys, non-secure phys, virtual, hypervisor.
    let cells: Vec<u32> = [PTIMER_S_PPI, PTIMER_NS_PPI, VTIMER_PPI, HTIMER_PPI]
        .into_iter()
        .flat_map(|ppi| [GIC_PPI, ppi, IRQ_LEVEL_HIGH])
        .collect();
    fdt.property_array_u32("interrupts", &cells)
        .map_err(fdt_err)?;
    fdt.property_null("always-on").map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn gic(fdt: &mut FdtWriter, regions: &GicRegions) -> Result<()> {
    let node = fdt
        .begin_node(&format!("intc@{:x}", regions.dist_base))
        .map_err(fdt_err)?;
    fdt.property_string("compatible", "arm,gic-v3")
        .map_err(fdt_err)?;
    fdt.property_null("interrupt-controller").map_err(fdt_err)?;
    fdt.property_u32("#interrupt-cells", 3).map_err(fdt_err)?;
    fdt.property_u32("#redistributor-regions", 1)
        .map_err(fdt_err)?;
    // An interrupt provider states its child address format (dtc checks this); the GIC
    // has no children here (no ITS), so the empty ranges maps nothing.
    fdt.property_u32("#address-cells", 2).map_err(fdt_err)?;
    fdt.property_u32("#size-cells", 2).map_err(fdt_err)?;
    fdt.property_null("ranges").map_err(fdt_err)?;
    fdt.property_array_u64(
        "reg",
        &reg64(&[
            (regions.dist_base, regions.dist_size),
            (regions.redist_base, regions.redist_size),
        ]),
    )
    .map_err(fdt_err)?;
    fdt.property_phandle(PHANDLE_GIC).map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn apb_pclk(fdt: &mut FdtWriter) -> Result<()> {
    let node = fdt.begin_node("apb-pclk").map_err(fdt_err)?;
    fdt.property_string("compatible", "fixed-clock")
        .map_err(fdt_err)?;
    fdt.property_u32("#clock-cells", 0).map_err(fdt_err)?;
    fdt.property_u32("clock-frequency", APB_PCLK_HZ)
        .map_err(fdt_err)?;
    fdt.property_string("clock-output-names", "clk24mhz")
        .map_err(fdt_err)?;
    fdt.property_phandle(PHANDLE_APB_PCLK).map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn pl011(fdt: &mut FdtWriter, cfg: &DtConfig) -> Result<()> {
    let node = fdt.begin_node(&pl011_node_name()).map_err(fdt_err)?;
    fdt.property_string_list(
        "compatible",
        vec!["arm,pl011".into(), "arm,primecell".into()],
    )
    .map_err(fdt_err)?;
    fdt.property_array_u64("reg", &reg64(&[(PL011_BASE, PL011_SIZE)]))
        .map_err(fdt_err)?;
    if cfg.gic.is_some() {
        fdt.property_array_u32("interrupts", &spi(layout::irq::PL011_SPI))
            .map_err(fdt_err)?;
    }
    // The primecell binding wants the UART clock and the bus clock; one fixed clock
    // serves both, as on QEMU virt.
    fdt.property_array_u32("clocks", &[PHANDLE_APB_PCLK, PHANDLE_APB_PCLK])
        .map_err(fdt_err)?;
    fdt.property_string_list("clock-names", vec!["uartclk".into(), "apb_pclk".into()])
        .map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

fn isa_window(fdt: &mut FdtWriter, cfg: &DtConfig) -> Result<()> {
    let window = fdt
        .begin_node(&format!("isa@{ISA_WINDOW_BASE:x}"))
        .map_err(fdt_err)?;
    fdt.property_string("compatible", "hv,isa-window")
        .map_err(fdt_err)?;
    fdt.property_array_u64("reg", &reg64(&[(ISA_WINDOW_BASE, ISA_WINDOW_SIZE)]))
        .map_err(fdt_err)?;
    fdt.property_u32("#address-cells", 2).map_err(fdt_err)?;
    fdt.property_u32("#size-cells", 1).map_err(fdt_err)?;
    // (I/O space, port 0) -> CPU address ISA_WINDOW_BASE, for the whole port space.
    let (base_hi, base_lo) = ((ISA_WINDOW_BASE >> 32) as u32, ISA_WINDOW_BASE as u32);
    fdt.property_array_u32(
        "ranges",
        &[ISA_IO_SPACE, 0, base_hi, base_lo, ISA_WINDOW_SIZE as u32],
    )
    .map_err(fdt_err)?;

    let i8042 = fdt.begin_node("i8042@1,60").map_err(fdt_err)?;
    fdt.property_string("compatible", "hv,i8042")
        .map_err(fdt_err)?;
    fdt.property_array_u32("reg", &[ISA_IO_SPACE, 0x60, 1, ISA_IO_SPACE, 0x64, 1])
        .map_err(fdt_err)?;
    if cfg.gic.is_some() {
        let cells: Vec<u32> = [layout::irq::KEYBOARD_SPI, layout::irq::MOUSE_SPI]
            .into_iter()
            .flat_map(spi)
            .collect();
        fdt.property_array_u32("interrupts", &cells)
            .map_err(fdt_err)?;
        fdt.property_string_list("interrupt-names", vec!["kbd".into(), "aux".into()])
            .map_err(fdt_err)?;
    }
    fdt.end_node(i8042).map_err(fdt_err)?;

    let vga = fdt.begin_node("vga@1,3b0").map_err(fdt_err)?;
    fdt.property_string("compatible", "hv,vga")
        .map_err(fdt_err)?;
    fdt.property_array_u32(
        "reg",
        &[
            ISA_IO_SPACE,
            crate::devices::vga::PORT_BASE as u32,
            crate::devices::vga::PORT_COUNT as u32,
        ],
    )
    .map_err(fdt_err)?;
    fdt.end_node(vga).map_err(fdt_err)?;

    fdt.end_node(window).map_err(fdt_err)
}

fn vga_ram(fdt: &mut FdtWriter) -> Result<()> {
    let node = fdt
        .begin_node(&format!("vga-ram@{VGA_RAM_BASE:x}"))
        .map_err(fdt_err)?;
    fdt.property_string("compatible", "hv,vga-ram")
        .map_err(fdt_err)?;
    fdt.property_array_u64("reg", &reg64(&[(VGA_RAM_BASE, VGA_RAM_SIZE)]))
        .map_err(fdt_err)?;
    fdt.end_node(node).map_err(fdt_err)
}

#[cfg(test)]
mod tests {
    use super::super::fdt_reader::{Fdt, Node};
    use super::*;

    fn config(gic: bool) -> DtConfig {
        DtConfig {
            ram_size: 64 << 20,
            vcpus: 1,
            gic: gic.then(|| GicRegions::qemu_virt(1)),
            bootargs: "console=ttyAMA0".into(),
        }
    }

    fn parse(gic: bool) -> Fdt {
        let blob = build(&config(gic)).expect("build");
        Fdt::parse(&blob).expect("parses back")
    }

    fn node<'a>(fdt: &'a Fdt, path: &str) -> &'a Node {
        fdt.node(path)
            .unwrap_or_else(|| panic!("{path} missing; tree: {:?}", fdt.paths()))
    }

    #[test]
    fn root_memory_chosen() {
        let fdt = parse(true);
        let root = node(&fdt, "/");
        assert_eq!(root.strings("compatible"), ["hv,arm64-board"]);
        assert_eq!(root.u32("#address-cells"), Some(2));
        assert_eq!(root.u32("#size-cells"), Some(2));
        assert_eq!(root.u32("interrupt-parent"), Some(PHANDLE_GIC));
        let mem = node(&fdt, "/memory@40000000");
        assert_eq!(mem.strings("device_type"), ["memory"]);
        assert_eq!(mem.u64s("reg"), [0x4000_0000, 64 << 20]);
        let chosen = node(&fdt, "/chosen");
        assert_eq!(chosen.strings("stdout-path"), ["/pl011@9000000"]);
        assert_eq!(chosen.strings("bootargs"), ["console=ttyAMA0"]);
        assert!(fdt.node("/pl011@9000000").is_some(), "stdout-path resolves");
    }

    #[test]
    fn cpus_psci_timer() {
        let fdt = parse(true);
        let cpus = node(&fdt, "/cpus");
        assert_eq!(cpus.u32("#address-cells"), Some(1));
        assert_eq!(cpus.u32("#size-cells"), Some(0));
        let cpu = node(&fdt, "/cpus/cpu@0");
        assert_eq!(cpu.strings("device_type"), ["cpu"]);
        assert_eq!(cpu.u32("reg"), Some(0));
        assert_eq!(cpu.strings("enable-method"), ["psci"]);
        let psci = node(&fdt, "/psci");
        assert_eq!(psci.strings("compatible"), ["arm,psci-1.0", "arm,psci-0.2"]);
        assert_eq!(psci.strings("method"), ["hvc"]);
        let timer = node(&fdt, "/timer");
        assert_eq!(timer.strings("compatible"), ["arm,armv8-timer"]);
        let irqs = timer.u32s("interrupts");
        assert_eq!(irqs.len(), 12);
        // The virtual timer is the third entry: PPI 11 = INTID 27, level high.
        assert_eq!(&irqs[6..9], [1, 11, 4]);
        assert!(timer.has("always-on"));
    }

    #[test]
    fn gic_node() {
        let fdt = parse(true);
        let gic = node(&fdt, "/intc@8000000");
        assert_eq!(gic.strings("compatible"), ["arm,gic-v3"]);
        assert!(gic.has("interrupt-controller"));
        assert_eq!(gic.u32("#interrupt-cells"), Some(3));
        assert_eq!(
            gic.u64s("reg"),
            [0x0800_0000, 0x1_0000, 0x080A_0000, 0x2_0000]
        );
        assert_eq!(gic.u32("phandle"), Some(PHANDLE_GIC));
    }

    #[test]
    fn the_gic_node_describes_the_regions_it_is_given() {
        let regions = GicRegions {
            dist_base: 0x0801_0000,
            dist_size: 0x2_0000,
            redist_base: 0x0810_0000,
            redist_size: 0x4_0000,
            redist_reserved: 0x40_0000,
        };
        let blob = build(&DtConfig {
            gic: Some(regions),
            ..config(true)
        })
        .expect("build");
        let fdt = Fdt::parse(&blob).expect("parses back");
        let gic = node(&fdt, "/intc@8010000");
        assert_eq!(
            gic.u64s("reg"),
            [0x0801_0000, 0x2_0000, 0x0810_0000, 0x4_0000]
        );
    }

    #[test]
    fn pl011_and_its_clock() {
        let fdt = parse(true);
        let uart = node(&fdt, "/pl011@9000000");
        assert_eq!(uart.strings("compatible"), ["arm,pl011", "arm,primecell"]);
        assert_eq!(uart.u64s("reg"), [0x0900_0000, 0x1000]);
        assert_eq!(uart.u32s("interrupts"), [0, 1, 4]);
        assert_eq!(uart.u32s("clocks"), [PHANDLE_APB_PCLK, PHANDLE_APB_PCLK]);
        assert_eq!(uart.strings("clock-names"), ["uartclk", "apb_pclk"]);
        let clk = node(&fdt, "/apb-pclk");
        assert_eq!(clk.strings("compatible"), ["fixed-clock"]);
        assert_eq!(clk.u32("#clock-cells"), Some(0));
        assert_eq!(clk.u32("clock-frequency"), Some(24_000_000));
        assert_eq!(clk.u32("phandle"), Some(PHANDLE_APB_PCLK));
    }

    #[test]
    fn hv_windows_are_discoverable() {
        let fdt = parse(true);
        let isa = node(&fdt, "/isa@b000000");
        assert_eq!(isa.strings("compatible"), ["hv,isa-window"]);
        assert_eq!(isa.u64s("reg"), [0x0B00_0000, 0x1_0000]);
        assert_eq!(isa.u32s("ranges"), [1, 0, 0, 0x0B00_0000, 0x1_0000]);
        let kbd = node(&fdt, "/isa@b000000/i8042@1,60");
        assert_eq!(kbd.strings("compatible"), ["hv,i8042"]);
        assert_eq!(kbd.u32s("reg"), [1, 0x60, 1, 1, 0x64, 1]);
        assert_eq!(kbd.u32s("interrupts"), [0, 10, 4, 0, 11, 4]);
        let vga = node(&fdt, "/isa@b000000/vga@1,3b0");
        assert_eq!(vga.strings("compatible"), ["hv,vga"]);
        assert_eq!(vga.u32s("reg"), [1, 0x3B0, 0x30]);
        let ram = node(&fdt, "/vga-ram@a0000");
        assert_eq!(ram.strings("compatible"), ["hv,vga-ram"]);
        assert_eq!(ram.u64s("reg"), [0xA_0000, 0x2_0000]);
        assert!(
            fdt.paths()
                .iter()
                .filter(|p| p.starts_with("/memory"))
                .count()
                == 1,
            "VGA memory is not general-purpose RAM"
        );
    }

    #[test]
    fn without_a_gic_there_are_no_interrupt_properties() {
        let fdt = parse(false);
        assert!(fdt.node("/intc@8000000").is_none());
        for path in fdt.paths() {
            let n = node(&fdt, &path);
            assert!(!n.has("interrupts"), "{path}");
            assert!(!n.has("interrupt-parent"), "{path}");
        }
        assert!(fdt.node("/timer").is_some());
        assert!(fdt.node("/isa@b000000/i8042@1,60").is_some());
    }

    #[test]
    fn blob_is_small_and_valid() {
        let blob = build(&config(true)).expect("build");
        assert!(blob.len() < 4096, "{} bytes", blob.len());
        assert_eq!(&blob[..4], &[0xD0, 0x0D, 0xFE, 0xED]);
    }
}
