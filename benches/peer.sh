#!/usr/bin/env bash
# np2audit's cold audit beside uv's cold resolution of the same pins, alternating, against live
# PyPI: wall time, peak memory and bytes for each, and their ratios. Run by hand (it needs the
# network and uv); never part of CI.
#
#   bash benches/peer.sh                        # the 66 pins of markers-extras-groups and
#                                               # ds2023-numpy1's requirements
#   ROUNDS=5 bash benches/peer.sh requirements.txt …
#
# np2audit's bytes are its own count (`stats.bytes_fetched`). uv reports none, so its bytes are
# what a fresh cache holds afterwards (`--cache-dir`, not `--no-cache`, so that they can be
# counted): what it downloaded, as stored (uv keeps some of it compressed, some unpacked).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
binary=target/release/np2audit
uv=${UV:-uv}
command -v "$uv" >/dev/null || { echo "peer: uv not found (set UV=/path/to/uv)" >&2; exit 1; }
shared=${SHARED:-../shared/testdata}
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
    inputs=("$shared/markers-extras-groups/requirements.txt" "$shared/ds2023-numpy1/requirements.txt")
fi
rounds=${ROUNDS:-3}
python=${PYTHON_VERSION:-3.11}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

printf '%-40s %-8s %9s %9s %12s\n' input tool seconds "peak MiB" bytes
for input in "${inputs[@]}"; do
    work=$(mktemp -d)
    : > "$work/np2audit" && : > "$work/uv"
    for ((round = 0; round < rounds; round++)); do
        rm -rf "$work/cache"
        /usr/bin/time -f '%e %M' -o "$work/time" "$binary" lock "$input" --python-version "$python" \
            --python-platform linux --no-project-code --format json --no-fail \
            --cache-dir "$work/cache" > "$work/report.json" || true
        bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["bytes_fetched"])' "$work/report.json")
        echo "$(tail -n 1 "$work/time") $bytes" >> "$work/np2audit"
        rm -rf "$work/cache"
        UV_PYTHON_DOWNLOADS=never /usr/bin/time -f '%e %M' -o "$work/time" "$uv" pip compile "$input" \
            --python-version "$python" --python-platform linux --cache-dir "$work/cache" \
            --quiet --output-file /dev/null || true
        bytes=$(du -sb "$work/cache" | cut -f1)
        echo "$(tail -n 1 "$work/time") $bytes" >> "$work/uv"
    done
    name=$(basename "$(dirname "$input")")/$(basename "$input")
    for tool in np2audit uv; do
        seconds=$(cut -d' ' -f1 "$work/$tool" | median)
        kib=$(cut -d' ' -f2 "$work/$tool" | median)
        bytes=$(cut -d' ' -f3 "$work/$tool" | median)
        printf '%-40s %-8s %9.2f %9.1f %12.0f\n' "${name:0:40}" "$tool" "$seconds" "$(echo "$kib / 1024" | bc -l)" "$bytes"
        eval "${tool}_seconds=$seconds ${tool}_kib=$kib ${tool}_bytes=$bytes"
    done
    printf '%-40s %-8s %8.1fx %8.1fx %11.1fx  (np2audit / uv, medians of %d alternating rounds)\n' \
        "" ratio "$(echo "$np2audit_seconds / $uv_seconds" | bc -l)" \
        "$(echo "$np2audit_kib / $uv_kib" | bc -l)" "$(echo "$np2audit_bytes / $uv_bytes" | bc -l)" "$rounds"
    rm -rf "$work"
done
