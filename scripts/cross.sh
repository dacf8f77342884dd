#!/usr/bin/env bash
# Runs a cargo command for another target with the system Rust toolchain, which carries the
# standard library's sources, so std is built from source for targets rustup cannot fetch:
#
#   scripts/cross.sh x86_64-pc-windows-msvc clippy --workspace --all-targets -- -D warnings
#   scripts/cross.sh x86_64-pc-windows-gnu test --no-run -p hv-core
#
# Needs Debian's rustc-web, cargo-web and rust-web-src (and rust-web-clippy for clippy):
# they install /usr/bin/cargo and /usr/bin/rustc. rustup's toolchain may stay first in
# PATH for everything else; this script puts /usr/bin first for its own command only.
# Each target gets its own target directory (target/cross/<triple>) so builds for one
# target never invalidate another's.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: scripts/cross.sh TRIPLE CARGO-SUBCOMMAND [ARGS...]" >&2
  exit 2
fi
triple=$1
sub=$2
shift 2

if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "scripts/cross.sh: needs the system toolchain with std sources" \
       "(apt-get install rustc-web cargo-web rust-web-src rust-web-clippy)" >&2
  exit 1
fi

export PATH="/usr/bin:$PATH"
# -Zbuild-std is unstable; the system toolchain is a stable release, so opt in.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${HV_CROSS_TARGET_DIR:-$PWD/target/cross}/$triple"
case "$triple" in
  x86_64-pc-windows-gnu)
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    ;;
esac

# Cargo wants `-Z` flags before `--` arguments; the subcommand comes first.
exec cargo "$sub" -Zbuild-std=std,panic_abort --target "$triple" "$@"
