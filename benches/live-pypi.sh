#!/usr/bin/env bash
# Cold and warm audits of the real lockfiles against live PyPI (or $INDEX_URL): wall time,
# peak memory, requests, bytes fetched, and those bytes against the total size of the wheels
# judged (each package's `wheel` in the JSON report, sized from the lock's own `wheels` list).
# Run by hand; never part of CI (it needs the network).
#
#   bash benches/live-pypi.sh                 # every testdata/lockfiles/*/uv.lock with an index/
#   bash benches/live-pypi.sh path/to/uv.lock
#   WARM_RUNS=5 bash benches/live-pypi.sh …   # more warm runs (the median is shown)
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
warm_runs=${WARM_RUNS:-3}

printf '%-36s %-5s %8s %9s %8s %12s %6s %13s %7s\n' \
    lockfile run seconds "peak MiB" requests bytes cache "wheel bytes" "share"
for lock in "${locks[@]}"; do
    cache=$(mktemp -d)
    runs=(cold)
    for ((i = 0; i < warm_runs; i++)); do runs+=(warm); done
    results=$(mktemp)
    for run in "${runs[@]}"; do
        report=$(mktemp)
        timing=$(mktemp)
        /usr/bin/time -f '%e %M' -o "$timing" "$binary" lock "$lock" --python-platform linux \
            --cache-dir "$cache" --format json --no-fail "${index[@]}" > "$report" || true
        read -r seconds kib < <(tail -n 1 "$timing")
        python3 - "$report" "$lock" "$run" "$seconds" "$kib" >> "$results" <<'PY'
import json, sys, tomllib, urllib.parse
report, lock, run, seconds, kib = sys.argv[1:]
audit = json.load(open(report))
stats = audit["stats"]
# The size of every file the lock records, by file name.
sizes = {}
for package in tomllib.load(open(lock, "rb")).get("package", []):
    for file in package.get("wheels", []) + [package.get("sdist") or {}]:
        url = file.get("url") or file.get("filename") or ""
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1].split("#")[0])
        if name and file.get("size") is not None:
            sizes[name] = file["size"]
judged = [p["wheel"] for p in audit["packages"] if p.get("wheel")]
wheel_bytes = sum(sizes.get(name, 0) for name in judged)
unsized = sum(1 for name in judged if name not in sizes)
share = 100 * stats["bytes_fetched"] / wheel_bytes if wheel_bytes else 0
name = lock.split("/")[-2][:36]
note = f"  ({len(judged)} wheels judged, {unsized} not sized by the lock)" if run == "cold" else ""
print(f"{name:<36} {run:<5} {float(seconds):8.2f} {int(kib)/1024:9.1f} {stats['requests']:8} "
      f"{stats['bytes_fetched']:12} {stats['cache_hits']:6} {wheel_bytes:13} {share:6.2f}%{note}")
PY
        rm -f "$report" "$timing"
    done
    cat "$results"
    # The median warm run, by wall time.
    if [ "$warm_runs" -gt 1 ]; then
        grep ' warm ' "$results" | sort -k3,3n | sed -n "$(((warm_runs + 1) / 2))p" \
            | sed 's/ warm / w-med/'
    fi
    rm -rf "$cache" "$results"
done
