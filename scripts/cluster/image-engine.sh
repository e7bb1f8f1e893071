# shellcheck shell=bash
# Sourced by the image scripts of the real-cluster tier (istio-images.sh,
# addon-images.sh): the container tier's Docker engine (started when
# DOCKER_HOST is unset), Debian's docker CLI with BuildKit, and a check that
# the local base image `$base` exists. Needs `root`, `base` and `fail` set.
if [ -z "${DOCKER_HOST:-}" ]; then
  eval "$("$root/scripts/container/docker-engine.sh" start)"
  export DOCKER_HOST DOCKER_BUILDKIT
fi
DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-1}
"$DOCKER" image inspect "$base" >/dev/null 2>&1 \
  || fail "base image $base is not in the Docker engine at $DOCKER_HOST: the container tier builds it (test/support/docker.ts ensureBaseImages)"
