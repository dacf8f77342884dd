#!/usr/bin/env bash
# Rebuild the demo image from source into a temporary directory and compare it with the
# committed assets/demo.img. Exit 1 (with a message) when they differ. Used by CI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/hv-demo-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

"$here/build.sh" "$tmp/demo.img" >/dev/null
if cmp -s "$tmp/demo.img" "$here/demo.img"; then
    echo "check-reproducible: OK, assets/demo.img matches its sources ($(sha256sum < "$here/demo.img" | cut -d' ' -f1))"
else
    echo "check-reproducible: FAILED: assets/demo.img differs from a fresh build of assets/demo/." >&2
    echo "  committed: $(sha256sum < "$here/demo.img" | cut -d' ' -f1)" >&2
    echo "  rebuilt:   $(sha256sum < "$tmp/demo.img" | cut -d' ' -f1)" >&2
    echo "  Run assets/build.sh and commit assets/demo.img (toolchain: $(gcc --version | head -1); $(nasm -v))." >&2
    exit 1
fi
