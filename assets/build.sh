#!/usr/bin/env bash
# Build the hv demo OS image from source.
#   assets/build.sh            -> writes assets/demo.img
#   assets/build.sh OUT.img    -> writes OUT.img instead
# Needs Debian packages: nasm, gcc, binutils (freestanding -m32 code needs no gcc-multilib).
# The output is reproducible bit for bit: no timestamps or paths end up in the flat
# binaries, and the inputs are compiled and linked in a fixed order.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/demo"
out="${1:-$here/demo.img}"
build="$(mktemp -d "${TMPDIR:-/tmp}/hv-demo-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT

export LC_ALL=C
unset SOURCE_DATE_EPOCH

CC="${CC:-gcc}"
CFLAGS=(
    -m32 -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -nostdinc -isystem "$("$CC" -m32 -print-file-name=include)"
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables
    -fno-ident -fcf-protection=none -mno-red-zone
    --param=min-pagesize=0  # low fixed addresses (boot info at 0x500) are valid here
    # Kernel code must be integer-only: x87/SSE/MMX at CPL 0 kill the guest on the
    # software-assisted KVM this project tests on.
    -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
    -Wall -Wextra -Werror
    "-ffile-prefix-map=$src=demo" "-ffile-prefix-map=$build=build"
)

asm_sources=(entry font8x16)
c_sources=(kmain cpu interrupts serial console lib i8042 keyboard keymap shell vga cmos usermode
           cmd_system cmd_keys cmd_colors cmd_mode13 cmd_user)

objects=()
for name in "${asm_sources[@]}"; do
    nasm -f elf32 -o "$build/$name.o" "$src/$name.asm"
    objects+=("$build/$name.o")
done
for name in "${c_sources[@]}"; do
    "$CC" "${CFLAGS[@]}" -c -o "$build/$name.o" "$src/$name.c"
    objects+=("$build/$name.o")
done

ld -m elf_i386 --build-id=none -nostdlib --no-warn-rwx-segments -T "$src/kernel.ld" -o "$build/kernel.elf" "${objects[@]}"
objcopy -O binary "$build/kernel.elf" "$build/kernel.bin"

# Refuse any x87/SSE/MMX instruction in the kernel (they kill the guest at CPL 0 here).
# (Captured in a variable first: with pipefail, `objdump | grep -q` would see SIGPIPE.)
disasm="$(objdump -d --no-show-raw-insn -M intel "$build/kernel.elf" | awk -F'\t' 'NF >= 2 { print $2 }')"
fp_insns="$(grep -E '^(f[a-z0-9]*|emms|ldmxcsr|stmxcsr)( |$)|xmm|ymm|\<mm[0-7]\>|\<st\(' <<<"$disasm" || true)"
if [[ -n "$fp_insns" ]]; then
    echo "build.sh: floating point / SIMD instructions found in the kernel:" >&2
    head <<<"$fp_insns" >&2
    exit 1
fi

kernel_size=$(stat -c %s "$build/kernel.bin")
kernel_sectors=$(( (kernel_size + 511) / 512 ))
if (( kernel_sectors > 440 )); then
    echo "build.sh: kernel too large ($kernel_sectors sectors; 0x10000-0x80000 holds 896)" >&2
    exit 1
fi

nasm -f bin -D "KERNEL_SECTORS=$kernel_sectors" -o "$build/boot.bin" "$src/boot.asm"
[[ $(stat -c %s "$build/boot.bin") == 512 ]] || { echo "build.sh: boot sector is not 512 bytes" >&2; exit 1; }

# image = boot sector + kernel, padded with zeros to whole sectors
cp "$build/boot.bin" "$build/demo.img"
cat "$build/kernel.bin" >> "$build/demo.img"
truncate -s $(( (1 + kernel_sectors) * 512 )) "$build/demo.img"
mv "$build/demo.img" "$out"
echo "built $out: $(stat -c %s "$out") bytes (boot sector + $kernel_sectors kernel sectors)"
