#!/usr/bin/env bash
# Builds Istio's two images, tagged exactly as `istioctl install -f
# istio/install/istio-config.yaml` names them, into the container tier's Docker engine,
# so the real-cluster tier can import them into its node:
#
#   docker.io/istio/pilot:<tag>    REAL: istiod = pilot-discovery built from the
#                                  istio.io/istio module (tools/istio, scripts/tools/istio.sh).
#                                  With it, these run for real in the cluster: istioctl
#                                  install, Istio's CRDs, istiod, its sidecar injection
#                                  webhook (it writes every injected pod spec), its
#                                  validation webhook (it checks every mesh object Tilt
#                                  applies), its CA and the per-namespace root cert ConfigMap.
#   docker.io/istio/proxyv2:<tag>  STAND-IN: Envoy cannot exist on these machines (C++; no
#                                  Debian or npm package, no Go module). The image holds
#                                  only scripts/cluster/istio/pilot-agent-standin.go: the
#                                  injected init container does nothing (no traffic
#                                  interception), the sidecars serve the agent's probe and
#                                  metrics ports, the ingress gateway forwards :8080 to the
#                                  frontend as plain HTTP. So no mTLS, no routing by
#                                  VirtualService/DestinationRule, no faults, no
#                                  AuthorizationPolicy enforcement and no Envoy telemetry
#                                  happen in the cluster; the mesh config is only validated
#                                  (istiod's webhook, istioctl analyze), not exercised.
#
# Both on the local Debian minbase image (the container tier builds it; nothing is pulled).
# Usage: scripts/cluster/istio-images.sh [pilot] [proxyv2]   (default: both)
# Prints one line per image: "<image> <image id> <size in bytes>".
# Env: MESHLOOP_BASE_IMAGE (default meshloop.local/debian:bookworm-minbase);
#      DOCKER_HOST/DOCKER (default: scripts/container/docker-engine.sh start).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.cache/bin"
here="$root/scripts/cluster/istio"
base=${MESHLOOP_BASE_IMAGE:-meshloop.local/debian:bookworm-minbase}

say() { printf '[istio-images] %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

"$root/scripts/ensure-tools.sh" istioctl pilot-discovery

# The images the install renders (istiod's container; the proxy image of the gateway
# and of the injector's values), so the tags always match what istioctl installs.
rendered=$(timeout 120 "$bin/istioctl" manifest generate -f "$root/istio/install/istio-config.yaml" 2>/dev/null) \
  || fail "istioctl manifest generate -f istio/install/istio-config.yaml failed"
images=$(printf '%s\n' "$rendered" | sed -n 's/^[[:space:]]*image: *"\{0,1\}\([^"[:space:]]*\)"\{0,1\}$/\1/p' | sort -u)
pick() { # image name (pilot, proxyv2)
  local found
  found=$(printf '%s\n' "$images" | grep -E "/$1:[^/]+$" || true)
  [ "$(printf '%s\n' "$found" | grep -c .)" -eq 1 ] || fail "expected one $1 image in the rendered install, found: ${found:-none} (all: $images)"
  printf '%s\n' "$found"
}

module_version() { (cd "$root/tools/istio" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' istio.io/istio); }
module_dir() { (cd "$root/tools/istio" && GOFLAGS=-mod=readonly go mod download -json istio.io/istio | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }

build() { # dockerfile, image, context dir, build args...
  local file=$1 image=$2 context=$3 start=$SECONDS
  shift 3
  local args=()
  for a in "$@"; do args+=(--build-arg "$a"); done
  "$DOCKER" build --quiet --pull=false --network none --build-arg "BASE=$base" "${args[@]}" \
    -f "$here/$file" -t "$image" "$context" >/dev/null || return 1
  say "$image: built in $((SECONDS - start)) s"
}

report() { "$DOCKER" image inspect --format "$1 {{.Id}} {{.Size}}" "$1"; }

build_pilot() {
  local image ctx version
  image=$(pick pilot)
  version=$("$bin/pilot-discovery" version --short 2>/dev/null | sed -n 1p)
  version=${version##* } # "client version: 1.30.3"
  [ "$version" = "${image##*:}" ] || fail "pilot-discovery says version '$version' but the install runs $image"
  ctx=$(mktemp -d)
  cp "$(readlink -f "$bin/pilot-discovery")" "$ctx/pilot-discovery"
  cp "$(module_dir)/LICENSE" "$ctx/LICENSE"
  build pilot.Dockerfile "$image" "$ctx" "VERSION=$version" "MODULE=istio.io/istio@$(module_version)" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  report "$image"
}

build_proxyv2() {
  local image ctx
  image=$(pick proxyv2)
  ctx=$(mktemp -d)
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/pilot-agent" pilot-agent-standin.go) \
    || { rm -rf "$ctx"; fail "building the proxyv2 stand-in failed"; }
  build proxyv2-standin.Dockerfile "$image" "$ctx" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  say "$image is a STAND-IN (no Envoy): see scripts/cluster/istio/pilot-agent-standin.go"
  report "$image"
}

. "$root/scripts/cluster/image-engine.sh"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pilot proxyv2)
for t in "${targets[@]}"; do
  case $t in
    pilot) build_pilot ;;
    proxyv2) build_proxyv2 ;;
    *) fail "unknown image $t (pilot, proxyv2)" ;;
  esac
done
