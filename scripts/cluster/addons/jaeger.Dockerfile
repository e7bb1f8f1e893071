# Jaeger v2 all-in-one, as the real-cluster tier runs it: the binary built from
# tools/jaeger (the pinned Go module) on the local Debian minbase image, laid
# out like the release image (entrypoint /cmd/jaeger/jaeger-linux, UID 10001).
# observability/jaeger/k8s.yaml passes `--config /etc/jaeger/config.yaml`
# (ConfigMap) and mounts /tmp; the root filesystem stays read-only.
# Built by scripts/cluster/addon-images.sh; the base is local (nothing is pulled).
ARG BASE
FROM ${BASE}
ARG VERSION
ARG MODULE
LABEL org.opencontainers.image.title="Jaeger" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      meshloop.local/built-from="${MODULE}"
COPY jaeger /cmd/jaeger/jaeger-linux
COPY LICENSE /LICENSE
USER 10001:10001
EXPOSE 4317 4318 9411 13133 16686
ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]
