#!/usr/bin/env bash
# Stops the test node started by scripts/cluster/up.sh and removes what it created:
# pods (through the kubelet first, so CNI and mounts are released the normal way),
# processes (by the pids it recorded, and the containers in its own cgroup root),
# kube-proxy's rules (kube-proxy --cleanup), the iptables chains that appeared during
# the run, the bridge, veth, netns, mounts, cgroups and its directories; then puts back
# the kernel settings it saved. Safe to run twice, and after a crashed run.
# Logs stay in /var/log/meshloop-cluster for a post-mortem (the next run overwrites them).
set -uo pipefail
. "$(dirname "$0")/env.sh"
t0=$SECONDS
# Usage: scripts/cluster/down.sh [--force] [--keep-lock]
# A node owned by a live test run (see up.sh's lock) is left alone unless this is that
# run (MESHLOOP_CLUSTER_OWNER) or --force is given.
force=""; keep_lock=""
for a in "$@"; do case $a in --force) force=1 ;; --keep-lock) keep_lock=1 ;; esac; done
other=$(cat "$lock/owner" 2>/dev/null || true)
# (a killed owner nobody has reaped yet is a zombie: it has ended)
if [ -z "$force" ] && [ -n "$other" ] && [ "$other" != "${MESHLOOP_CLUSTER_OWNER:-}" ] && kill -0 "$other" 2>/dev/null \
  && [ "$(awk '{print $3}' "/proc/$other/stat" 2>/dev/null)" != Z ]; then
  say "the test node belongs to the running pid $other ($(tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | cut -c1-100)); not touching it (--force to stop it anyway)"
  exit 1
fi

pid_of() { [ -f "$run/pids/$1.pid" ] && cat "$run/pids/$1.pid"; }
stop() { # name...: TERM to all at once, up to 10 s for all, then KILL what is left
  local name pid i pids=()
  for name in "$@"; do
    pid=$(pid_of "$name") || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$run/pids/$name.pid"
  done
  for i in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  return 0
}
k() { "$kubectl" --kubeconfig "$admin_kubeconfig" --request-timeout=10s "$@"; }

# 1. Pods, through the kubelet: nothing may recreate them, so the controllers go first.
if [ -f "$admin_kubeconfig" ] && [ -x "$kubectl" ] && k get --raw /readyz >/dev/null 2>&1; then
  stop kube-controller-manager kube-scheduler pv-provisioner
  if [ -n "$(pid_of kubelet)" ] && kill -0 "$(pid_of kubelet)" 2>/dev/null; then
    k delete pods --all --all-namespaces --grace-period=2 --wait=true --timeout=60s >/dev/null 2>&1 ||
      say "some pods did not stop through the kubelet in 60 s; removing their containers directly"
  fi
fi

# 2. Node agents, then kube-proxy's rules.
stop kubelet kube-proxy
[ -x "$bin/kube-proxy" ] && "$bin/kube-proxy" --cleanup >/dev/null 2>&1

# 3. Containers still there: stop them through our containerd, then kill whatever is
#    left in our cgroup root (only this node's containers live there) and the shims
#    that serve our containerd socket.
if [ -S "$containerd_sock" ]; then
  for id in $(ctr -a "$containerd_sock" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr -a "$containerd_sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1
    ctr -a "$containerd_sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1
  done
fi
stop containerd
for h in /sys/fs/cgroup/*/; do
  [ -d "$h$cgroup_root" ] || continue
  find "$h$cgroup_root" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
done
for p in /proc/[0-9]*; do
  if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "containerd-shim.* -address $containerd_sock"; then
    kill -KILL "${p#/proc/}" 2>/dev/null
  fi
done

# 4. The rest of what up.sh started; then anything still running from the node's own
#    files (a run that crashed before recording a pid): their command lines name our
#    directories, which nothing else uses.
stop coredns kube-apiserver etcd registry
rest=(); for f in "$run"/pids/*.pid; do [ -f "$f" ] && rest+=("$(basename "$f" .pid)"); done
[ ${#rest[@]} -eq 0 ] || stop "${rest[@]}"
for p in /proc/[0-9]*; do
  [ "${p#/proc/}" = "$$" ] && continue
  if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qE "($data|$run)/|TCP:$node_ip:"; then
    case $(readlink "$p/exe" 2>/dev/null) in
      "$bin"/* | */containerd | */docker-registry | */socat) kill -KILL "${p#/proc/}" 2>/dev/null ;;
    esac
  fi
done

# 5. Mounts under our directories, and the pod network namespaces created during the run.
sleep 0.5
grep -E " ($data|$run)[/ ]" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done
if [ -f "$run/netns-before" ]; then
  for ns in $(ls /var/run/netns 2>/dev/null | grep '^cni-' | sort | comm -23 - "$run/netns-before"); do
    umount "/var/run/netns/$ns" 2>/dev/null; rm -f "/var/run/netns/$ns"
  done
fi

# 6. Firewall: our chain, and the KUBE-*/CNI-* chains that did not exist before the run.
iptables -D FORWARD -j "$fw_chain" 2>/dev/null
iptables -F "$fw_chain" 2>/dev/null; iptables -X "$fw_chain" 2>/dev/null
if [ -f "$run/chains-before" ]; then
  for table in filter nat mangle; do
    new=$(iptables-save -t "$table" | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p' | sort -u | comm -23 - "$run/chains-before")
    [ -n "$new" ] || continue
    for c in $new; do  # rules elsewhere that jump to it
      iptables-save -t "$table" | grep -E "^-A [^ ]+ .*-j $c( |$)" | sed 's/^-A /-D /' | while read -r rule; do
        eval "iptables -t $table $rule" 2>/dev/null
      done
    done
    for c in $new; do iptables -t "$table" -F "$c" 2>/dev/null; done
    for c in $new; do iptables -t "$table" -X "$c" 2>/dev/null; done
  done
fi

# 7. Links and the peer namespace.
ip link del "$bridge" 2>/dev/null
ip link del "$node_if" 2>/dev/null
ip netns del "$peer_netns" 2>/dev/null

# 8. cgroups (deepest first), kernel settings, files. host-local's results cache of our network too.
for h in /sys/fs/cgroup/*/; do
  [ -d "$h$cgroup_root" ] && find "$h$cgroup_root" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if [ -f "$run/sysctls" ]; then
  while IFS='=' read -r key value; do sysctl -qw "$key=$value" 2>/dev/null; done <"$run/sysctls"
fi
rm -f /var/lib/cni/results/"$cni_network"-* 2>/dev/null
# The kubelet links container logs into /var/log/containers: only links into our pod log dir go.
for l in /var/log/containers/*.log; do
  [ -L "$l" ] && case $(readlink "$l") in "$data"/*) rm -f "$l" ;; esac
done
chains_before=$(cat "$run/chains-before" 2>/dev/null)
rm -rf "$data" "$run"

# 9. Check: nothing of the node is left (else say what, and fail).
left=()
for l in "$node_if" "$bridge"; do ip link show "$l" >/dev/null 2>&1 && left+=("link $l"); done
ip netns list 2>/dev/null | grep -qw "$peer_netns" && left+=("netns $peer_netns")
for h in /sys/fs/cgroup/*/; do [ -d "$h$cgroup_root" ] && left+=("cgroup $h$cgroup_root"); done
grep -qE " ($data|$run)[/ ]" /proc/self/mounts && left+=("mounts under $data or $run")
iptables -S "$fw_chain" >/dev/null 2>&1 && left+=("chain $fw_chain")
if [ -n "$chains_before" ]; then
  extra=$(for t in filter nat mangle; do iptables-save -t "$t"; done | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p' | sort -u | comm -23 - <(printf '%s\n' "$chains_before"))
  [ -z "$extra" ] || left+=("chains $(echo $extra)")
fi
if [ ${#left[@]} -gt 0 ]; then say "left behind: ${left[*]}"; exit 1; fi
[ -n "$keep_lock" ] || rm -rf "$lock"
say "node removed in $((SECONDS - t0)) s"
