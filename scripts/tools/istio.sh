# Istio tools, sourced by scripts/ensure-tools.sh (uses its say, have, apt_install,
# $root, $bin):
#   istioctl         Istio's CLI
#   pilot-discovery  istiod (the cluster tier runs it as the image docker.io/istio/pilot:1.30.3,
#                    see scripts/cluster/istio-images.sh)
# Both come from the istio.io/istio module pinned in tools/istio/go.mod and are built in
# one go build (they share most of the graph; cold ~10-20 min, build cache ~2 GB).
#
# Like a release build they are stamped with the release version: without the
# pkg/version ldflags `istioctl version` says "unknown" and `manifest generate` renders
# test images instead of the release's. The pinned pseudo-version is the release-1.30
# branch (the Go module proxy serves no tags of istio.io/istio); it is stamped 1.30.3,
# the version istio/install/istio-config.yaml and the Tiltfile pin, with its real git
# revision.
#
# pilot-discovery cannot be built from the module as it is: istiod's experimental
# agentgateway controller (PILOT_ENABLE_AGENTGATEWAY, off by default) imports
# github.com/agentgateway/agentgateway/api, which the Go module proxy does not serve.
# So, as for Tilt, the build uses a writable copy of the pinned module in which that
# controller's package is replaced by our stand-in (tools/istio/agentgateway-standin:
# the few names istiod's bootstrap uses; it refuses to start the controller);
# everything else of istiod is the module's code.

istio_version=1.30.3
istio_commands=(istioctl pilot-discovery)

istio_ldflags() { # git revision
  local v=istio.io/istio/pkg/version
  printf -- '-s -w -X %s.buildVersion=%s -X %s.buildTag=%s -X %s.buildStatus=Clean -X %s.buildHub=docker.io/istio -X %s.buildGitRevision=%s -X %s.buildOS=linux -X %s.buildArch=amd64' \
    "$v" "$istio_version" "$v" "$istio_version" "$v" "$v" "$v" "$1" "$v" "$v"
}

# istioctl installs the charts and images of its own release, so one on PATH is used
# only when it is the pinned minor version.
istio_on_path_ok() { # command
  local c=$1 got
  have "$c" || return 1
  [ "$(command -v "$c")" = "$bin/$c" ] && return 1
  case $c in
    istioctl) got=$("$c" version --remote=false --short 2>/dev/null | sed -n 1p) ;;
    *) got=$("$c" version --short 2>/dev/null | sed -n 1p) ;;
  esac
  got=${got##* }
  [ "${got%.*}" = "${istio_version%.*}" ] || { say "$c: ignoring $(command -v "$c") (${got:-no version}, want ${istio_version%.*}.x)"; return 1; }
}

build_istio() {
  local mod="$root/tools/istio" work="$root/.cache/istio-build" start=$SECONDS missing=() c pkgs=() version src
  for c in "${istio_commands[@]}"; do
    [ -x "$bin/$c" ] && continue
    if istio_on_path_ok "$c"; then ln -sf "$(command -v "$c")" "$bin/$c"; say "$c: using $(command -v "$c")"; continue; fi
    missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! have go; then say "istio: ${missing[*]} not found and Go is not installed to build them (https://go.dev/dl)"; exit 1; fi
  version=$(cd "$mod" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' istio.io/istio)
  src=$(cd "$mod" && GOFLAGS=-mod=readonly go mod download -json istio.io/istio | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { say "istio: could not download istio.io/istio $version"; exit 1; }
  rm -rf "$work" && mkdir -p "$work/out"
  cp -R "$src" "$work/istio" && chmod -R u+w "$work/istio"
  # Our stand-in replaces the agentgateway controller package (see its comment).
  rm -f "$work/istio/pilot/pkg/config/kube/agentgateway/"*.go
  cp "$mod/agentgateway-standin/controller.go" "$work/istio/pilot/pkg/config/kube/agentgateway/"
  (cd "$work/istio" && go mod edit -droprequire github.com/agentgateway/agentgateway/api)
  cp "$mod/go.mod" "$mod/go.sum" "$work/"
  for c in "${missing[@]}"; do
    case $c in
      istioctl) pkgs+=(istio.io/istio/istioctl/cmd/istioctl) ;;
      pilot-discovery) pkgs+=(istio.io/istio/pilot/cmd/pilot-discovery) ;;
    esac
  done
  say "istio ${istio_version} (istio.io/istio ${version}): building ${missing[*]}"
  # The revision is the pseudo-version's commit (its last 12 hex digits).
  (cd "$work" && go mod edit -replace "istio.io/istio=$work/istio" \
    && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -tags vtprotobuf,disable_pgv \
      -ldflags="$(istio_ldflags "${version##*-}")" -o "$work/out/" "${pkgs[@]}")
  for c in "${missing[@]}"; do mv "$work/out/$c" "$bin/$c"; done
  rm -rf "$work"
  say "istio ${istio_version}: built ${missing[*]} in $((SECONDS - start)) s"
}

ensure_istio_tool() {
  case $1 in
    istioctl|pilot-discovery) build_istio ;;
    *) say "unknown istio tool $1"; exit 2 ;;
  esac
}
