#!/usr/bin/env bash
# Training throughput of one or more nacre binaries: each resumes a copy of the same checkpoint
# and trains STEPS more steps; the steps per second of wall time are reported (image loading
# and the final checkpoint included). Run it on a quiet machine.
#
#   bench/train_speed.sh CHECKPOINT STEPS DATA_DIR… -- NACRE_BINARY…
#
# TRAIN_ARGS adds options to every timed run, e.g. TRAIN_ARGS=--bf16.
#
# Example (BENCHMARKS.md, "Training throughput"):
#   bench/train_speed.sh models/base-v2/base-v2.ckpt 300 ../shared/data/photos -- old/nacre .build/release/nacre
set -euo pipefail
checkpoint=$1 steps=$2
shift 2
data=()
while [ "$1" != "--" ]; do data+=("$1"); shift; done
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for binary in "$@"; do
    cp "$checkpoint" "$work/run.nwts.ckpt"
    # The checkpoint's own step: a dry resume with a step limit already reached trains nothing.
    "$binary" train --data "${data[@]}" --out "$work/run.nwts" --resume --steps 1 --validate-every 0 > "$work/probe" 2>&1
    first=$(grep -o "trained to step [0-9]*" "$work/probe" | grep -o "[0-9]*$")
    cp "$checkpoint" "$work/run.nwts.ckpt"
    begin=$(date +%s.%N)
    "$binary" train --data "${data[@]}" --out "$work/run.nwts" --resume --steps $((first + steps)) \
        --validate-every 0 --checkpoint-every 100000 --threads 2 ${TRAIN_ARGS:-} > "$work/log" 2>&1
    end=$(date +%s.%N)
    last=$(grep -o "trained to step [0-9]*" "$work/log" | grep -o "[0-9]*$")
    python3 -c "s = $last - $first; t = $end - $begin; print(f'$binary ${TRAIN_ARGS:-}: {s} steps in {t:.1f} s: {s / t:.2f} steps/s')"
done
