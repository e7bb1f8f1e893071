#!/usr/bin/env bash
# Brings up the real-cluster tier's single Kubernetes v1.34.3 node on this machine:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a containerd instance
# of its own (CRI), a real kubelet, kube-proxy (iptables), CoreDNS, the local registry
# on localhost:5005 and kind's host port mappings. Nothing leaves the machine: the node
# address is a private /32 on a veth of our own, pod traffic that would leave the CNI
# bridge is dropped, pods get no upstream DNS, and every image registry but
# localhost:5005 points at a dead local port.
#
# Usage: scripts/cluster/up.sh         (root; prints KUBECONFIG=... when ready)
#        scripts/cluster/down.sh       stops and removes everything this started
# Tools: scripts/ensure-tools.sh kubernetes etcd coredns node-packages
# Logs: /var/log/meshloop-cluster/<component>.log
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "$(id -u)" -ne 0 ]; then say "the node needs root (kubelet, containerd, iptables)"; exit 1; fi

# --- one node at a time; a crashed run's leftovers are removed first -------------------
# The lock names the process that owns the node (the test run: MESHLOOP_CLUSTER_OWNER,
# else the caller); while it lives, nobody else may start or take over the node.
# MESHLOOP_CLUSTER_WAIT=<seconds> waits that long for another run to finish (default: fail at once).
owner=${MESHLOOP_CLUSTER_OWNER:-$PPID}
wait_until=$((SECONDS + ${MESHLOOP_CLUSTER_WAIT:-0}))
until mkdir "$lock" 2>/dev/null; do
  other=$(cat "$lock/owner" 2>/dev/null || true)
  # (a killed owner nobody has reaped yet is a zombie: it has ended)
  if [ -n "$other" ] && kill -0 "$other" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$other/stat" 2>/dev/null)" != Z ]; then
    if [ "$SECONDS" -lt "$wait_until" ]; then sleep 2; continue; fi
    say "the test node is in use by pid $other ($(tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | cut -c1-100)); wait for it, or stop it with scripts/cluster/down.sh"
    exit 1
  fi
  say "the run that owned the node (pid ${other:-?}) has ended; taking over"
  break
done
echo "$owner" >"$lock/owner"
if [ -e "$run" ] || [ -e "$data" ] || ip link show "$node_if" >/dev/null 2>&1; then
  say "removing what a previous run left behind"
  MESHLOOP_CLUSTER_OWNER=$owner "$(dirname "$0")/down.sh" --keep-lock
fi

start_all=$SECONDS
for t in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy etcd coredns; do
  [ -x "$bin/$t" ] || { say "$t missing: run scripts/ensure-tools.sh kubernetes etcd coredns"; exit 1; }
done
for t in containerd ctr runc docker-registry iptables iptables-save conntrack socat openssl ip nsenter; do
  command -v "$t" >/dev/null || { say "$t missing: run scripts/ensure-tools.sh node-packages"; exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { say "/usr/lib/cni/bridge missing: run scripts/ensure-tools.sh node-packages"; exit 1; }

mkdir -p "$run/pids" "$data" "$logs" "$kubeconfigs"
# What existed before us, so that teardown removes only what this run added.
iptables-save | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort -u >"$run/chains-before"
ls /var/run/netns 2>/dev/null | sort >"$run/netns-before" || true
: >"$run/sysctls"
for s in $sysctls; do
  v=$(sysctl -n "$s" 2>/dev/null) && printf '%s=%s\n' "$s" "$v" >>"$run/sysctls"
done

# Starts a daemon in its own session, logging to $logs/<name>.log; its pid goes to $run/pids.
daemon() { # name, command...
  local name=$1; shift
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/pids/$name.pid"
}
wait_for() { # what, seconds, command...
  local what=$1 limit=$2 t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $((SECONDS - t0)) -ge "$limit" ]; then say "$what not ready after ${limit}s; see $logs"; exit 1; fi
    sleep 0.2
  done
  say "$what ready ($((SECONDS - t0)) s)"
}
alive() { kill -0 "$(cat "$run/pids/$1.pid")" 2>/dev/null; }

# --- network: node address, bridge rules, kernel settings ----------------------------
ip netns add "$peer_netns"
ip link add "$node_if" type veth peer name "$peer_if" netns "$peer_netns"
ip addr add "$node_ip/32" dev "$node_if"
ip link set "$node_if" up
ip -n "$peer_netns" link set "$peer_if" up
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
# dockerd's FORWARD policy is DROP: accept traffic within our bridge, drop pod traffic
# that would leave it (nothing from a pod is routed off the machine).
iptables -N "$fw_chain"
iptables -A "$fw_chain" -i "$bridge" -o "$bridge" -j ACCEPT
iptables -A "$fw_chain" -i "$bridge" -j DROP
iptables -I FORWARD 1 -j "$fw_chain"
# kubelet cgroups live under a root of our own in every v1 hierarchy.
for h in /sys/fs/cgroup/*/; do
  [ -d "$h" ] && [ "$(basename "$h")" != unified ] && mkdir -p "$h$cgroup_root" 2>/dev/null || true
done

# --- certificates and kubeconfigs ---------------------------------------------------
"$(dirname "$0")/pki.sh"
kubeconfig() { # file, user cert name, [context]
  local ctx=${3:-$context}
  KUBECONFIG="$kubeconfigs/$1" "$kubectl" config set-cluster "$ctx" --server="https://$node_ip:$api_port" \
    --certificate-authority="$pki/ca.crt" --embed-certs=true >/dev/null
  KUBECONFIG="$kubeconfigs/$1" "$kubectl" config set-credentials "$ctx" \
    --client-certificate="$pki/$2.crt" --client-key="$pki/$2.key" --embed-certs=true >/dev/null
  KUBECONFIG="$kubeconfigs/$1" "$kubectl" config set-context "$ctx" --cluster="$ctx" --user="$ctx" >/dev/null
  KUBECONFIG="$kubeconfigs/$1" "$kubectl" config use-context "$ctx" >/dev/null
}
kubeconfig admin.conf admin
kubeconfig controller-manager.conf controller-manager default
kubeconfig scheduler.conf scheduler default
kubeconfig kubelet.conf kubelet default
kubeconfig kube-proxy.conf kube-proxy default

# --- registry (Debian's docker-registry) ----------------------------------------------
mkdir -p "$data/registry"
cat >"$data/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $data/registry}
  delete: {enabled: true}
http: {addr: $registry_addr}
YAML
daemon registry docker-registry serve "$data/registry.yml"

# --- etcd and the control plane -------------------------------------------------------
daemon etcd "$bin/etcd" --name default --data-dir "$data/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "default=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls "" \
  --unsafe-no-fsync --log-level warn
wait_for etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

daemon kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address="$node_ip" --advertise-address="$node_ip" --secure-port="$api_port" \
  --service-cluster-ip-range="$service_cidr" \
  --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false
wait_for kube-apiserver 90 "$kubectl" --kubeconfig "$admin_kubeconfig" get --raw /readyz

daemon kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig="$kubeconfigs/controller-manager.conf" \
  --authentication-kubeconfig="$kubeconfigs/controller-manager.conf" --authorization-kubeconfig="$kubeconfigs/controller-manager.conf" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range="$service_cidr" --allocate-node-cidrs=false --profiling=false
daemon kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig="$kubeconfigs/scheduler.conf" \
  --authentication-kubeconfig="$kubeconfigs/scheduler.conf" --authorization-kubeconfig="$kubeconfigs/scheduler.conf" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- containerd (our own instance, CRI on) ------------------------------------------
mkdir -p "$data/containerd" "$run/containerd" "$data/cni/net.d" "$data/certs.d/_default" "$data/certs.d/localhost:5005"
cat >"$data/certs.d/localhost:5005/hosts.toml" <<TOML
server = "http://localhost:5005"
[host."http://localhost:5005"]
  capabilities = ["pull", "resolve"]
TOML
# Every other registry: a dead local port, so a missing image fails at once.
cat >"$data/certs.d/_default/hosts.toml" <<TOML
server = "http://127.0.0.1:$dead_port"
[host."http://127.0.0.1:$dead_port"]
  capabilities = ["pull", "resolve"]
TOML
cat >"$data/cni/net.d/10-meshloop.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$cni_network",
  "plugins": [
    {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$data/cni/ipam", "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gw"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
JSON
cat >"$data/containerd.toml" <<TOML
version = 2
root = "$data/containerd"
state = "$run/containerd"
[grpc]
  address = "$containerd_sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$data/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # This VM withholds CAP_SYS_RESOURCE: without this runc fails for every pod sandbox.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$data/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$data/certs.d"
TOML
daemon containerd containerd --config "$data/containerd.toml"
wait_for containerd 30 ctr -a "$containerd_sock" version

# The sandbox image: our own pause program in a one-layer image, imported like `kind load`.
"$(dirname "$0")/pause-image.sh" | ctr -a "$containerd_sock" -n k8s.io images import - >/dev/null
say "imported $pause_image"

# --- kubelet -------------------------------------------------------------------------
mkdir -p "$data/kubelet" "$data/pod-logs"
cat >"$data/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_root
failCgroupV1: false
failSwapOn: false
clusterDNS: [$node_ip]
clusterDomain: cluster.local
# No host resolv.conf: pods get the cluster DNS only, never an upstream resolver.
resolvConf: ""
containerRuntimeEndpoint: unix://$containerd_sock
podLogsDir: $data/pod-logs
serializeImagePulls: false
# The test machine's disk is shared: do not evict pods for it, nor collect images.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
daemon kubelet "$bin/kubelet" --config="$data/kubelet.yaml" --kubeconfig="$kubeconfigs/kubelet.conf" \
  --root-dir="$data/kubelet" --cert-dir="$data/kubelet/pki" \
  --hostname-override="$node_name" --node-ip="$node_ip" --v=1
wait_for "node $node_name" 60 sh -c "'$kubectl' --kubeconfig '$admin_kubeconfig' get node '$node_name' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

# --- kube-proxy ------------------------------------------------------------------------
cat >"$data/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $kubeconfigs/kube-proxy.conf}
clusterCIDR: $pod_cidr
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$node_ip/32"]
# No NodePorts on 127.0.0.1 (that would set net.ipv4.conf.all.route_localnet).
iptables: {localhostNodePorts: false}
# Leave the machine's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
daemon kube-proxy "$bin/kube-proxy" --config="$data/kube-proxy.yaml" --hostname-override="$node_name"
wait_for kube-proxy 30 curl -sf http://127.0.0.1:10256/healthz

# --- CoreDNS on the node address (answers cluster.local only) --------------------------
cat >"$data/Corefile" <<COREFILE
.:53 {
    bind $node_ip
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $admin_kubeconfig $context
        pods insecure
    }
    cache 5
    loadbalance
}
COREFILE
daemon coredns "$bin/coredns" -conf "$data/Corefile"
wait_for coredns 30 curl -sf http://127.0.0.1:18181/ready

# --- kind's host port mappings (ctlptl.yaml extraPortMappings) ------------------------
for m in $port_mappings; do
  daemon "port-${m%%:*}" socat "TCP-LISTEN:${m%%:*},bind=127.0.0.1,reuseaddr,fork" "TCP:$node_ip:${m##*:}"
done

# --- what ctlptl writes: the local registry's address for Tilt -------------------------
"$kubectl" --kubeconfig "$admin_kubeconfig" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:5005"
    help: "https://github.com/tilt-dev/ctlptl"
YAML
wait_for "default service account" 30 "$kubectl" --kubeconfig "$admin_kubeconfig" -n default get serviceaccount default

# --- kind's default StorageClass "standard", served by a stand-in provisioner ---------
"$kubectl" --kubeconfig "$admin_kubeconfig" apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
    meshloop.local/stand-in: "for kind's rancher.io/local-path (scripts/cluster/pv-provisioner.sh)"
provisioner: meshloop.local/pv-provisioner-standin
reclaimPolicy: Delete
volumeBindingMode: Immediate
YAML
daemon pv-provisioner "$(dirname "$0")/pv-provisioner.sh"

for p in "$run"/pids/*.pid; do
  alive "$(basename "$p" .pid)" || { say "$(basename "$p" .pid) exited; see $logs/$(basename "$p" .pid).log"; exit 1; }
done
say "node $node_name ready in $((SECONDS - start_all)) s"
echo "KUBECONFIG=$admin_kubeconfig"
