#!/usr/bin/env bash
# The test tier's own Docker engine: Debian's dockerd (docker.io, 20.10) as a
# background process with its own data root, exec root, pidfile and socket, so
# it never touches a system Docker. Reused when already running.
#   scripts/container/docker-engine.sh start  - start (or reuse), wait until ready
#   scripts/container/docker-engine.sh stop   - stop it (by its pidfile)
#   scripts/container/docker-engine.sh env    - print the client settings
# start and env print KEY=VALUE lines: DOCKER_HOST, DOCKER_BUILDKIT and DOCKER
# (the CLI to use: Debian's /usr/bin/docker has BuildKit; /usr/local/bin/docker
# on these machines has no buildx and cannot build `RUN --mount`).
# Log: /var/log/meshloop-docker/dockerd.log
set -euo pipefail

run_dir=/run/meshloop-docker
data_root=/var/lib/meshloop-docker
log_dir=/var/log/meshloop-docker
log="$log_dir/dockerd.log"
pidfile="$run_dir/dockerd.pid"
sock="$run_dir/docker.sock"
host="unix://$sock"
cli=/usr/bin/docker
# Nothing listens here: every image registry except localhost:5005 is sent to
# this port, so a missing image fails at once instead of leaving the machine.
dead_port=9

say() { printf '[docker-engine] %s\n' "$*" >&2; }

print_env() {
  printf 'DOCKER_HOST=%s\nDOCKER_BUILDKIT=1\nDOCKER=%s\n' "$host" "$cli"
}

running_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  # A killed dockerd that nobody has reaped yet is a zombie: not running.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  echo "$pid"
}

ready() { DOCKER_HOST=$host "$cli" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  if [ "$(id -u)" -ne 0 ]; then say "dockerd needs root (run as root or with sudo)"; exit 1; fi
  for f in /usr/sbin/dockerd "$cli"; do
    [ -x "$f" ] || { say "$f missing: run scripts/ensure-tools.sh docker"; exit 1; }
  done
  local pid launched=""
  if pid=$(running_pid) && ready; then
    say "reusing dockerd (pid $pid) on $host"; print_env; return 0
  fi
  if pid=$(running_pid); then
    # Started but not answering yet (another caller is starting it): wait for it.
    say "dockerd (pid $pid) is starting; waiting"
  else
    mkdir -p "$run_dir" "$data_root" "$log_dir"
    rm -f "$sock" "$pidfile"
    # A dockerd that was killed leaves its containerd's pid file, and maybe
    # the containerd itself (alive, or a zombie nobody reaps): a new dockerd
    # would take that pid for a running containerd and time out talking to
    # it. Stop it if it runs, and drop the pid file so a fresh one starts.
    local containerd_pidfile="$run_dir/exec/containerd/containerd.pid" stale
    stale=$(cat "$containerd_pidfile" 2>/dev/null || true)
    if [ -n "$stale" ] && [ "$(cat "/proc/$stale/comm" 2>/dev/null)" = containerd ] \
      && [ "$(awk '{print $3}' "/proc/$stale/stat" 2>/dev/null)" != Z ]; then
      say "stopping containerd (pid $stale) left by a dockerd that is gone"
      kill "$stale" 2>/dev/null || true
      for _ in $(seq 50); do [ "$(awk '{print $3}' "/proc/$stale/stat" 2>/dev/null)" = S ] || [ "$(awk '{print $3}' "/proc/$stale/stat" 2>/dev/null)" = R ] || break; sleep 0.2; done
      kill -9 "$stale" 2>/dev/null || true
    fi
    rm -f "$containerd_pidfile"
    # Registry traffic of dockerd (pulls, pushes, buildkit's FROM lookups)
    # goes through a proxy that does not exist; localhost:5005 (the cluster
    # tier's registry) and loopback bypass it. dockerd 20.10's registry-mirrors
    # cover docker.io only, a proxy covers every registry. It does not reach
    # builds or containers: RUN steps keep the host's network (apt, npm).
    # The docker.io mirror is dead too, so even a proxy-ignoring path fails.
    HTTP_PROXY="http://127.0.0.1:$dead_port" HTTPS_PROXY="http://127.0.0.1:$dead_port" \
    NO_PROXY="localhost,127.0.0.1,::1" \
    http_proxy="" https_proxy="" no_proxy="" \
      setsid /usr/sbin/dockerd \
        --host "$host" \
        --data-root "$data_root" \
        --exec-root "$run_dir/exec" \
        --pidfile "$pidfile" \
        --storage-driver overlay2 \
        --registry-mirror "http://127.0.0.1:$dead_port" \
        --insecure-registry localhost:5005 \
        </dev/null >>"$log" 2>&1 &
    launched=$!
    say "started dockerd (pid $launched), log $log"
  fi
  local deadline=$((SECONDS + 60))
  until ready; do
    if [ $SECONDS -ge $deadline ]; then
      say "dockerd did not answer on $host within 60 s; last lines of $log:"
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    if [ -n "$launched" ] && ! kill -0 "$launched" 2>/dev/null; then
      say "dockerd exited; last lines of $log:"
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  say "dockerd ready on $host"
  print_env
}

stop() {
  local pid
  if ! pid=$(running_pid); then say "not running"; return 0; fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then say "dockerd (pid $pid) did not stop in 30 s"; exit 1; fi
    sleep 0.2
  done
  say "stopped dockerd (pid $pid)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
