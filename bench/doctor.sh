#!/usr/bin/env bash
# Wall time of `launch doctor <env> --no-network` with the release build (no network checks: the target is < 1 s).
#   bench/doctor.sh [ENV] [RUNS]      defaults: dev, 20
# Uses hyperfine when installed (`apt-get install -y hyperfine`), else a loop timed with `date +%s.%N`.
# Rerunnable: builds the release binary only when needed and changes nothing on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_NAME=${1:-dev}
RUNS=${2:-20}

swift build -c release --product launch >/dev/null
BIN=$(swift build -c release --show-bin-path)/launch
CMD="$BIN doctor $ENV_NAME --no-network"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo 'not answering')"
echo "command: launch doctor $ENV_NAME --no-network (exit status ignored: a failing check is still a finished doctor)"
"$BIN" doctor "$ENV_NAME" --no-network --json 2>/dev/null \
  | awk -F': ' '/"duration_seconds"/ {d=$2} END {gsub(/[ ,]/, "", d); print "checks alone (last run, from --json): " d " s"}' || true

if command -v hyperfine >/dev/null; then
  hyperfine --warmup 3 --runs "$RUNS" --ignore-failure --style basic "$CMD"
else
  total=0; min=999; max=0
  for _ in $(seq 1 3); do $CMD >/dev/null 2>&1 || true; done
  for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N); $CMD >/dev/null 2>&1 || true; end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l); total=$(echo "$total + $t" | bc -l)
    min=$(echo "if ($t < $min) $t else $min" | bc -l); max=$(echo "if ($t > $max) $t else $max" | bc -l)
  done
  printf 'mean %.3f s  min %.3f s  max %.3f s  (%d runs)\n' "$(echo "$total / $RUNS" | bc -l)" "$min" "$max" "$RUNS"
fi
