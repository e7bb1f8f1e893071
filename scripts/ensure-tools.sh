#!/usr/bin/env bash
# Makes the real tools the test suite runs against available in .cache/bin:
#   tilt, jaeger  - built from the Go modules pinned in tools/<name>/go.mod
#   prometheus, promtool - Debian's prometheus package (apt)
#   chromium      - Debian's chromium package (apt)
# A tool already on PATH is used as it is. Prints the tools it resolved.
# Usage: scripts/ensure-tools.sh [tilt] [jaeger] [prometheus] [chromium]  (default: all)
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

go_tool() { # name, package
  local name=$1 pkg=$2
  if [ -x "$bin/$name" ]; then return; fi
  if have "$name" && [ "$(command -v "$name")" != "$bin/$name" ]; then
    ln -sf "$(command -v "$name")" "$bin/$name"; say "$name: using $(command -v "$name")"; return
  fi
  if ! have go; then say "$name: not on PATH and Go is not installed to build it (https://go.dev/dl)"; exit 1; fi
  say "$name: building $pkg from tools/$name/go.mod (cold: several minutes)"
  local start=$SECONDS
  (cd "$root/tools/$name" && GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  say "$name: built in $((SECONDS - start)) s"
}

ensure() {
  case $1 in
    tilt) go_tool tilt github.com/tilt-dev/tilt/cmd/tilt ;;
    jaeger) go_tool jaeger github.com/jaegertracing/jaeger/cmd/jaeger ;;
    prometheus)
      if ! have prometheus && [ ! -x /usr/bin/prometheus ]; then apt_install prometheus; fi
      # The package starts a system service; the tests start their own binary.
      if have systemctl; then systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true; fi
      pkill -x prometheus-node-exporter >/dev/null 2>&1 || true
      ;;
    chromium)
      if ! have chromium && [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi ;;
    *) say "unknown tool $1"; exit 2 ;;
  esac
}

tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(tilt jaeger prometheus chromium)
for t in "${tools[@]}"; do ensure "$t"; done
