#!/bin/sh
# Signs a freshly built binary with the Hypervisor.framework entitlement, then runs it.
#
# Usable as a cargo runner, so `cargo run` and `cargo test` work on Apple Silicon:
#   [target.aarch64-apple-darwin]
#   runner = "scripts/macos-codesign-run.sh"
# Cargo calls it as: macos-codesign-run.sh <binary> [args...]. Every build produces a new,
# unsigned binary, so it is re-signed every time (ad-hoc signature, no Apple ID needed).
set -eu

if [ "$#" -lt 1 ]; then
    echo "usage: $0 <binary> [args...]" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
entitlements="$here/../hv-apple/entitlements.plist"
binary=$1
shift

codesign --sign - --force --entitlements "$entitlements" "$binary"
exec "$binary" "$@"
