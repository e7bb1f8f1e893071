#!/usr/bin/env bash
# Builds the observability add-on images that can be built here into the
# container tier's Docker engine, tagged exactly as the manifests name them, so
# the real-cluster tier can import them into its node:
#   jaeger      observability/jaeger/k8s.yaml      from tools/jaeger (scripts/ensure-tools.sh jaeger)
#   prometheus  observability/prometheus/k8s.yaml  from tools/prometheus (scripts/tools/prometheus3.sh),
#               with its browser UI built by npm from the module's web/ui
# Both on the local Debian minbase image (the container tier builds it; nothing
# is pulled). Not built: Loki (its Go module is AGPL-3.0, which this project may
# not use); Grafana (AGPL-3.0 too) and Kiali: the Go module proxy here does not
# serve their modules (403), so not even their servers can be built.
#
# Usage: scripts/cluster/addon-images.sh [jaeger] [prometheus]   (default: both)
# Prints one line per image: "<image> <image id> <size in bytes>".
# Env: MESHLOOP_BASE_IMAGE (default meshloop.local/debian:bookworm-minbase);
#      DOCKER_HOST/DOCKER (default: scripts/container/docker-engine.sh start).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.cache/bin"
here="$root/scripts/cluster/addons"
base=${MESHLOOP_BASE_IMAGE:-meshloop.local/debian:bookworm-minbase}

say() { printf '[addon-images] %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

# The image the manifest's Deployment runs (its only `image:` line).
manifest_image() {
  local file="$root/observability/$1/k8s.yaml" images
  images=$(sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$file")
  [ "$(printf '%s\n' "$images" | grep -c .)" -eq 1 ] || fail "expected one image in $file, found: $images"
  printf '%s\n' "$images"
}

# Directory of a Go module in the module cache, as pinned by tools/<name>/go.mod.
module_dir() { # tools dir, module path
  (cd "$root/tools/$1" && GOFLAGS=-mod=readonly go mod download -json "$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}
module_version() { (cd "$root/tools/$1" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' "$2"); }

# Fails when the binary needs a shared library the image does not have
# (tools/jaeger is built with cgo, so it links glibc dynamically; Prometheus is static).
check_libraries() { # image, path of the binary in the image
  local out
  out=$("$DOCKER" run --rm --network none --entrypoint /usr/bin/ldd "$1" "$2" 2>&1) || true
  if printf '%s\n' "$out" | grep -q 'not found'; then fail "$1: $2 needs libraries the image lacks:
$out"; fi
  say "$1: $2: $(printf '%s\n' "$out" | grep -q 'not a dynamic executable' && echo 'static' || echo "dynamic, all of $(printf '%s\n' "$out" | grep -c '=>') libraries present")"
}

build() { # name, image, context dir, version, module
  local name=$1 image=$2 context=$3 start=$SECONDS
  "$DOCKER" build --quiet --pull=false --network none \
    --build-arg "BASE=$base" --build-arg "VERSION=$4" --build-arg "MODULE=$5" \
    -f "$here/$name.Dockerfile" -t "$image" "$context" >/dev/null || return 1
  say "$image: built in $((SECONDS - start)) s"
}

build_jaeger() {
  local image version dir ctx
  image=$(manifest_image jaeger)
  "$root/scripts/ensure-tools.sh" jaeger
  version=$(module_version jaeger github.com/jaegertracing/jaeger)
  dir=$(module_dir jaeger github.com/jaegertracing/jaeger)
  ctx=$(mktemp -d)
  cp "$(readlink -f "$bin/jaeger")" "$ctx/jaeger"
  cp "$dir/LICENSE" "$ctx/LICENSE"
  build jaeger "$image" "$ctx" "${image##*:}" "github.com/jaegertracing/jaeger@$version" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  check_libraries "$image" /cmd/jaeger/jaeger-linux
  report "$image"
}

build_prometheus() {
  local image version dir ctx binary_version
  image=$(manifest_image prometheus)
  # shellcheck source=../tools/prometheus3.sh
  . "$root/scripts/tools/prometheus3.sh"
  ensure_prometheus3
  ensure_prometheus3_ui
  binary_version=$("$bin/prometheus3" --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p')
  [ "v$binary_version" = "${image##*:}" ] || fail "prometheus3 is $binary_version but observability/prometheus/k8s.yaml runs $image: update tools/prometheus/go.mod"
  version=$(module_version prometheus github.com/prometheus/prometheus)
  dir=$(module_dir prometheus github.com/prometheus/prometheus)
  ctx=$(mktemp -d)
  cp "$bin/prometheus3" "$ctx/prometheus"
  cp "$bin/promtool3" "$ctx/promtool"
  cp "$dir/LICENSE" "$dir/NOTICE" "$dir/documentation/examples/prometheus.yml" "$ctx/"
  cp -R "$root/.cache/prometheus-ui/$version/mantine-ui" "$ctx/mantine-ui"
  build prometheus "$image" "$ctx" "$binary_version" "github.com/prometheus/prometheus@$version" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  check_libraries "$image" /bin/prometheus
  report "$image"
}

report() { "$DOCKER" image inspect --format "$1 {{.Id}} {{.Size}}" "$1"; }

. "$root/scripts/cluster/image-engine.sh"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(jaeger prometheus)
for t in "${targets[@]}"; do
  case $t in
    jaeger) build_jaeger ;;
    prometheus) build_prometheus ;;
    loki) fail "loki: not built: its Go module (github.com/grafana/loki) is AGPL-3.0, which this project may not use" ;;
    grafana) fail "grafana: not built: its Go module is AGPL-3.0 and the module proxy here does not serve it" ;;
    kiali) fail "kiali: not built: the module proxy here does not serve github.com/kiali/kiali" ;;
    *) fail "unknown add-on $t (jaeger, prometheus)" ;;
  esac
done
