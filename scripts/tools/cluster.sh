# Real-cluster tier tools, sourced by scripts/ensure-tools.sh (uses its say, have,
# apt_install, must_build, $root, $bin):
#   kubernetes    kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
#                 kubelet, kube-proxy v1.34.3 from tools/kubernetes/go.mod
#   etcd          etcd 3.6 server from tools/etcd/go.mod
#   coredns       CoreDNS with only the plugins the node needs, tools/coredns
#   node-packages Debian's containerd, runc, CNI plugins, docker-registry, iptables, ...
#   prometheus3   Prometheus 3 (scripts/tools/prometheus3.sh, owned by the add-ons work)
# Binaries go to .cache/bin; a binary already on PATH is used as it is.

k8s_commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

# Like a release build, stamps the version that clients and `kubectl version` report
# (without it the binaries say v0.0.0-master and clients refuse version checks).
k8s_ldflags() {
  local v=$1 minor
  minor=$(echo "$v" | cut -d. -f2)
  local x
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=%s ' \
      "$x" "$v" "$x" "$x" "$minor" "$x" "$x" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  printf -- '-s -w'
}

# A Kubernetes binary on PATH is used as it is only when it is the pinned minor version
# (Kubernetes' version-skew policy; e.g. a kubectl v1.32 on PATH is two minors off).
k8s_on_path_ok() { # command, pinned version
  local c=$1 want=$2 got
  have "$c" || return 1
  [ "$(command -v "$c")" = "$bin/$c" ] && return 1
  case $c in
    kubectl) got=$("$c" version --client 2>/dev/null | sed -n 's/^Client Version: //p') ;;
    *) got=$("$c" --version 2>/dev/null | awk '{print $2}') ;;
  esac
  [ "${got%.*}" = "${want%.*}" ] || { say "$c: ignoring $(command -v "$c") ($got, want ${want%.*}.x)"; return 1; }
}

build_kubernetes() {
  local missing=() c start=$SECONDS version out
  version=$(cd "$root/tools/kubernetes" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' k8s.io/kubernetes)
  for c in "${k8s_commands[@]}"; do
    [ -x "$bin/$c" ] && continue
    if k8s_on_path_ok "$c" "$version"; then
      ln -sf "$(command -v "$c")" "$bin/$c"; say "$c: using $(command -v "$c")"; continue
    fi
    missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! have go; then say "kubernetes: ${missing[*]} not found and Go is not installed to build them (https://go.dev/dl)"; exit 1; fi
  say "kubernetes ${version}: building ${missing[*]} from tools/kubernetes/go.mod (cold: 15-25 min)"
  out="$root/.cache/k8s-build"
  rm -rf "$out" && mkdir -p "$out"
  local pkgs=()
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  # One go build for all of them: they share most of the dependency graph.
  (cd "$root/tools/kubernetes" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags="$(k8s_ldflags "$version")" -o "$out/" "${pkgs[@]}")
  for c in "${missing[@]}"; do mv "$out/$c" "$bin/$c"; done
  rm -rf "$out"
  say "kubernetes ${version}: built ${missing[*]} in $((SECONDS - start)) s"
}

build_etcd() {
  local start=$SECONDS version
  must_build etcd || return 0
  version=$(cd "$root/tools/etcd" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
  # The root package of go.etcd.io/etcd/server/v3 is etcd's main.
  (cd "$root/tools/etcd" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' \
    -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
  say "etcd ${version}: built in $((SECONDS - start)) s"
}

build_coredns() {
  local start=$SECONDS
  must_build coredns || return 0
  (cd "$root/tools/coredns" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' \
    -o "$bin/coredns.tmp" .)
  mv "$bin/coredns.tmp" "$bin/coredns"
  say "coredns: built in $((SECONDS - start)) s"
}

# What the node needs from Debian: a second containerd instance with CRI, runc, the CNI
# plugins (/usr/lib/cni), the local image registry, and the tools the kubelet, kube-proxy
# and the bring-up call (iptables, conntrack, ip, nsenter, mount, openssl, socat for
# port-forward).
node_packages=(containerd runc containernetworking-plugins docker-registry iptables conntrack
  iproute2 util-linux mount openssl socat ethtool ipset kmod procps)

ensure_node_packages() {
  local need=() p
  for p in "${node_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt_install "${need[@]}"
  fi
  # The docker-registry package starts a system service on :5000; the tests start their own.
  if have systemctl; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
  if [ -f /etc/init.d/docker-registry ]; then /etc/init.d/docker-registry stop >/dev/null 2>&1 || true; fi
  # The containerd package may start the system's instance; the node runs its own, so it is left as is.
  return 0
}

ensure_cluster_tool() {
  case $1 in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    coredns) build_coredns ;;
    node-packages) ensure_node_packages ;;
    prometheus3) . "$root/scripts/tools/prometheus3.sh"; ensure_prometheus3 ;;
    *) say "unknown cluster tool $1"; exit 2 ;;
  esac
}
