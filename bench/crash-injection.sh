#!/usr/bin/env bash
# The ingest pipeline's crash-injection benchmark (issue 6): kill -9 the daemon at random moments
# (0.3–3.5 s after each start) while photo crops flow into its inbox, KILLS times, then restart it
# undisturbed, seal, stop, and check that every input is in exactly one sealed, verified archive
# (or still in the inbox/processing folder, or in quarantine), nothing lost or duplicated, every
# archive intact and restoring to its recorded PSNR, and the catalog agreeing with the archives.
# It is the test suite's CrashInjectionTests with more kills (the suite runs 10).
#
# Usage: bench/crash-injection.sh [KILLS=100] [INPUTS=75] [LOG=/tmp/nacre-crash.log]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${KILLS:-100}
inputs=${INPUTS:-75}
log=${LOG:-/tmp/nacre-crash.log}
swift build --build-tests
start=$(date +%s)
NACRE_CRASH_KILLS=$kills NACRE_CRASH_INPUTS=$inputs NACRE_CRASH_LOG=$log \
  swift test --skip-build --filter CrashInjectionTests 2>&1 | grep -E "crash injection|✔|✘|passed|failed|Expectation"
echo "elapsed $(( $(date +%s) - start )) s; daemon log: $log"
echo "recovery actions by kind:"
grep -o "recovery: [a-z ']*" "$log" | sort | uniq -c | sort -rn
