#!/bin/sh
# Restore over the control socket (issue 6 bars: 1 MP p50 <= 150 ms; RSS after 1000 restores
# within 10 % of RSS after the first 10).
#
# Makes a 1 MP (1176x850) RGB crop of a shared photo, packs it with the release build and the
# built-in base model, and runs `nacre bench restore` against an in-process control server
# (the real ControlServer + CollectionCommands over a scratch catalog). Pass a socket to measure
# a running daemon instead (the image must be in its catalog): bench/restore_bench.sh SOCKET NAME
#
# Usage: bench/restore_bench.sh [SOCKET IMAGE]     (env: COUNT=1000 THREADS=0 FAST=1 PHOTO=...)
# The in-process server uses OMP_WAIT_POLICY=passive and the memory settings of `nacre daemon`.
set -eu
cd "$(dirname "$0")/.."
NACRE=.build/release/nacre
COUNT=${COUNT:-1000}
THREADS=${THREADS:-0}
FAST_FLAG=""
[ "${FAST:-0}" = 1 ] && FAST_FLAG="--fast"
[ -x "$NACRE" ] || swift build -c release --product nacre
if [ $# -eq 2 ]; then
    exec "$NACRE" bench restore --socket "$1" --image "$2" --count "$COUNT" $FAST_FLAG
fi
PHOTO=${PHOTO:-/work/shared/data/photos/001.png}
WORK=$(mktemp -d /tmp/nacre-restore-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 - "$PHOTO" "$WORK/one-mp.png" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").crop((50, 0, 1226, 850)).save(sys.argv[2])
PY
"$NACRE" pack --model Sources/NacreStore/Resources/base.nxcm -o "$WORK/one-mp.nacre" "$WORK/one-mp.png"
"$NACRE" bench restore --archive "$WORK/one-mp.nacre" --image one-mp.png --count "$COUNT" --threads "$THREADS" \
    --wait-policy passive $FAST_FLAG
