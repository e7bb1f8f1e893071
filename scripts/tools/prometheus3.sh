#!/usr/bin/env bash
# shellcheck shell=bash
# Prometheus 3 for the real-cluster tier: built from the Go module pinned in
# tools/prometheus/go.mod (Prometheus 3.10.0, the version the manifests name)
# into .cache/bin as prometheus3 and promtool3, next to Debian's 2.x
# `prometheus`, which they do not shadow.
#
# Built like the release (.promu.yml): tag netgo, CGO off, so the binaries are
# static and run on a minimal base image. Without the `builtinassets` tag: the
# release embeds its browser UI, which an npm build makes from the module's
# web/ui sources; ensure_prometheus3_ui makes it the same way, and the image
# (scripts/cluster/addon-images.sh) serves it from the file system. The binaries
# alone serve the API, /metrics and the probes (the tests outside the cluster
# need no UI).
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

# Prometheus's browser UI from the pinned module's web/ui (mantine-ui), built as
# the release builds it: npm ci (install scripts off: nothing there needs them),
# then the two CodeMirror PromQL modules, then the app (~1 min warm npm cache).
# Output: .cache/prometheus-ui/<module version>/mantine-ui (index.html, assets/).
# npm's output goes to stderr: callers print results on stdout.
ensure_prometheus3_ui() {
  local root mod version src out work start
  root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  mod="$root/tools/prometheus"
  version=$(cd "$mod" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
  out="$root/.cache/prometheus-ui/$version"
  if [ -f "$out/mantine-ui/index.html" ]; then return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    printf '[ensure-tools] prometheus UI: npm is needed to build it from the module web/ui\n' >&2
    return 1
  fi
  start=$SECONDS
  src=$(cd "$mod" && GOFLAGS=-mod=readonly go mod download -json github.com/prometheus/prometheus | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$root/.cache"
  work=$(mktemp -d "$root/.cache/prometheus-ui-build.XXXXXX")
  cp -R "$src/web/ui" "$work/" && chmod -R u+w "$work"
  if ! (cd "$work/ui" \
    && npm ci --no-audit --no-fund --ignore-scripts \
    && npm run build -w @prometheus-io/lezer-promql \
    && npm run build -w @prometheus-io/codemirror-promql \
    && npm run build -w @prometheus-io/mantine-ui) >&2; then
    rm -rf "$work"
    printf '[ensure-tools] prometheus UI: the npm build of web/ui failed\n' >&2
    return 1
  fi
  rm -rf "$out" && mkdir -p "$out"
  mv "$work/ui/mantine-ui/dist" "$out/mantine-ui"
  rm -rf "$work"
  printf '[ensure-tools] prometheus UI: built %s in %d s\n' "$version" "$((SECONDS - start))" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_prometheus3
  printf '%s\n' "$(cd "$(dirname "$0")/../.." && pwd)/.cache/bin/prometheus3"
fi
