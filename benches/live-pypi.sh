#!/usr/bin/env bash
# Cold and warm audits of the real lockfiles against live PyPI (or $INDEX_URL): wall time,
# peak memory, requests and bytes fetched. Run by hand; never part of CI (it needs the network).
#
#   bash benches/live-pypi.sh                 # every testdata/lockfiles/*/uv.lock with an index/
#   bash benches/live-pypi.sh path/to/uv.lock
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
binary=target/release/np2audit
locks=("$@")
if [ ${#locks[@]} -eq 0 ]; then
    for lock in testdata/lockfiles/*/uv.lock; do
        [ -d "$(dirname "$lock")/index" ] && locks+=("$lock")
    done
fi
index=()
[ -n "${INDEX_URL:-}" ] && index=(--index-url "$INDEX_URL")

printf '%-40s %-5s %8s %9s %9s %12s %6s\n' lockfile run seconds "peak MiB" requests "bytes" "cache"
for lock in "${locks[@]}"; do
    cache=$(mktemp -d)
    for run in cold warm; do
        report=$(mktemp)
        timing=$(mktemp)
        /usr/bin/time -f '%e %M' -o "$timing" "$binary" lock "$lock" --python-platform linux \
            --cache-dir "$cache" --format json "${index[@]}" > "$report" || true
        read -r seconds kib < <(tail -n 1 "$timing")
        python3 - "$report" "$lock" "$run" "$seconds" "$kib" <<'PY'
import json, sys
report, lock, run, seconds, kib = sys.argv[1:]
stats = json.load(open(report))["stats"]
name = lock.split("/")[-2]
print(f"{name:<40} {run:<5} {float(seconds):8.2f} {int(kib)/1024:9.1f} {stats['requests']:9} "
      f"{stats['bytes_fetched']:12} {stats['cache_hits']:6}")
PY
        rm -f "$report" "$timing"
    done
    rm -rf "$cache"
done
