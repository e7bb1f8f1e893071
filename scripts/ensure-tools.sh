#!/usr/bin/env bash
# Makes the real tools the test suite runs against available in .cache/bin:
#   tilt, jaeger  - built from the Go modules pinned in tools/<name>/go.mod
#   prometheus    - Prometheus 3 and promtool, built from tools/prometheus/go.mod as
#                   prometheus3 and promtool3 (scripts/tools/prometheus3.sh); the
#                   release the cluster runs, not Debian's 2.x
#   chromium      - Debian's chromium package (apt)
#   docker        - Debian's docker.io (dockerd 20.10, docker CLI with BuildKit) and
#                   mmdebstrap, for the container tier (scripts/tools/container.sh)
#   node-packages - Debian's containerd, runc, CNI plugins, docker-registry, iptables...
#                   for the real-cluster tier's node (scripts/tools/cluster.sh)
#   kubernetes, etcd, coredns - built from tools/<name>/go.mod (scripts/tools/cluster.sh)
#   istioctl, pilot-discovery - built from tools/istio/go.mod (scripts/tools/istio.sh)
#   postgres      - Debian's postgresql package (apt); its binaries stay in
#                   /usr/lib/postgresql/<major>/bin (tests start their own server in a temp dir)
#   istio-iptables - Istio's capture rules, built from tools/istio-iptables/go.mod
# A tool already on PATH is used as it is. Prints the tools it resolved.
# Usage: scripts/ensure-tools.sh [tool...]  (default: tilt jaeger prometheus chromium)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.cache/bin"
mkdir -p "$bin"

say() { printf '[ensure-tools] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if ! have apt-get; then
    say "cannot install $* : apt-get is not available; install it yourself and put it on PATH"
    exit 1
  fi
  say "apt-get install $*"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Succeeds when $1 must be built: it is neither in .cache/bin nor on PATH
# (a binary on PATH is linked into .cache/bin and used as it is).
must_build() {
  local name=$1
  if [ -x "$bin/$name" ]; then return 1; fi
  if have "$name" && [ "$(command -v "$name")" != "$bin/$name" ]; then
    ln -sf "$(command -v "$name")" "$bin/$name"; say "$name: using $(command -v "$name")"; return 1
  fi
  if ! have go; then say "$name: not on PATH and Go is not installed to build it (https://go.dev/dl)"; exit 1; fi
  say "$name: building from tools/$name/go.mod (cold: several minutes)"
}

go_tool() { # name, package
  local name=$1 pkg=$2 start=$SECONDS
  must_build "$name" || return 0
  (cd "$root/tools/$name" && GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  say "$name: built in $((SECONDS - start)) s"
}

# Tilt's web UI is compiled by its release process into pkg/assets/build, which
# the Go module ships empty; without it `tilt up` and `tilt ci` refuse to start.
# So Tilt is built from a writable copy of the pinned module with a placeholder
# page there (the HTTP API, apiserver and engine are all real; only the browser
# UI is missing), and stamped with its release version like a release build.
build_tilt() {
  local mod="$root/tools/tilt" work="$root/.cache/tilt-build" start=$SECONDS version src
  must_build tilt || return 0
  version=$(cd "$mod" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' github.com/tilt-dev/tilt)
  src=$(cd "$mod" && GOFLAGS=-mod=readonly go mod download -json github.com/tilt-dev/tilt | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$work" && mkdir -p "$work"
  cp -R "$src" "$work/tilt" && chmod -R u+w "$work/tilt"
  printf '%s\n' '<!doctype html><meta charset="utf-8"><title>Tilt</title><p>Tilt built from its Go module for tests: no web UI. Use tilt get, tilt logs and the API.</p>' \
    >"$work/tilt/pkg/assets/build/index.html"
  cp "$mod/go.mod" "$mod/go.sum" "$work/"
  (cd "$work" && go mod edit -replace "github.com/tilt-dev/tilt=$work/tilt" \
    && GOFLAGS=-mod=readonly go build -trimpath \
      -ldflags="-s -w -X main.version=${version#v} -X main.date=$(date -u +%Y-%m-%d)" \
      -o "$bin/tilt.tmp" github.com/tilt-dev/tilt/cmd/tilt)
  mv "$bin/tilt.tmp" "$bin/tilt"
  rm -rf "$work"
  say "tilt: built ${version} in $((SECONDS - start)) s"
}

# Debian installs the server binaries under /usr/lib/postgresql/<major>/bin, off PATH.
ensure_postgres() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/postgres" ]; then
    apt_install postgresql
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  say "postgres: using $dir"
}

ensure() {
  case $1 in
    tilt) build_tilt ;;
    jaeger) go_tool jaeger github.com/jaegertracing/jaeger/cmd/jaeger ;;
    prometheus) . "$root/scripts/tools/prometheus3.sh"; ensure_prometheus3 ;;
    chromium)
      if ! have chromium && [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi ;;
    # Container tier (Docker engine, mmdebstrap): scripts/tools/container.sh
    docker) . "$root/scripts/tools/container.sh"; ensure_container_tool "$1" ;;
    # Real-cluster tier (Kubernetes, etcd, CoreDNS, Prometheus 3, node packages): scripts/tools/cluster.sh
    kubernetes|etcd|coredns|prometheus3|node-packages) . "$root/scripts/tools/cluster.sh"; ensure_cluster_tool "$1" ;;
    # istioctl and pilot-discovery (istiod) from the istio.io/istio module: scripts/tools/istio.sh
    istioctl|pilot-discovery) . "$root/scripts/tools/istio.sh"; ensure_istio_tool "$1" ;;
    postgres) ensure_postgres ;;
    # Istio's sidecar capture rules (istio-init's command) from tools/istio-iptables/go.mod
    istio-iptables) go_tool istio-iptables . ;;
    *) say "unknown tool $1"; exit 2 ;;
  esac
}

tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(tilt jaeger prometheus chromium)
for t in "${tools[@]}"; do ensure "$t"; done
