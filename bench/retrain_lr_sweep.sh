#!/bin/sh
# One point of the fine-tuning learning-rate sweep (BENCHMARKS.md, re-training): fine-tune the
# built-in model on a reservoir's training crops, export it with int8 g_s calibrated on 8 of them,
# and gate it against the built-in model on the held-back crops (no denoisers).
# Usage: bench/retrain_lr_sweep.sh TRAIN_DIR HOLDOUT_DIR OUT_DIR STEPS LR
#   e.g. after bench/retrain_new_photos.py: copy WORK/daemon/state/reservoir/{train,holdout} first.
set -eu
train=$1; holdout=$2; out=$3; steps=$4; lr=$5
nacre=${NACRE:-.build/release/nacre}
base=$(dirname "$nacre")/Nacre_NacreStore.resources/base.nxcm
mkdir -p "$out/calibration"
ls "$train" | sort | head -8 | while read -r f; do ln -f "$train/$f" "$out/calibration/$f"; done
start=$(date +%s)
"$nacre" train --data "$train" --out "$out/c.nwts" --checkpoint "$out/c.ckpt" --init "$base" --crop 256 --batch 4 \
    --threads 2 --validate-every 0 --lr "$lr" --final-lr 1e-5 --steps "$steps" > "$out/train.log" 2>&1
trained=$(( $(date +%s) - start ))
"$nacre" export-model --from "$out/c.nwts" --out "$out/c.nxcm" --calibrate "$out/calibration" --calibration-images 8 \
    --crop 256 --threads 2 > "$out/export.log" 2>&1
"$nacre" gate --champion "$base" --challenger "$out/c.nxcm" --data "$holdout" --margin=-1 --threads 2 --json > "$out/gate.json"
echo "steps=$steps lr=$lr train_s=$trained $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary'])" "$out/gate.json")"
