#!/usr/bin/env bash
# Records what `launch watch` reads of a container in each state it tells apart: `docker inspect` of one
# container of a compose-labelled service as it becomes healthy, turns unhealthy, crashes and is restarted by
# the engine's policy, and is killed. Run against a real engine (`.ci/docker-engine.sh up`); writes
# <engine>/<state>.json here. The unit tests (WatchTests) feed these documents to ServiceObservation and
# WatchMachine.
set -euo pipefail
cd "$(dirname "$0")"
out="docker-$(docker version --format '{{.Server.Version}}' | cut -d+ -f1 | cut -d. -f1-2)"
mkdir -p "$out"
name=launch-watch-record
docker rm -f "$name" >/dev/null 2>&1 || true
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
save() { docker inspect "$name" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0], indent=1))' > "$out/$1.json"; }
docker run -d --name "$name" --restart on-failure \
  --label com.docker.compose.project=launch-watch-record --label com.docker.compose.service=db \
  --health-cmd 'cat /tmp/ok || (echo db not answering; exit 1)' --health-interval 300ms --health-retries 2 --health-timeout 2s \
  local/busybox:latest sh -c 'trap "exit 0" TERM; touch /tmp/ok; while [ ! -f /tmp/crash ]; do sleep 0.1; done; rm /tmp/crash; echo db crashing; exit 3' >/dev/null
sleep 0.1; save starting
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ]; do sleep 0.1; done; save healthy
docker exec "$name" rm /tmp/ok
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = unhealthy ]; do sleep 0.1; done; save unhealthy
docker exec "$name" touch /tmp/ok /tmp/crash
until [ "$(docker inspect -f '{{.State.Restarting}}' "$name")" = true ]; do sleep 0.02; done; save restarting
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ]; do sleep 0.1; done; save recovered
docker kill "$name" >/dev/null
until [ "$(docker inspect -f '{{.State.Status}}' "$name")" = exited ]; do sleep 0.1; done; save killed
