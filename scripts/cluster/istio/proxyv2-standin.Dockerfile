# STAND-IN tagged as Istio's proxy image (docker.io/istio/proxyv2:<tag>): Envoy cannot
# exist on these machines, so this image has no Envoy and no real pilot-agent, only
# scripts/cluster/istio/pilot-agent-standin.go (read its header for what it does and
# does not do) at the path of the real agent, which is the image's entrypoint; the
# injected containers pass their commands as args. Built by scripts/cluster/istio-images.sh.
ARG BASE
FROM ${BASE}
LABEL org.opencontainers.image.title="STAND-IN for istio/proxyv2: no Envoy, no traffic interception" \
      meshloop.local/stand-in="scripts/cluster/istio/pilot-agent-standin.go"
COPY pilot-agent /usr/local/bin/pilot-agent
ENTRYPOINT ["/usr/local/bin/pilot-agent"]
