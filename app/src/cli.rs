//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// hv runs small OS images on this computer's hardware virtualization and shows them in a
/// window.
#[derive(Debug, Parser)]
#[command(name = "hv", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
// Parsed once per process; boxing `RunArgs` would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot an image (the bundled demo OS when IMAGE is omitted).
    Run(RunArgs),
    /// Measure exit cost, keystroke latency, rendering, start-up, idle CPU and memory
    /// against baselines taken in the same run (Linux/KVM).
    Bench(BenchArgs),
    /// Check this computer's hypervisor: run hv's backend conformance suite on it and
    /// print, per case, pass or fail with the reason, with the OS and what the hypervisor
    /// offers. Run it first on a new machine; paste its output into bug reports.
    Selftest,
}

/// How to read the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Decide from the image's content.
    Auto,
    /// A boot sector or disk image: a floppy (drive 0x00) if its size is a floppy size, else a hard disk (0x80).
    Bootsector,
    /// A floppy image (drive 0x00); other sizes are padded to 1.44M (2.88M if larger).
    Floppy,
    /// A hard-disk image (drive 0x80); sector 0 must end in 0x55AA.
    Disk,
    /// A Multiboot 1 kernel (ELF32, or any file with the header's address fields).
    Multiboot,
    /// A Linux bzImage (64-bit boot protocol).
    Bzimage,
    /// Raw real-mode code loaded at --load-addr (default 0x7C00), entered like a boot sector.
    Flat,
}

/// `hv run` options.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The image to boot.
    pub image: Option<PathBuf>,
    /// Run without a window.
    #[arg(long)]
    pub headless: bool,
    /// Guest RAM in MiB.
    #[arg(long, default_value_t = 64, value_name = "MiB")]
    pub memory: u64,
    /// Image format.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Load address for --format flat (real-mode linear address, e.g. 0x7c00).
    #[arg(long, value_parser = parse_u16, value_name = "ADDR")]
    pub load_addr: Option<u16>,
    /// Kernel command line (multiboot and bzImage kernels).
    #[arg(long, value_name = "TEXT")]
    pub append: Option<String>,
    /// Initial ramdisk for a Linux bzImage.
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<PathBuf>,
    /// A multiboot module, with an optional string after a comma (repeatable; loaded in order).
    #[arg(long = "module", value_name = "PATH[,ARGS]")]
    pub modules: Vec<String>,
    /// Let the guest write to a disk image file (default: writes stay in memory and are lost at exit).
    #[arg(long)]
    pub writable: bool,
    /// Where COM1's output goes: stdio, none, or a file path.
    #[arg(long, default_value = "stdio", value_name = "stdio|none|PATH")]
    pub serial: String,
    /// Type this text into the guest's keyboard (\n is Enter, \t Tab, \b Backspace, \e Esc, \\ a backslash).
    #[arg(long, value_name = "TEXT")]
    pub r#type: Option<String>,
    /// Start typing --type only once TEXT is on the VGA text screen or in the serial output
    /// (e.g. the guest's prompt), so no keystroke races the guest's keyboard setup.
    #[arg(long, value_name = "TEXT", requires = "type")]
    pub type_after: Option<String>,
    /// End with status 0 as soon as TEXT is on the VGA text screen or in the serial output.
    #[arg(long, value_name = "TEXT")]
    pub until_text: Option<String>,
    /// End with status 124 if the run is not over after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Write the final text screen to PATH as UTF-8.
    #[arg(long, value_name = "PATH")]
    pub dump_screen: Option<PathBuf>,
    /// Write the final frame to PATH as PNG.
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// Stop instead of resetting when the guest triple-faults.
    #[arg(long)]
    pub no_reboot: bool,
    /// Window: start with N guest pixels per screen point (integer; the window then
    /// scales by whole factors as it is resized). Default: as large as fits, up to 2.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: Option<u32>,
    /// Window: the key that starts shortcuts (Host+G grab, +Del Ctrl-Alt-Del, +P pause,
    /// +R reset, +S screenshot, +O overlay, +Q quit) and never reaches the guest.
    /// A key code name: ControlRight, AltRight, MetaRight, ContextMenu, ScrollLock, ...
    /// Default: ControlRight (Right Ctrl) on Linux and Windows, AltRight (Right Option) on macOS.
    #[arg(long, value_name = "KEY", value_parser = crate::window::hostkeys::parse_host_key)]
    pub host_key: Option<hv_core::devices::keymap::Key>,
}

/// `hv bench` options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw exit cost and keystroke latency distributions into this PNG.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Repetitions of each timed measurement (medians are reported).
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub reps: usize,
    /// Key events per keystroke-latency scenario.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub presses: usize,
    /// How long the idle guest is watched.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub idle_secs: f64,
    /// Skip the callgrind instruction counts (they take about a minute).
    #[arg(long)]
    pub no_callgrind: bool,
    /// Run only these sections (exit, callgrind, keys, render, startup, idle); all by default.
    #[arg(long, value_delimiter = ',', value_name = "SECTION,...")]
    pub only: Vec<String>,
    /// Internal: run one child role of the bench.
    #[arg(long, hide = true, value_name = "SPEC")]
    pub child: Option<String>,
}

fn parse_u16(s: &str) -> Result<u16, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse::<u32>(),
    }
    .map_err(|e| format!("{s}: {e}"))?;
    u16::try_from(v).map_err(|_| {
        format!("{s} does not fit in 16 bits (real-mode load addresses are below 0x10000)")
    })
}

/// Expands the escapes `--type` understands.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') | Some('r') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('b') => out.push('\x08'),
            Some('e') => out.push('\x1b'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"ls\n"), "ls\n");
        assert_eq!(unescape(r"a\tb\\c\e\b\q\"), "a\tb\\c\x1b\x08\\q\\");
    }

    #[test]
    fn load_addr_parsing() {
        assert_eq!(parse_u16("0x7c00"), Ok(0x7c00));
        assert_eq!(parse_u16("31744"), Ok(0x7c00));
        assert!(parse_u16("0x10000").is_err());
        assert!(parse_u16("zz").is_err());
    }

    #[test]
    fn cli_parses() {
        Cli::command_for_test();
    }

    impl Cli {
        fn command_for_test() {
            use clap::CommandFactory;
            Cli::command().debug_assert();
        }
    }
}
