#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for N seconds (default 60) on a copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS | --short] [TARGET...]     --short = 20 s per target (CI)
#   FUZZ_JOBS=2 scripts/fuzz.sh 600                        run two targets at a time
#   FUZZ_KEEP=DIR scripts/fuzz.sh 600                      keep working corpora and logs in DIR
#   FUZZ_NO_BUILD=1 scripts/fuzz.sh ...                    use the binaries already in .build-fuzz
#   FUZZ_CONFIG=debug scripts/fuzz.sh ...                  debug build (default release: ~13x the executions)
#
# Prints per target: executions, exec/s, cov, ft, corpus size, crashes. Fails when any target finds a crash, leak,
# timeout, out-of-memory or broken invariant; the reproducer is printed (run the target binary on it to replay).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
if [[ $# -gt 0 && "$1" == "--short" ]]; then seconds=20; shift
elif [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
all=(FuzzEventDecoder FuzzDNS FuzzHTTP FuzzFlowFilterJSON FuzzMetricsGrammar FuzzDynamicMetricsYAML FuzzFlowLogConfig FuzzEndpointsFile
     FuzzAcceptNegotiation FuzzKubeconfig FuzzKubeWatch FuzzFlowLogEncoder FuzzExpositionLabels)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
jobs=${FUZZ_JOBS:-1}
scratch=.build-fuzz
config=${FUZZ_CONFIG:-release}
bin=$scratch/$config

mkdir -p "$scratch/tmp"
export TMPDIR=$PWD/$scratch/tmp
for t in "${targets[@]}"; do
    [[ -d Fuzz/Corpus/$t ]] || { echo "fuzz.sh: unknown target '$t' (no Fuzz/Corpus/$t); targets: ${all[*]}" >&2; exit 2; }
    [[ -n ${FUZZ_NO_BUILD:-} && -x $bin/$t ]] && continue
    echo "== building $t"
    # SwiftPM also tries to link the main package's BPF plugin tool with libFuzzer and fails; that tool is not
    # needed here, so only the product's own result counts.
    log=$(swift build -c "$config" --package-path Fuzz --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer,address --product "$t" 2>&1) || true
    if [[ ! -x $bin/$t ]] || ! grep -q "Build of product '$t' complete" <<<"$log"; then
        grep -v "ld.gold: warning" <<<"$log" | tail -30 >&2
        echo "fuzz.sh: building $t failed" >&2
        exit 1
    fi
done

work=${FUZZ_KEEP:-$(mktemp -d "${TMPDIR}/fuzz.XXXXXX")}
mkdir -p "$work"
echo "== working corpora, logs and artifacts in $work"

run_one() {
    local t=$1 dir=$work/$1
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp -r Fuzz/Corpus/"$t"/. "$dir/corpus/"
    local dict=()
    [[ -f Fuzz/Dictionaries/$t.dict ]] && dict=(-dict="Fuzz/Dictionaries/$t.dict")
    # ASAN: Swift's runtime keeps caches alive for the process; leaks are reported by libFuzzer's own
    # -detect_leaks (per input), which stays on.
    set +e
    "$bin/$t" "$dir/corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1
    echo $? >"$dir/rc"
    set -e
}

running=0
for t in "${targets[@]}"; do
    echo "== fuzzing $t for ${seconds}s"
    run_one "$t" &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
printf '%-24s %12s %8s %7s %7s %8s %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
    dir=$work/$t
    rc=$(cat "$dir/rc")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
    last=$(grep -E '^#[0-9]+' "$dir/log" | grep -E 'cov: ' | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(ls "$dir/corpus" | wc -l)
    artifacts=$(ls "$dir/artifacts" | wc -l)
    result=ok
    if [[ $rc -ne 0 || $artifacts -gt 0 ]]; then
        result="FAILED (exit $rc): $(ls "$dir"/artifacts/* 2>/dev/null | tr '\n' ' ')"
        failed=1
    fi
    printf '%-24s %12s %8s %7s %7s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$result"
done
if [[ $failed -ne 0 ]]; then
    echo "fuzz.sh: findings above; logs in $work/<target>/log" >&2
    exit 1
fi
