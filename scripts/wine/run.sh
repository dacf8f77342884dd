#!/usr/bin/env bash
# Runs a Windows (x86_64-pc-windows-gnu) executable under Wine and exits with its status.
#
#   scripts/wine/run.sh EXE [ARGS...]
#
# Usable as a cargo runner:
#   CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/scripts/wine/run.sh \
#     cargo test --target x86_64-pc-windows-gnu -p hv-windows
#
# What it does:
# * Builds bcryptprimitives.dll (the ProcessPrng shim, bcryptprimitives.c here) next to
#   EXE (and, for a test binary in a cargo deps/ directory, next to the package's
#   binaries one level up, which the tests start) when missing or older than its
#   source. Rust's std imports ProcessPrng, which Wine 8 lacks; Wine loads a DLL from
#   the program's directory first.
# * Uses a private prefix, ${CARGO_TARGET_DIR:-<repo>/target}/wine-prefix, created on
#   first use with `wineboot -i` (quietly, without Mono/Gecko, without a display).
# * Runs EXE with WINEDEBUG=-all and returns its exit status (a Rust test binary returns
#   101 when a test fails).
#
# Environment: HV_WINE64 (the wine64 binary, default /usr/lib/wine/wine64, then wine64
# on PATH), HV_MINGW_CC (default x86_64-w64-mingw32-gcc), HV_WINE_TIMEOUT (seconds EXE
# may run, default 1800; 0 = no limit).
#
# Exit status: EXE's status; 124 if it ran out of time; 125 if this script could not
# run it (missing tool, no EXE, prefix setup failed).
set -euo pipefail

die() {
    echo "scripts/wine/run.sh: $*" >&2
    exit 125
}

[[ $# -ge 1 ]] || die "usage: scripts/wine/run.sh EXE [ARGS...]"
exe=$1
shift
[[ -f $exe ]] || die "$exe: no such file"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

wine64=${HV_WINE64:-}
if [[ -z $wine64 ]]; then
    if [[ -x /usr/lib/wine/wine64 ]]; then
        wine64=/usr/lib/wine/wine64
    elif command -v wine64 >/dev/null 2>&1; then
        wine64=$(command -v wine64)
    fi
fi
[[ -n $wine64 && -x $wine64 ]] ||
    die "wine64 not found (install it: apt-get install wine64; or set HV_WINE64)"

# --- the ProcessPrng shim, next to the executable --------------------------------------
exe_dir=$(cd "$(dirname "$exe")" && pwd)
exe_path="$exe_dir/$(basename "$exe")"
shim_src="$here/bcryptprimitives.c"
# Cargo puts a package's binaries one level above deps/, where its test binaries live,
# and the tests start them (CARGO_BIN_EXE_*): hv.exe needs the shim beside it too.
shim_dirs=("$exe_dir")
if [[ $(basename "$exe_dir") == deps ]]; then
    shim_dirs+=("$(dirname "$exe_dir")")
fi
for dir in "${shim_dirs[@]}"; do
    shim="$dir/bcryptprimitives.dll"
    if [[ ! -f $shim || $shim_src -nt $shim ]]; then
        cc=${HV_MINGW_CC:-x86_64-w64-mingw32-gcc}
        command -v "$cc" >/dev/null 2>&1 ||
            die "$cc not found, needed once to build $shim (install it: apt-get install gcc-mingw-w64-x86-64; or set HV_MINGW_CC)"
        # Built under a private name and renamed, so runs started in parallel in the
        # same directory never load a half-written DLL.
        tmp="$dir/.bcryptprimitives.$$.dll"
        "$cc" -shared -O2 -o "$tmp" "$shim_src" -ladvapi32 ||
            { rm -f "$tmp"; die "could not build $shim"; }
        mv -f "$tmp" "$shim"
    fi
done

# --- a private Wine prefix --------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$repo/target}
case $target in
/*) ;;
*) target="$repo/$target" ;;
esac
export WINEPREFIX="$target/wine-prefix"
export WINEDEBUG=-all
# No Mono or Gecko installers (they would ask), no X display (console programs only).
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

mkdir -p "$target"
if [[ ! -f $WINEPREFIX/system.reg ]]; then
    command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"
    # One initialisation at a time; the others wait for it and then find it done.
    exec 9>"$target/wine-prefix.lock"
    flock 9
    if [[ ! -f $WINEPREFIX/system.reg ]]; then
        if ! timeout 300 "$wine64" wineboot -i >"$target/wine-prefix.log" 2>&1; then
            die "wineboot -i failed for $WINEPREFIX (see $target/wine-prefix.log)"
        fi
    fi
    flock -u 9
    exec 9>&-
fi

# --- run ------------------------------------------------------------------------------
limit=${HV_WINE_TIMEOUT:-1800}
status=0
if [[ $limit == 0 ]]; then
    "$wine64" "$exe_path" "$@" || status=$?
else
    timeout --kill-after=10 "$limit" "$wine64" "$exe_path" "$@" || status=$?
    if [[ $status == 124 ]]; then
        echo "scripts/wine/run.sh: $exe ran longer than ${limit}s and was stopped" >&2
    fi
fi
exit "$status"
