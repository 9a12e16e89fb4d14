#!/usr/bin/env bash
# Installs and starts a real Docker engine with the Compose v2 plugin on Debian 12, where no container
# registry is reachable. Idempotent.
#   .ci/docker-engine.sh up      install (once), start dockerd, install compose v2, import the test image
#   .ci/docker-engine.sh down    stop the dockerd that `up` started (and only that one)
# The test image `local/busybox:latest` is a busybox-static root file system imported with `docker import`.
set -euo pipefail
STATE=${LAUNCH_ENGINE_STATE:-/tmp/launch-ci-engine}
IMAGE=local/busybox:latest
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
mkdir -p "$STATE"
log() { printf 'docker-engine: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

install_packages() {
  if command -v dockerd >/dev/null && command -v busybox >/dev/null && command -v docker >/dev/null; then return 0; fi
  log "installing docker.io and busybox-static from Debian"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq docker.io busybox-static >"$STATE/apt.log" 2>&1 || { tail -20 "$STATE/apt.log"; return 1; }
}

install_compose_v2() {
  if docker compose version >/dev/null 2>&1; then return 0; fi
  # Debian 12 ships only Compose v1; Debian 13's docker-compose package is the v2 Go binary.
  log "installing the Compose v2 plugin from Debian 13's docker-compose package"
  local lists="$STATE/apt-lists" cache="$STATE/apt-cache" parts="$STATE/apt-sources"
  mkdir -p "$lists/partial" "$cache/archives/partial" "$parts"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$parts/trixie.sources"
  local o=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$parts" -o Dir::State::Lists="$lists" -o Dir::Cache="$cache")
  apt-get "${o[@]}" update -qq
  (cd "$STATE" && rm -f docker-compose_*.deb && apt-get "${o[@]}" download docker-compose)
  rm -rf "$STATE/compose-deb" && dpkg-deb -x "$STATE"/docker-compose_*.deb "$STATE/compose-deb"
  as_root mkdir -p "$PLUGIN_DIR"
  as_root install -m 0755 "$STATE/compose-deb/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
}

start_engine() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd (log: $STATE/dockerd.log)"
  as_root sh -c "nohup dockerd >'$STATE/dockerd.log' 2>&1 & echo \$! >'$STATE/dockerd.pid'"
  for _ in $(seq 1 80); do docker info >/dev/null 2>&1 && return 0; sleep 0.25; done
  tail -20 "$STATE/dockerd.log"; return 1
}

import_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then return 0; fi
  log "importing $IMAGE from busybox-static"
  local root="$STATE/rootfs"
  rm -rf "$root" && mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'CMD ["sh"]' - "$IMAGE" >/dev/null
}

case "${1:-up}" in
  up)
    install_packages; start_engine; install_compose_v2; import_image
    log "ready: engine $(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short), image $IMAGE" ;;
  down)
    if [ -f "$STATE/dockerd.pid" ]; then
      as_root kill "$(cat "$STATE/dockerd.pid")" 2>/dev/null || true
      rm -f "$STATE/dockerd.pid"; log "dockerd stopped"
    fi ;;
  *) echo "usage: $0 up|down" >&2; exit 64 ;;
esac
