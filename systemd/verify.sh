#!/usr/bin/env bash
# Checks nacre.service with `systemd-analyze verify` (Debian package: systemd).
# verify insists that ExecStart's binary exists, so the unit is checked as a copy whose
# /usr/local/bin/nacre points at the built binary (default .build/debug/nacre); nothing else
# changes. Also prints the offline security exposure score.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:-.build/debug/nacre}")"
[ -x "$binary" ] || { echo "verify.sh: build first: $binary is missing" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "verify.sh: systemd-analyze not found (apt-get install systemd)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/nacre|$binary|g" systemd/nacre.service > "$work/nacre.service"
systemd-analyze verify "$work/nacre.service"
echo "systemd-analyze verify: clean"
systemd-analyze security --offline=true "$work/nacre.service" | tail -1
"$binary" daemon --config systemd/nacre.yaml --check
