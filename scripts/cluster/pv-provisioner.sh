#!/usr/bin/env bash
# STAND-IN for kind's local-path provisioner (rancher/local-path-provisioner, the
# provisioner of kind's default StorageClass "standard"), for the real-cluster tier's
# node, where no provisioner image exists. Thin on purpose: every second it gives each
# Pending PersistentVolumeClaim of class "standard" a hostPath PersistentVolume in a
# fresh folder under $data/pv (mode 0777 like local-path's folders, so any pod user
# can write), bound to that claim; and deletes every Released one with its folder
# (kind's reclaim policy is Delete). Started by up.sh; down.sh stops it.
# Usage: scripts/cluster/pv-provisioner.sh   (root; KUBECONFIG-free: uses the admin kubeconfig)
set -euo pipefail
. "$(dirname "$0")/env.sh"
k() { "$kubectl" --kubeconfig "$admin_kubeconfig" "$@"; }
pvs="$data/pv"
mkdir -p "$pvs"
class=standard

while true; do
  k get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace} {.metadata.name} {.metadata.uid} {.spec.storageClassName} {.spec.resources.requests.storage}{"\n"}{end}' 2>/dev/null |
    while read -r ns name uid sc size; do
      [ "$sc" = "$class" ] || continue
      pv="pvc-$uid"
      k get pv "$pv" >/dev/null 2>&1 && continue
      mkdir -p "$pvs/$pv" && chmod 0777 "$pvs/$pv"
      k apply -f - >/dev/null <<YAML && say "provisioned $pv for $ns/$name ($size) in $pvs/$pv"
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  labels: {meshloop.local/provisioner: pv-provisioner-standin}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $class
  claimRef: {namespace: $ns, name: $name, uid: $uid}
  hostPath: {path: $pvs/$pv, type: Directory}
YAML
    done
  k get pv -l meshloop.local/provisioner=pv-provisioner-standin -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}' 2>/dev/null |
    while read -r pv; do
      [ -n "$pv" ] || continue
      k delete pv "$pv" --wait=false >/dev/null && rm -rf "${pvs:?}/$pv" && say "deleted $pv (its claim is gone)"
    done
  sleep 1
done
