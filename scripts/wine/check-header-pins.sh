#!/usr/bin/env bash
# Checks the header column of hv-windows/src/pins.rs against the headers themselves:
# builds whp-header-probe.c against the mingw-w64 copies of WinHvPlatformDefs.h and
# WinHvEmulation.h, runs it under Wine (scripts/wine/run.sh), and compares every value
# it prints with the row of the same name in pins.rs.
#
#   scripts/wine/check-header-pins.sh
#
# Exits 0 when every pinned row was printed by the probe with the same value.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pins="$repo/hv-windows/src/pins.rs"
target=${CARGO_TARGET_DIR:-$repo/target}
case $target in
/*) ;;
*) target="$repo/$target" ;;
esac
out="$target/whp-header-probe"
mkdir -p "$out"

cc=${HV_MINGW_CC:-x86_64-w64-mingw32-gcc}
command -v "$cc" >/dev/null 2>&1 || {
    echo "check-header-pins: $cc not found (apt-get install gcc-mingw-w64-x86-64)" >&2
    exit 125
}
"$cc" -Wall -Wextra -Werror -O0 -o "$out/whp-header-probe.exe" "$here/whp-header-probe.c"
"$here/run.sh" "$out/whp-header-probe.exe" | tr -d '\r' | sort >"$out/probe.txt"

# "name value" for every row of pins.rs up to the self-test, values in decimal. WINERROR
# rows are skipped (mingw-w64's winerror.h has no WHV_E_* codes).
awk '
    /fn the_check_catches_mismatches/ { exit }
    /fn emulator_status_bits/ { in_status = 1; bit = 0 }
    in_status && /^    \];/ { in_status = 0 }
    in_status && /^        "[A-Za-z]+",$/ {
        name = $0; gsub(/[ ",]/, "", name); print name "\t" bit++; next
    }
    /(sys|own|layout)!\(/ && !/WINERROR/ && !/\$/ {
        line = $0
        sub(/.*(sys|own|layout)!\(/, "", line)
        sub(/^(DEFS|EMU), /, "", line)
        if (line ~ /^"/) {                     # own!/layout!: "NAME", VALUE, ...
            name = line; sub(/^"/, "", name); sub(/".*/, "", name)
            value = line; sub(/^"[^"]*", /, "", value); sub(/,.*/, "", value)
        } else {                               # sys!: VALUE, NAME)
            value = line; sub(/,.*/, "", value)
            name = line; sub(/^[^,]*, /, "", name); sub(/\).*/, "", name)
        }
        gsub(/_/, "", value)
        print name "\t" value
    }
' "$pins" | while IFS=$'\t' read -r name value; do
    printf '%s %d\n' "$name" "$value"
done | sort >"$out/pins.txt"

# The probe prints hex; convert to decimal for the comparison.
while read -r line; do
    name=${line% *}
    value=${line##* }
    printf '%s %d\n' "$name" "$value"
done <"$out/probe.txt" | sort >"$out/probe-dec.txt"

rows=$(wc -l <"$out/pins.txt")
missing=$(comm -23 "$out/pins.txt" "$out/probe-dec.txt")
if [[ -n $missing ]]; then
    echo "check-header-pins: these pins.rs rows disagree with the headers (or the probe lacks them):" >&2
    echo "$missing" >&2
    echo "probe output: $out/probe.txt" >&2
    exit 1
fi
echo "check-header-pins: all $rows header rows of pins.rs match the mingw-w64 headers"
