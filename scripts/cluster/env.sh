# Settings of the real-cluster tier's node (sourced by scripts/cluster/*.sh).
# One node per machine at a time: the ports Tilt forwards (8080, 16686, 9090...) and
# the registry's localhost:5005 are fixed by the project, so two clusters could not
# coexist anyway. Everything this tier creates is named here, so teardown removes
# exactly that and nothing else.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin="$root/.cache/bin"
data=/var/lib/meshloop-cluster    # etcd, containerd root, kubelet root, registry storage
run=/run/meshloop-cluster         # sockets, pid files, containerd state
logs=/var/log/meshloop-cluster    # one log per component
lock=/run/meshloop-cluster.lock   # held (a directory, made atomically) while a run owns the node
pki="$data/pki"
kubeconfigs="$data/kubeconfig"

node_name=meshloop-control-plane  # kind's node name for cluster "meshloop"
node_ip=10.250.0.2                # a private /32 on a veth of our own (the kubelet refuses loopback)
node_if=mlk8s0                    # host end of the veth; the peer sits in netns $peer_netns
peer_if=mlk8s1
peer_netns=meshloop-cluster-peer
pod_cidr=10.244.0.0/24
pod_gw=10.244.0.1
bridge=mlk8sbr0                   # the CNI bridge
cni_network=meshloop-pods
service_cidr=10.96.0.0/16
api_service_ip=10.96.0.1
api_port=6443
etcd_port=23790                   # loopback only, off etcd's default so a system etcd is not hit
etcd_peer_port=23800
registry_addr=127.0.0.1:5005
dead_port=9                       # every other registry points here: a missing image fails at once
fw_chain=MESHLOOP-CLUSTER         # our FORWARD rules (pod traffic stays on the bridge)
cgroup_root=meshloop-cluster      # kubelet's cgroupRoot, under every cgroup v1 hierarchy
pause_image=meshloop.local/pause:1
containerd_sock="$run/containerd.sock"
kubectl="$bin/kubectl"
admin_kubeconfig="$kubeconfigs/admin.conf"
context=kind-meshloop
# kind publishes the gateway's NodePorts on the host (ctlptl.yaml extraPortMappings);
# here socat does the same: 127.0.0.1:<host port> -> node IP:<node port>.
port_mappings="8080:30080 8443:30443"
# Kernel settings the kubelet, kube-proxy and the bridge change: saved at start, restored at teardown.
sysctls="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet"

say() { printf '[cluster] %s\n' "$*" >&2; }
