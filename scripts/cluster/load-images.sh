#!/usr/bin/env bash
# Copies images from the container tier's Docker engine straight into the test node's
# containerd, like `kind load docker-image`: for the images Tilt does not push
# (istiod, the proxyv2 stand-in, Jaeger, Prometheus). Pods then find them without a pull.
# Usage: scripts/cluster/load-images.sh IMAGE...   (DOCKER_HOST: the container tier's engine)
set -euo pipefail
. "$(dirname "$0")/env.sh"
docker=${DOCKER:-/usr/bin/docker}
[ -S "$containerd_sock" ] || { say "the node is not running (no $containerd_sock): scripts/cluster/up.sh"; exit 1; }
for image in "$@"; do
  t0=$SECONDS
  "$docker" image inspect "$image" >/dev/null 2>&1 || { say "$image is not in the Docker engine at ${DOCKER_HOST:-default}"; exit 1; }
  "$docker" save "$image" | ctr -a "$containerd_sock" -n k8s.io images import - >/dev/null
  say "loaded $image into the node in $((SECONDS - t0)) s"
done
