#!/usr/bin/env bash
# CI smoke test: boot the arm64 demo under QEMU's `virt` board (TCG) and check that
#   1. the PL011 banner appears,
#   2. the demo notices it has no hv ISA window (no i8042/VGA) and carries on,
#   3. the serial shell answers `help`,
#   4. `poweroff` (PSCI SYSTEM_OFF over HVC) makes QEMU exit with status 0.
# Usage: assets/arm64/qemu-smoke.sh [IMAGE]   (default: assets/arm64-demo.img)
# Needs Debian package: qemu-system-arm (provides qemu-system-aarch64).
# Exits non-zero on any failure; every wait is bounded (SMOKE_TIMEOUT, default 60 s).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${1:-$here/../arm64-demo.img}"
limit="${SMOKE_TIMEOUT:-60}"
QEMU="${QEMU:-qemu-system-aarch64}"

work="$(mktemp -d "${TMPDIR:-/tmp}/hv-arm64-smoke.XXXXXX")"
log="$work/serial.log"
qpid=""
cleanup() {
    exec 3>&- 2>/dev/null || true
    if [[ -n "$qpid" ]] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "qemu-smoke: FAIL: $*" >&2
    echo "---- serial output ----" >&2
    cat -v "$log" >&2 || true
    echo "-----------------------" >&2
    exit 1
}

[[ -f "$image" ]] || fail "no image at $image (run assets/arm64/build.sh)"
command -v "$QEMU" >/dev/null || fail "$QEMU not found (apt-get install qemu-system-arm)"

mkfifo "$work/stdin"
: > "$log"
timeout --kill-after=5 "$limit" "$QEMU" -M virt -cpu cortex-a57 -m 128M -nographic \
    -no-reboot -kernel "$image" < "$work/stdin" > "$log" 2>&1 &
qpid=$!
exec 3> "$work/stdin"   # QEMU's stdin stays open until we close it

deadline=$((SECONDS + limit))
wait_for() {  # wait_for TEXT: until the serial log contains TEXT, QEMU dies, or time is up
    until grep -qF -- "$1" "$log"; do
        kill -0 "$qpid" 2>/dev/null || fail "QEMU exited before printing '$1'"
        (( SECONDS < deadline )) || fail "timed out waiting for '$1'"
        sleep 0.2
    done
}

wait_for "hv arm64 demo"
wait_for "no hv,isa-window"
wait_for "type help"
printf 'help\r' >&3
wait_for "poweroff  PSCI SYSTEM_OFF"
printf 'poweroff\r' >&3
wait_for "bye"

status=0
wait "$qpid" || status=$?
qpid=""
(( status == 0 )) || fail "QEMU exited with status $status after poweroff (124 = timeout)"
echo "qemu-smoke: OK (banner, no-ISA fallback, serial shell, PSCI SYSTEM_OFF)"
