#!/usr/bin/env bash
# Builds the archive-reader fuzzer (libFuzzer + AddressSanitizer) and runs it on the seed corpus.
#   Tests/NacreArchiveTests/Fuzz/run-fuzzer.sh [RUNS] [extra libFuzzer flags...]
# RUNS defaults to 1000000. New inputs go to a scratch corpus under .build/, not to the seeds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
runs="${1:-1000000}"; shift || true
mkdir -p .build/fuzz/corpus
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name NacreArchiveFuzz \
    -I Sources/CZstd Sources/NacreArchive/*.swift Tests/NacreArchiveTests/Fuzz/ArchiveReaderFuzz.swift \
    -lzstd -o .build/fuzz/archive-reader-fuzz
.build/fuzz/archive-reader-fuzz -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$@" .build/fuzz/corpus Tests/NacreArchiveTests/Fuzz/corpus
