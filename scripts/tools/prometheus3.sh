#!/usr/bin/env bash
# shellcheck shell=bash
# Prometheus 3 for the real-cluster tier: built from the Go module pinned in
# tools/prometheus/go.mod (Prometheus 3.10.0, the version the manifests name)
# into .cache/bin as prometheus3 and promtool3, next to Debian's 2.x
# `prometheus`, which they do not shadow.
#
# Built like the release (.promu.yml): tag netgo, CGO off, so the binaries are
# static and run on a minimal base image. Not built: the `builtinassets` tag,
# whose embedded web UI comes from an npm build the Go module does not ship;
# without it the API, /metrics, /-/ready and /-/healthy all work, only the
# browser UI pages are missing.
#
# Sourced by scripts/tools/cluster.sh (scripts/ensure-tools.sh prometheus3) and
# by scripts/cluster/addon-images.sh; also runnable directly:
#   scripts/tools/prometheus3.sh   -> prints the path of prometheus3

ensure_prometheus3() {
  local root bin mod start version
  root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  bin=${bin:-$root/.cache/bin}
  mod="$root/tools/prometheus"
  mkdir -p "$bin"
  if [ -x "$bin/prometheus3" ] && [ -x "$bin/promtool3" ]; then return 0; fi
  if ! command -v go >/dev/null 2>&1; then
    printf '[ensure-tools] prometheus3: Go is needed to build it from tools/prometheus/go.mod (https://go.dev/dl)\n' >&2
    return 1
  fi
  start=$SECONDS
  printf '[ensure-tools] prometheus3: building from tools/prometheus/go.mod (cold: several minutes)\n' >&2
  version=$(cd "$mod" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
  # Module v0.310.0 is Prometheus 3.10.0: stamp the release version like promu does.
  local v=${version#v0.} mm
  mm=${v%%.*}
  version="${mm:0:1}.$((10#${mm:1})).${v#*.}"
  local ldflags="-s -w -X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildUser=meshloop -X github.com/prometheus/common/version.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"
  local cmd
  for cmd in prometheus promtool; do
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -tags netgo \
      -ldflags="$ldflags" -o "$bin/${cmd}3.tmp" "github.com/prometheus/prometheus/cmd/$cmd") || return 1
    mv "$bin/${cmd}3.tmp" "$bin/${cmd}3"
  done
  printf '[ensure-tools] prometheus3: built %s in %d s\n' "$version" "$((SECONDS - start))" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_prometheus3
  printf '%s\n' "$(cd "$(dirname "$0")/../.." && pwd)/.cache/bin/prometheus3"
fi
