#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for SECONDS each (default 60), one at a time,
# and prints execs and coverage per target from libFuzzer's final stats.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Each target starts from its checked-in seeds (fuzz/corpus/<target>/) plus whatever
# earlier runs found (kept in fuzz/target/corpus/<target>/, not in git). A crash stops
# the script with status 1 and leaves the input in fuzz/artifacts/<target>/; reproduce
# with `cd fuzz && cargo +nightly fuzz run <target> artifacts/<target>/<file>`.
# CI runs `scripts/fuzz.sh 20` as a smoke test.
set -euo pipefail

secs="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build >/dev/null 2>&1 || cargo +nightly fuzz build  # show errors

logdir="$root/fuzz/target/fuzz-logs"
mkdir -p "$logdir"
printf '%-12s %12s %10s %8s %8s %7s  %s\n' target execs execs/s cov ft corpus result
status=0
for t in "${targets[@]}"; do
    work="$root/fuzz/target/corpus/$t"
    mkdir -p "$work"
    log="$logdir/$t.log"
    set +e
    # -rss_limit_mb: a target that leaks or balloons fails instead of eating the host.
    cargo +nightly fuzz run "$t" "$work" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
        -timeout=10 >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.*corp: ([0-9]+)\/.*/\1/p' <<<"$last")
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (status $rc; see $log)"
        status=1
    fi
    printf '%-12s %12s %10s %8s %8s %7s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
    if [ "$rc" -ne 0 ]; then
        grep -m1 -A3 -E 'panicked at|ERROR: libFuzzer' "$log" | sed 's/^/    /' || true
        ls "$root/fuzz/artifacts/$t/" 2>/dev/null | sed "s|^|    artifact: fuzz/artifacts/$t/|" || true
    fi
done
exit "$status"
