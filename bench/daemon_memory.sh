#!/bin/sh
# Resident memory of a real `nacre daemon` that ingests a folder of PNGs of assorted sizes
# (issue 6: a daemon must not keep what one image size needed once it is idle).
#
# Starts the release build on a scratch folder, copies every PNG of PHOTOS into its inbox,
# samples VmRSS every 2 s until the inbox is empty, seals the batch (the reply comes once it is
# verified and indexed), waits IDLE seconds (the daemon gives memory back after 5 s idle) and
# prints the peak and the idle RSS.
#
# Usage: bench/daemon_memory.sh PHOTOS   (env: NACRE=.build/release/nacre IDLE=8 WORK=/tmp/nacre-memory-bench)
set -eu
PHOTOS=${1:?usage: bench/daemon_memory.sh PHOTOS}
NACRE=$(realpath "${NACRE:-.build/release/nacre}")
IDLE=${IDLE:-8}
WORK=${WORK:-/tmp/nacre-memory-bench}
rm -rf "$WORK" && mkdir -p "$WORK/inbox"
cat > "$WORK/nacre.yaml" <<YAML
spools:
  - name: main
    inbox: inbox
archive_dir: archives
state_dir: state
quarantine_dir: quarantine
restore_roots: [restore]
socket: {path: s.sock, mode: "0660"}
batch: {max_images: 100000, max_age_seconds: 86400}
encode: {quality: 50}
retrain: {schedule: "off"}
log_level: debug
YAML
"$NACRE" daemon --config "$WORK/nacre.yaml" > "$WORK/daemon.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 3
COUNT=$(ls "$PHOTOS"/*.png | wc -l)
cp "$PHOTOS"/*.png "$WORK/inbox/"
PEAK=0
START=$(date +%s)
while [ "$(ls "$WORK/inbox" | wc -l)" -gt 0 ]; do
    sleep 2
    RSS=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
    [ "$RSS" -gt "$PEAK" ] && PEAK=$RSS
done
"$NACRE" ctl --socket "$WORK/s.sock" seal > /dev/null
sleep "$IDLE"
IDLE_RSS=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
echo "$COUNT images in $(( $(date +%s) - START )) s; RSS peak $((PEAK / 1024)) MB (2 s samples), after ${IDLE} s idle $((IDLE_RSS / 1024)) MB"
grep "released idle memory" "$WORK/daemon.log" | tail -1 || true
