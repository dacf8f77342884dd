#!/usr/bin/env bash
# Build the hv arm64 demo image from source.
#   assets/arm64/build.sh            -> writes assets/arm64-demo.img
#   assets/arm64/build.sh OUT.img    -> writes OUT.img instead
# Needs Debian packages: gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu.
# Reproducible bit for bit: a flat binary has no timestamps, paths are remapped, no build
# ID is emitted, and inputs are compiled and linked in a fixed order.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src"
out="${1:-$here/../arm64-demo.img}"
build="$(mktemp -d "${TMPDIR:-/tmp}/hv-arm64-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT

export LC_ALL=C
unset SOURCE_DATE_EPOCH

CROSS="${CROSS:-aarch64-linux-gnu-}"
CFLAGS=(
    -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -nostdinc
    -isystem "$("${CROSS}gcc" -print-file-name=include)"
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
    -fno-unwind-tables -fno-ident
    # The MMU is off, so all memory is Device memory: no unaligned accesses, and no
    # FP/SIMD (the image does not rely on CPACR_EL1.FPEN being set).
    -mgeneral-regs-only -mstrict-align -mcmodel=small
    -Wall -Wextra -Werror
    "-ffile-prefix-map=$src=src" "-ffile-prefix-map=$build=build"
)

objects=("$build/start.o")
"${CROSS}gcc" "${CFLAGS[@]}" -c -o "$build/start.o" "$src/start.S"
for name in main console kbd fdt; do
    "${CROSS}gcc" "${CFLAGS[@]}" -c -o "$build/$name.o" "$src/$name.c"
    objects+=("$build/$name.o")
done
"${CROSS}ld" -nostdlib -static --build-id=none -z noexecstack --no-warn-rwx-segments -T "$src/link.ld" \
    -o "$build/demo.elf" "${objects[@]}"
"${CROSS}objcopy" -O binary "$build/demo.elf" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
