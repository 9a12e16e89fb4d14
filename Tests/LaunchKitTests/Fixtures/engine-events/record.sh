#!/usr/bin/env bash
# Records real Docker Engine API event streams and container inspect documents for the
# orchestrator replay tests. Usage:
#
#   DOCKER_HOST=unix:///path/docker.sock ./record.sh ENGINE_LABEL [SCENARIO...]
#
# ENGINE_LABEL names the output folder (e.g. docker-20.10, docker-26.1-api1.44). Without
# SCENARIO arguments every scenario is recorded. Each scenario writes ENGINE_LABEL/SCENARIO/:
#   compose.yml    the project used
#   created.json   GET /containers/{id}/json of every container after `compose up --no-start`
#   events.jsonl   the raw GET /events stream (one JSON object per line, as the engine sent it)
#   final.json     GET /containers/{id}/json of every container once the outcome was reached
#   scenario.txt   one line: what happened, and the start commands in order
# ENGINE_LABEL/version.json is GET /version of the engine.
#
# API version: 1.41 (what the launcher speaks) when the engine still accepts it, otherwise the
# engine's minimum API version (1.44 on an engine started with DOCKER_MIN_API_VERSION=1.44).
# Override with API_VERSION=1.xx. Needs: docker CLI with the compose v2 plugin, curl, python3
# (pretty-prints JSON, summarises final.json) and the image local/busybox:latest (IMAGE=... to change).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL=${1:?usage: record.sh ENGINE_LABEL [SCENARIO...]}
shift
ALL_SCENARIOS=(healthy-chain unhealthy die-exit-1 oom restart-loop job-then-service start-period on-failure-once exit-at-window)
# start-interval is recorded by name, on Docker 25+ only.
if (($#)); then SCENARIOS=("$@"); else SCENARIOS=("${ALL_SCENARIOS[@]}"); fi
IMAGE=${IMAGE:-local/busybox:latest}
LIMIT=${SCENARIO_TIMEOUT:-30}   # seconds each scenario may take to reach its outcome

case "${DOCKER_HOST:-}" in
    "") SOCK=/var/run/docker.sock ;;
    unix://*) SOCK=${DOCKER_HOST#unix://} ;;
    *) echo "record.sh: DOCKER_HOST must be a unix:// socket (got $DOCKER_HOST)" >&2; exit 2 ;;
esac
[[ -S $SOCK ]] || { echo "record.sh: no engine socket at $SOCK" >&2; exit 2; }
for tool in docker curl python3; do
    command -v "$tool" >/dev/null || { echo "record.sh: $tool is required" >&2; exit 2; }
done

# --- helpers ---------------------------------------------------------------------------

urlencode() { # RFC 3986 percent-encoding of $1
    local s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [a-zA-Z0-9.~_-]) out+=$c ;;
            *) printf -v c '%%%02X' "'$c"; out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

json_field() { # json_field KEY  < one-line JSON object; crude but dependency-free
    sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

pretty() { # stdin JSON -> stdout, indented like `docker inspect`, key order and values kept
    python3 -c 'import json,sys; json.dump(json.load(sys.stdin),sys.stdout,indent=4,ensure_ascii=False); print()'
}

version_ge() { # version_ge A B: A >= B for dotted versions
    [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1) == "$1" ]]
}

VERSION_JSON=$(curl -sf --unix-socket "$SOCK" http://d/version)
SERVER_VERSION=$(json_field Version <<<"$VERSION_JSON" | head -n1)
MAX_API=$(json_field ApiVersion <<<"$VERSION_JSON")
MIN_API=$(json_field MinAPIVersion <<<"$VERSION_JSON")
if [[ -z ${API_VERSION:-} ]]; then
    if version_ge 1.41 "$MIN_API"; then API_VERSION=1.41; else API_VERSION=$MIN_API; fi
fi
echo "engine $SERVER_VERSION (API $MIN_API..$MAX_API) at $SOCK; recording with API v$API_VERSION into $LABEL/"
mkdir -p "$HERE/$LABEL"
pretty <<<"$VERSION_JSON" >"$HERE/$LABEL/version.json"

api() { curl -sf --unix-socket "$SOCK" "http://d/v$API_VERSION$1"; }

# Globals of the scenario being recorded.
P="" DIR="" CURL_PID="" DEADLINE=0 STARTS=()

cid() { # container name of service $1 (compose v2 naming)
    printf '%s-%s-1' "$P" "$1"
}

inspect_all() { # inspect_all SERVICE... -> JSON array of inspect documents, in that order
    local first=1 s
    {
        printf '['
        for s in "$@"; do
            ((first)) || printf ','
            first=0
            api "/containers/$(cid "$s")/json"
        done
        printf ']'
    } | pretty
}

state() { # state SERVICE GO_TEMPLATE
    docker inspect -f "$2" "$(cid "$1")"
}

wait_until() { # wait_until DESCRIPTION COMMAND... : poll until COMMAND succeeds or the deadline
    local what=$1
    shift
    until "$@"; do
        if ((SECONDS >= DEADLINE)); then
            echo "  TIMEOUT waiting for: $what" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "  reached: $what"
}

is_status() { [[ $(state "$1" '{{.State.Status}}') == "$2" ]]; }
is_health() { [[ $(state "$1" '{{if .State.Health}}{{.State.Health.Status}}{{end}}') == "$2" ]]; }
exited_ok() { is_status "$1" exited && [[ $(state "$1" '{{.State.ExitCode}}') == 0 ]]; }
restarted_at_least() { (($(state "$1" '{{.RestartCount}}') >= $2)); }

start() { # start SERVICE: start its container the way the launcher does, and log the command
    local c
    c=$(cid "$1")
    STARTS+=("docker start $c")
    docker start "$c" >/dev/null
    echo "  started $c"
}

note() { STARTS+=("($*)"); }

summary() { # summary FILE: the state of each container in an inspect array, "; "-separated
    python3 - "$1" <<'PY'
import json, sys
out = []
for c in json.load(open(sys.argv[1])):
    st = c["State"]
    health = "/" + st["Health"]["Status"] if st.get("Health") else ""
    out.append("%s=%s%s exit=%d oomKilled=%s restarts=%d" % (
        c["Config"]["Labels"].get("com.docker.compose.service", c["Name"]), st["Status"], health,
        st["ExitCode"], str(st["OOMKilled"]).lower(), c["RestartCount"]))
print("; ".join(out), end="")
PY
}

compose() { docker compose -p "$P" -f "$DIR/compose.yml" "$@"; }

cleanup() {
    if [[ -n $CURL_PID ]]; then kill "$CURL_PID" 2>/dev/null || true; wait "$CURL_PID" 2>/dev/null || true; fi
    CURL_PID=""
    compose down -v --remove-orphans -t 1 >/dev/null 2>&1 || echo "  WARNING: compose down failed for $P" >&2
}

# --- scenarios: each defines compose_NAME (prints compose.yml), run_NAME (starts containers and
# waits for the outcome), services_NAME (services in start order) and describe_NAME. -------------

services_healthy_chain() { echo db api web; }
describe_healthy_chain() { echo "db becomes healthy after ~2 s; api (depends_on db service_healthy) starts after it and turns healthy; web (no healthcheck, depends_on api service_started) starts last and runs"; }
compose_healthy_chain() {
    cat <<EOF
services:
  db:
    image: $IMAGE
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 30
  api:
    image: $IMAGE
    command: ["sleep", "3600"]
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 1s
      retries: 3
  web:
    image: $IMAGE
    command: ["sleep", "3600"]
    depends_on:
      api:
        condition: service_started
EOF
}
run_healthy_chain() {
    start db
    note "wait until db is healthy"
    wait_until "db healthy" is_health db healthy || return
    start api
    note "wait until api is healthy"
    wait_until "api healthy" is_health api healthy || return
    start web
    note "wait until web is running"
    wait_until "web running" is_status web running || return
}

services_unhealthy() { echo app; }
describe_unhealthy() { echo "app's healthcheck always fails (interval 1s, retries 2) and the container turns unhealthy while still running"; }
compose_unhealthy() {
    cat <<EOF
services:
  app:
    image: $IMAGE
    command: ["sleep", "3600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 1s
      retries: 2
EOF
}
run_unhealthy() {
    start app
    note "wait until app is unhealthy"
    wait_until "app unhealthy" is_health app unhealthy || return
}

services_die_exit_1() { echo app; }
describe_die_exit_1() { echo "app exits with status 1 after 1 s and stays exited (restart: \"no\")"; }
compose_die_exit_1() {
    cat <<EOF
services:
  app:
    image: $IMAGE
    command: ["sh", "-c", "sleep 1; exit 1"]
    restart: "no"
EOF
}
run_die_exit_1() {
    start app
    note "wait until app has exited"
    wait_until "app exited" is_status app exited || return
}

services_oom() { echo hog; }
describe_oom() { echo "hog (mem_limit 16m, memswap_limit 16m) doubles a shell string until the kernel OOM-kills it"; }
compose_oom() {
    cat <<EOF
services:
  hog:
    image: $IMAGE
    command: ["sh", "-c", "x=a; while true; do x=\$\$x\$\$x; done"]
    mem_limit: 16m
    memswap_limit: 16m
    restart: "no"
EOF
}
run_oom() {
    start hog
    note "wait until hog has exited"
    wait_until "hog exited" is_status hog exited || return
}

services_restart_loop() { echo flaky; }
describe_restart_loop() { echo "flaky (restart: always) exits 1 after 0.5 s; the engine restarts it with back-off until it has restarted at least 3 times"; }
compose_restart_loop() {
    cat <<EOF
services:
  flaky:
    image: $IMAGE
    command: ["sh", "-c", "sleep 0.5; exit 1"]
    restart: always
EOF
}
run_restart_loop() {
    start flaky
    note "wait until flaky has RestartCount >= 3"
    wait_until "flaky restarted 3 times" restarted_at_least flaky 3 || return
}

services_job_then_service() { echo migrate api; }
describe_job_then_service() { echo "one-shot migrate exits 0 after 1 s; api (depends_on migrate service_completed_successfully) starts after it and runs"; }
compose_job_then_service() {
    cat <<EOF
services:
  migrate:
    image: $IMAGE
    command: ["sh", "-c", "sleep 1; exit 0"]
    restart: "no"
  api:
    image: $IMAGE
    command: ["sleep", "3600"]
    depends_on:
      migrate:
        condition: service_completed_successfully
EOF
}
run_job_then_service() {
    start migrate
    note "wait until migrate has exited with status 0"
    wait_until "migrate exited 0" exited_ok migrate || return
    start api
    note "wait until api is running"
    wait_until "api running" is_status api running || return
}

services_start_period() { echo slow; }
describe_start_period() { echo "slow's probe fails for the first ~3 s (inside start_period 5s, so not counted towards retries) and then passes: starting -> healthy"; }
compose_start_period() {
    cat <<EOF
services:
  slow:
    image: $IMAGE
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 1
      start_period: 5s
EOF
}
run_start_period() {
    start slow
    note "wait until slow is healthy"
    wait_until "slow healthy" is_health slow healthy || return
}

services_on_failure_once() { echo worker; }
describe_on_failure_once() { echo "worker (restart: on-failure) exits 1 on its first run; the engine restarts it and the second run stays up and turns healthy"; }
compose_on_failure_once() {
    cat <<EOF
services:
  worker:
    image: $IMAGE
    command: ["sh", "-c", "if [ ! -f /tmp/crashed ]; then touch /tmp/crashed; sleep 0.3; exit 1; fi; touch /tmp/ready; sleep 3600"]
    restart: on-failure
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 3
EOF
}
run_on_failure_once() {
    start worker
    note "wait until worker is healthy after one restart"
    wait_until "worker healthy" is_health worker healthy || return
}

services_exit_at_window() { echo brief; }
describe_exit_at_window() { echo "brief (no healthcheck, restart: \"no\") runs sleep 2 and exits 0: right at a 2 s stability window"; }
compose_exit_at_window() {
    cat <<EOF
services:
  brief:
    image: $IMAGE
    command: ["sleep", "2"]
    restart: "no"
EOF
}
run_exit_at_window() {
    start brief
    note "wait until brief has exited"
    wait_until "brief exited" is_status brief exited || return
}

# Docker 25+ only (Compose refuses start_interval on older engines): record it on the API-1.44 engine.
services_start_interval() { echo quick; }
describe_start_interval() { echo "quick is ready after ~1 s; its interval is 10s but the engine checks every 250ms during its 10s start_period: starting -> healthy about a second after the start"; }
compose_start_interval() {
    cat <<EOF
services:
  quick:
    image: $IMAGE
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 10s
      timeout: 1s
      retries: 3
      start_period: 10s
      start_interval: 250ms
EOF
}
run_start_interval() {
    start quick
    note "wait until quick is healthy"
    wait_until "quick healthy" is_health quick healthy || return
}

# --- driver ------------------------------------------------------------------------------

record() { # record SCENARIO (runs in a subshell so that the EXIT trap always cleans up)
    local name=$1 fn=${1//-/_} services rc=0
    declare -F "run_$fn" >/dev/null || { echo "unknown scenario: $name" >&2; return 2; }
    P="launch-rec-$name-$$"
    DIR="$HERE/$LABEL/$name"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    read -r -a services <<<"$("services_$fn")"
    "compose_$fn" >"$DIR/compose.yml"
    echo "== $name (project $P)"
    compose up --no-start >/dev/null 2>&1
    inspect_all "${services[@]}" >"$DIR/created.json"

    local filters since
    filters=$(printf '{"label":["com.docker.compose.project=%s"],"event":["start","die","oom","health_status","kill","stop","restart"]}' "$P")
    # `since` makes the engine replay anything that happened between now and the moment the
    # stream is attached, so no event can be lost to a slow curl start.
    since=$(date +%s)
    curl -sN --unix-socket "$SOCK" \
        "http://d/v$API_VERSION/events?since=$since&filters=$(urlencode "$filters")" >"$DIR/events.jsonl" &
    CURL_PID=$!
    sleep 0.5

    DEADLINE=$((SECONDS + LIMIT))
    "run_$fn" || rc=$?
    sleep 1   # let trailing events (e.g. die after oom, the next restart) reach the stream
    inspect_all "${services[@]}" >"$DIR/final.json"
    sleep 0.5 # every event up to the final snapshot is then in the stream (a restart loop may add more)
    kill "$CURL_PID" 2>/dev/null || true
    wait "$CURL_PID" 2>/dev/null || true
    CURL_PID=""

    local outcome="outcome reached"
    ((rc == 0)) || outcome="OUTCOME NOT REACHED within ${LIMIT}s"
    local IFS=';'
    printf '%s. %s. Final: %s. Engine %s, API v%s. Start order: %s\n' \
        "$("describe_$fn")" "$outcome" "$(summary "$DIR/final.json")" "$SERVER_VERSION" "$API_VERSION" \
        "$(printf '%s' "${STARTS[*]}" | sed 's/;/; /g')" >"$DIR/scenario.txt"
    echo "  $(summary "$DIR/final.json")"
    echo "  $(wc -l <"$DIR/events.jsonl") events"
    return "$rc"
}

failed=()
for s in "${SCENARIOS[@]}"; do
    (record "$s") || failed+=("$s")
done
if ((${#failed[@]})); then
    echo "scenarios that did not reach their outcome: ${failed[*]}" >&2
    exit 1
fi
echo "done: $HERE/$LABEL"
