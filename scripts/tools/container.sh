# Container tier tools: Debian's Docker engine (docker.io: dockerd 20.10 and
# /usr/bin/docker with BuildKit) and mmdebstrap (builds the local base images).
# Sourced by scripts/ensure-tools.sh, which provides say, have, apt_install,
# $root and $bin.

ensure_container_tool() {
  case $1 in
    docker)
      local missing=()
      # /usr/local/bin/docker on some machines is a newer CLI without buildx:
      # it cannot build `RUN --mount` Dockerfiles, so check Debian's own paths.
      if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then missing+=(docker.io); fi
      if [ ! -x /usr/bin/mmdebstrap ]; then missing+=(mmdebstrap); fi
      if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
      # The package starts the system's own dockerd on the default socket; the
      # tests start theirs (scripts/container/docker-engine.sh), so leave the
      # system one alone unless the package just enabled it.
      if [ ${#missing[@]} -gt 0 ] && have systemctl; then
        systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
      fi
      say "docker: $(/usr/bin/docker --version) (/usr/bin/docker), $(/usr/bin/mmdebstrap --version)"
      ;;
    *) say "unknown container tool $1"; exit 2 ;;
  esac
}
