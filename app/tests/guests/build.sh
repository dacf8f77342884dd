#!/usr/bin/env bash
# Build the integration tests' guests from the sources in this directory.
#   app/tests/guests/build.sh           -> writes app/tests/guests/prebuilt/
#   app/tests/guests/build.sh OUTDIR    -> writes OUTDIR instead (created if missing)
#
# Outputs: one flat binary <name>.bin per <name>.asm here (nasm -f bin), and
# multiboot.elf, the multiboot C kernel (multiboot/: boot.asm + kernel.c + link.ld).
# The tests load the committed files in prebuilt/; they never run nasm, gcc or ld.
#
# Needs Debian packages: nasm, gcc, binutils (freestanding -m32 code needs only gcc's own
# headers, not gcc-multilib).
#
# Reproducible bit for bit with the same toolchain: nasm's flat output has no metadata;
# for the ELF the compiler runs from this directory on relative paths (and
# -ffile-prefix-map covers anything absolute), -fno-ident drops the .comment section,
# --build-id=none drops the note, link.ld fixes the section order, and the locale is C.
# check-reproducible.sh rebuilds into a temporary directory and compares.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/prebuilt}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
build="$(mktemp -d "${TMPDIR:-/tmp}/hv-guests-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT

export LC_ALL=C
unset SOURCE_DATE_EPOCH
cd "$here"

CC="${CC:-gcc}"
NASM_FLAGS=(-w+all -Werror -I ./)
CFLAGS=(
    -m32 -std=c11 -O2 -ffreestanding -nostdlib -nostdinc -isystem "$("$CC" -m32 -print-file-name=include)"
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables
    -fno-ident -fcf-protection=none
    # Integer-only: x87/SSE/MMX at CPL 0 kill the guest on the software-assisted KVM
    # this project tests on.
    -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
    -Wall -Wextra -Werror
    "-ffile-prefix-map=$here=guests" "-ffile-prefix-map=$build=build"
)

# Flat guests, in a fixed (C-locale sorted) order.
count=0
for src in *.asm; do
    name="${src%.asm}"
    nasm -f bin "${NASM_FLAGS[@]}" -o "$build/$name.bin" "$src"
    count=$((count + 1))
done

# The multiboot kernel: objects linked in a fixed order by link.ld.
nasm -f elf32 "${NASM_FLAGS[@]}" -o "$build/mb_boot.o" multiboot/boot.asm
"$CC" "${CFLAGS[@]}" -c -o "$build/mb_kernel.o" multiboot/kernel.c
ld -m elf_i386 --build-id=none -nostdlib -T multiboot/link.ld \
    -o "$build/multiboot.elf" "$build/mb_boot.o" "$build/mb_kernel.o"

# Refuse x87/SSE/MMX in the kernel (see CFLAGS). Captured first: with pipefail,
# `objdump | grep -q` could see SIGPIPE.
disasm="$(objdump -d --no-show-raw-insn -M intel "$build/multiboot.elf" | awk -F'\t' 'NF >= 2 { print $2 }')"
fp_insns="$(grep -E '^(f[a-z0-9]*|emms|ldmxcsr|stmxcsr)( |$)|xmm|ymm|\<mm[0-7]\>|\<st\(' <<<"$disasm" || true)"
if [[ -n "$fp_insns" ]]; then
    echo "build.sh: floating point / SIMD instructions found in multiboot.elf:" >&2
    head <<<"$fp_insns" >&2
    exit 1
fi

# Replace the outputs only once everything built. In prebuilt/, also drop binaries whose
# source is gone (a renamed guest must not leave its old binary committed).
if [[ "$out" == "$here/prebuilt" ]]; then
    for old in "$out"/*.bin; do
        if [[ -e "$old" && ! -e "$build/$(basename "$old")" ]]; then
            rm -f "$old"
        fi
    done
fi
cp "$build"/*.bin "$build/multiboot.elf" "$out/"
chmod 0644 "$out"/*.bin "$out/multiboot.elf"
echo "built $count flat guests and multiboot.elf into $out"
