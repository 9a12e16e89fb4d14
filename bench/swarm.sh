#!/bin/sh
# launch --engine swarm against `docker stack deploy` + polling, on a single-node swarm (made here if the engine
# is not in one, and left again). The same three services: db (healthcheck), migrate (job), app.
# stack deploy starts all three at once and knows no order; "done" for it is when `docker service ls` shows every
# service at its replicas and the job completed — not that db was healthy before migrate ran (it was not).
# Usage: bench/swarm.sh [--two-node] [runs]   (needs .build/debug/launch and local/busybox:latest)
# --two-node: on a real two-node swarm (.ci/two-node-swarm.sh up; made here if it is not up, and removed again):
# db runs on node B (the worker), app's two replicas spread over both nodes, launch talks to node A.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TWO=no
if [ "${1:-}" = --two-node ]; then TWO=yes; shift; fi
RUNS=${1:-3}
LAUNCH=${LAUNCH:-$ROOT/.build/debug/launch}
DIR=$(mktemp -d)
MADE=no
if [ "$TWO" = yes ]; then
    A=unix:///tmp/two-node-swarm/run/a/docker.sock
    docker -H "$A" info >/dev/null 2>&1 || MADE=two
    eval "$(bash "$ROOT/.ci/two-node-swarm.sh" up 2>/dev/null)"
    export DOCKER_HOST=$DOCKER_HOST_A
elif [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]; then
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null; MADE=yes
fi
cleanup() {
    rm -rf "$DIR"
    [ "$MADE" = yes ] && docker swarm leave --force >/dev/null
    [ "$MADE" = two ] && bash "$ROOT/.ci/two-node-swarm.sh" down >/dev/null 2>&1
    true
}
trap cleanup EXIT
mkdir -p "$DIR/environments" "$DIR/compose"
PLACE_DB='' PLACE_APP=''
if [ "$TWO" = yes ]; then
    PLACE_DB='    deploy: {placement: {constraints: ["node.hostname == twonode-b"]}}'
    PLACE_APP='    deploy: {replicas: 2, placement: {preferences: [{spread: node.hostname}]}}'
fi
cat > "$DIR/compose/stack.yml" <<YML
services:
  db:
    image: local/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ok; sleep 3600 & wait"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 1s, retries: 3}
$PLACE_DB
  migrate:
    image: local/busybox:latest
    command: ["sh", "-c", "echo migrated"]
    depends_on: {db: {condition: service_healthy}}
  app:
    image: local/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: {migrate: {condition: service_completed_successfully}}
$PLACE_APP
YML
sed -e 's/depends_on: {db: {condition: service_healthy}}/depends_on: [db]\n    deploy: {mode: replicated-job, restart_policy: {condition: none}}/' \
    -e 's/depends_on: {migrate: {condition: service_completed_successfully}}/depends_on: [migrate]/' \
    "$DIR/compose/stack.yml" > "$DIR/plain.yml"
now() { date +%s.%N; }
gone() { while docker network ls -q --filter "label=com.docker.stack.namespace=$1" | grep -q .; do sleep 0.2; done; }
for i in $(seq 1 "$RUNS"); do
    name="launch-bench-$$-$i"
    printf 'name: demo\nsummary: bench\ncompose: {project: %s, files: [stack.yml]}\nenv_file: .env.demo\nengine: swarm\nhealth: {stability: 1s}\n' "$name" > "$DIR/environments/demo.yml"
    t0=$(now); NO_COLOR=1 CI=true "$LAUNCH" demo --no-cleanup --project-dir "$DIR" >/dev/null 2>&1; t1=$(now)
    "$LAUNCH" down demo --project-dir "$DIR" >/dev/null 2>&1; gone "$name"
    name2="$name-plain"
    t2=$(now); docker stack deploy --resolve-image never -c "$DIR/plain.yml" "$name2" >/dev/null 2>&1
    until docker service ls --filter "label=com.docker.stack.namespace=$name2" --format '{{.Replicas}}' \
        | awk 'BEGIN { bad = 0; n = 0 } { n++; if ($0 ~ /completed/) { if ($0 !~ /\(1\/1 completed\)/) bad = 1 } else { split($1, r, "/"); if (r[1] != r[2] || r[2] == 0) bad = 1 } } END { exit (bad || n < 3) }'; do sleep 0.25; done
    t3=$(now)
    docker stack rm "$name2" >/dev/null 2>&1; gone "$name2"
    echo "run $i$( [ "$TWO" = yes ] && echo " (two nodes)"): launch --engine swarm $(echo "$t1 - $t0" | bc) s (ordered, health-gated)   stack deploy + polling $(echo "$t3 - $t2" | bc) s (unordered, replicas only)"
done
