#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), one at a time, then print a table of
# executions, speed, coverage and crashes. Needs a nightly toolchain and cargo-fuzz.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Logs go to fuzz/logs/<target>.log; crashes to fuzz/artifacts/<target>/. The exit status is
# 1 when any target crashed (or failed to start), else 0.
set -uo pipefail

cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
all_targets=(
    lock_uv lock_poetry lock_pdm lock_pipfile lock_pylock lock_requirements lock_detect
    pyproject simple_json simple_html metadata zip shared_object wheel filename
)
targets=("${@:-${all_targets[@]}}")
rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}"
# Build flags for cargo-fuzz. `-s none`: the code under test is safe Rust, so AddressSanitizer
# buys little and halves the speed; debug assertions and overflow checks stay on (cargo-fuzz's
# default without -O). Override with e.g. FUZZ_FLAGS="-O" to reuse an existing -O build.
read -r -a flags <<<"${FUZZ_FLAGS:--s none}"

# Per target: the dictionary and the largest input worth generating.
dict_for() {
    case "$1" in
        lock_requirements) echo dict/requirements.dict ;;
        lock_pipfile | simple_json) echo dict/json.dict ;;
        lock_* | pyproject) echo dict/toml.dict ;;
        simple_html) echo dict/html.dict ;;
        metadata) echo dict/metadata.dict ;;
        zip | wheel) echo dict/zip.dict ;;
        shared_object) echo dict/shared_object.dict ;;
        *) echo "" ;;
    esac
}
max_len_for() {
    case "$1" in
        lock_* | pyproject) echo 32768 ;;
        zip | wheel | shared_object) echo 65536 ;;
        filename) echo 512 ;;
        *) echo 8192 ;;
    esac
}

python3 seed.py >/dev/null
cargo +nightly fuzz build "${flags[@]}" || exit 1

mkdir -p logs
failed=0
rows=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    before=$(find "artifacts/$target" -type f | wc -l)
    dict=$(dict_for "$target")
    args=(
        "-max_total_time=$seconds" "-rss_limit_mb=$rss_limit_mb" -timeout=20
        "-max_len=$(max_len_for "$target")" -print_final_stats=1
    )
    [[ -n "$dict" ]] && args+=("-dict=$dict")
    echo "== $target (${seconds}s)" >&2
    cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" -- "${args[@]}" \
        >"logs/$target.log" 2>&1
    status=$?
    after=$(find "artifacts/$target" -type f | wc -l)
    crashes=$((after - before))
    log="logs/$target.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "corpus/$target" -type f | wc -l)
    if ((status != 0 || crashes > 0)); then
        failed=1
        ((crashes == 0)) && crashes="exit $status"
    fi
    rows+=("$(printf '%-18s %12s %9s %7s %7s  %s' "$target" "${execs:-?}" "${speed:-?}" \
        "${cov:-?}" "$corpus" "$crashes")")
done

printf '\n%-18s %12s %9s %7s %7s  %s\n' target execs execs/s cov corpus crashes
printf '%s\n' "${rows[@]}"
exit "$failed"
