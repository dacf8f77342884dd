#!/usr/bin/env bash
# Rebuild the test guests from source into a temporary directory and compare them with
# the committed app/tests/guests/prebuilt/. Exits 1, naming every file that differs, is
# missing or is left over. Used by CI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
committed="$here/prebuilt"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/hv-guests-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

"$here/build.sh" "$tmp" >/dev/null

export LC_ALL=C
bad=()
for f in "$tmp"/*; do
    name="$(basename "$f")"
    if [[ ! -e "$committed/$name" ]]; then
        bad+=("$name (not committed)")
    elif ! cmp -s "$f" "$committed/$name"; then
        bad+=("$name (differs: committed $(sha256sum < "$committed/$name" | cut -c1-16), rebuilt $(sha256sum < "$f" | cut -c1-16))")
    fi
done
for f in "$committed"/*; do
    name="$(basename "$f")"
    [[ -e "$tmp/$name" ]] || bad+=("$name (committed, but no source builds it)")
done

total=$(find "$tmp" -maxdepth 1 -type f | wc -l)
if (( ${#bad[@]} == 0 )); then
    echo "check-reproducible: OK, all $total files in app/tests/guests/prebuilt/ match their sources"
    exit 0
fi
echo "check-reproducible: FAILED: app/tests/guests/prebuilt/ does not match a fresh build:" >&2
printf '  %s\n' "${bad[@]}" >&2
echo "  Rebuild with app/tests/guests/build.sh and commit app/tests/guests/prebuilt/" >&2
echo "  (toolchain here: $(nasm -v); $(gcc --version | head -1); $(ld --version | head -1))." >&2
exit 1
