#!/usr/bin/env bash
# Builds the observability add-on images that can be built here into the
# container tier's Docker engine, tagged exactly as the manifests name them, so
# the real-cluster tier can import them into its node:
#   jaeger      observability/jaeger/k8s.yaml      from tools/jaeger (scripts/ensure-tools.sh jaeger)
#   prometheus  observability/prometheus/k8s.yaml  from tools/prometheus (scripts/tools/prometheus3.sh),
#               with its browser UI built by npm from the module's web/ui
#   postgres    k8s/postgres.yaml                  a STAND-IN for the official image: Debian
#               bookworm's postgresql-15 (mmdebstrap from the host's apt sources) with an
#               entrypoint of the same environment contract (addons/postgres.Dockerfile)
# Both on the local Debian minbase image (the container tier builds it; nothing
# is pulled). Not built: Loki (its Go module is AGPL-3.0, which this project may
# not use); Grafana (AGPL-3.0 too) and Kiali: the Go module proxy here does not
# serve their modules (403), so not even their servers can be built.
#
# Usage: scripts/cluster/addon-images.sh [jaeger] [prometheus] [postgres]   (default: all three)
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

# The official image cannot be pulled here: its stand-in is Debian's own package on a
# rootfs made like the minbase image (mmdebstrap, host apt sources), cached by a hash
# of its inputs (label meshloop.inputs).
build_postgres() {
  local image sources hash ctx start=$SECONDS rootfs
  image=$(sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]#]*postgres[^[:space:]#]*\).*/\1/p' "$root/k8s/postgres.yaml")
  [ -n "$image" ] || fail "no postgres image in k8s/postgres.yaml"
  sources="$root/.cache/container/debian.sources"
  [ -s "$sources" ] || fail "$sources is missing: scripts/container/base-images.sh writes it"
  hash=$({ cat "$sources"; /usr/bin/mmdebstrap --version; cat "$here/postgres.Dockerfile" "$here/postgres-entrypoint.sh"; declare -f build_postgres; } | sha256sum | cut -c1-16)
  if [ "$("$DOCKER" image inspect --format '{{ index .Config.Labels "meshloop.inputs" }}' "$image" 2>/dev/null || true)" = "$hash" ]; then
    say "$image: up to date ($hash)"; report "$image"; return
  fi
  say "$image: building the stand-in from Debian's postgresql-15 (cold: ~2 min)"
  ctx=$(mktemp -d)
  rootfs="meshloop.local/postgres-rootfs:$hash"
  # uid/gid 999 as in the official image (k8s/postgres.yaml runs as 999); no main
  # cluster (the entrypoint makes one in PGDATA), no docs.
  /usr/bin/mmdebstrap --variant=minbase --mode=root --format=tar --include=postgresql-15 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/etc/postgresql-common" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.conf"' \
    --customize-hook='chroot "$1" groupmod -g 999 postgres && chroot "$1" usermod -u 999 -g 999 postgres' \
    --customize-hook='chroot "$1" chown -R 999:999 /var/lib/postgresql /var/run/postgresql /var/log/postgresql' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
    bookworm "$ctx/rootfs.tar" "$sources" >"$ctx/mmdebstrap.log" 2>&1 \
    || { tail -n 20 "$ctx/mmdebstrap.log" >&2; rm -rf "$ctx"; fail "mmdebstrap for the postgres stand-in failed"; }
  "$DOCKER" import "$ctx/rootfs.tar" "$rootfs" >/dev/null
  cp "$here/postgres-entrypoint.sh" "$ctx/"
  local version
  version=$("$DOCKER" run --rm --network none --entrypoint /usr/lib/postgresql/15/bin/postgres "$rootfs" --version | awk '{print $3}')
  "$DOCKER" build --quiet --pull=false --network none --label "meshloop.inputs=$hash" \
    --build-arg "ROOTFS=$rootfs" --build-arg "VERSION=$version" \
    -f "$here/postgres.Dockerfile" -t "$image" "$ctx" >/dev/null || { rm -rf "$ctx"; fail "docker build of $image failed"; }
  "$DOCKER" rmi "$rootfs" >/dev/null 2>&1 || true
  rm -rf "$ctx"
  say "$image: stand-in with PostgreSQL $version built in $((SECONDS - start)) s"
  report "$image"
}

report() { "$DOCKER" image inspect --format "$1 {{.Id}} {{.Size}}" "$1"; }

. "$root/scripts/cluster/image-engine.sh"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(jaeger prometheus postgres)
for t in "${targets[@]}"; do
  case $t in
    jaeger) build_jaeger ;;
    prometheus) build_prometheus ;;
    postgres) build_postgres ;;
    loki) fail "loki: not built: its Go module (github.com/grafana/loki) is AGPL-3.0, which this project may not use" ;;
    grafana) fail "grafana: not built: its Go module is AGPL-3.0 and the module proxy here does not serve it" ;;
    kiali) fail "kiali: not built: the module proxy here does not serve github.com/kiali/kiali" ;;
    *) fail "unknown add-on $t (jaeger, prometheus, postgres)" ;;
  esac
done
