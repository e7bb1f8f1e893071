# istiod as the real-cluster tier runs it: the real pilot-discovery, built from the
# istio.io/istio module pinned in tools/istio (scripts/tools/istio.sh), laid out like
# Istio's own pilot/docker/Dockerfile.pilot (binary in /usr/local/bin, UID/GID 1337,
# the binary as entrypoint; the install's Deployment passes `discovery ...` as args).
# On the local Debian minbase image instead of Istio's base image (nothing is pulled).
# Built by scripts/cluster/istio-images.sh.
ARG BASE
FROM ${BASE}
ARG VERSION
ARG MODULE
LABEL org.opencontainers.image.title="istiod (pilot-discovery)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      meshloop.local/built-from="${MODULE}"
COPY pilot-discovery /usr/local/bin/pilot-discovery
COPY LICENSE /LICENSE
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/pilot-discovery"]
