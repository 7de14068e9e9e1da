#!/usr/bin/env bash
# Times the `nacre ls` process (exec, open through trailer and index, format, print) on a
# 10,000-image archive. The archive is written by the archive benchmark (synthetic latents; ls
# reads only the index, so their content does not matter).
# Usage: bench/ls-10k.sh [RUNS]   (from the repository root; builds what it needs)
set -euo pipefail
runs=${1:-20}
archive=${TMPDIR:-/tmp}/nacre-ls-10k.nacre
swift build -c release --product nacre >/dev/null
if [ ! -f "$archive" ]; then
  # A debug build may miss the in-process timing bars; only the archive it leaves matters here.
  NACRE_BENCH=1 NACRE_BENCH_ARCHIVE="$archive" swift test --filter ArchiveListBenchmark >/dev/null 2>&1 || true
  [ -f "$archive" ] || { echo "the archive benchmark did not write $archive" >&2; exit 1; }
fi
nacre=.build/release/nacre
"$nacre" ls "$archive" | tail -1
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$nacre" ls "$archive" >/dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "nacre ls on 10,000 images, $runs runs: median $(( sorted[runs / 2] / 1000 )).$(( sorted[runs / 2] % 1000 / 100 )) ms, min $(( sorted[0] / 1000 )) ms, max $(( sorted[runs - 1] / 1000 )) ms (process wall time)"
# CPU time is what the process itself costs; on a busy machine wall time also counts the wait for a core.
if command -v perf >/dev/null; then
  perf stat -r "$runs" "$nacre" ls "$archive" 2>&1 >/dev/null | grep -E "task-clock|elapsed"
fi
