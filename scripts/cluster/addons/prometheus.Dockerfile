# Prometheus 3, as the real-cluster tier runs it: prometheus3/promtool3 built
# from tools/prometheus (the pinned Go module) on the local Debian minbase
# image, laid out like the release image (/bin/prometheus, /bin/promtool,
# TSDB /prometheus, user nobody; UI and WORKDIR /ui, see below). observability/prometheus/k8s.yaml
# passes its own args, mounts the config at /etc/prometheus (ConfigMap) and the
# TSDB at /prometheus; the root filesystem stays read-only.
# Built by scripts/cluster/addon-images.sh; the base is local (nothing is pulled).
ARG BASE
FROM ${BASE}
ARG VERSION
ARG MODULE
LABEL org.opencontainers.image.title="Prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      meshloop.local/built-from="${MODULE}"
COPY prometheus /bin/prometheus
COPY promtool /bin/promtool
COPY LICENSE NOTICE /
# The release image's defaults, used only when no args are given.
COPY prometheus.yml /etc/prometheus/prometheus.yml
RUN mkdir /prometheus && chown -R 65534:65534 /etc/prometheus /prometheus && chmod g+w /prometheus
# The browser UI, built from the module's web/ui (ensure_prometheus3_ui). The
# release embeds it in the binary; a binary built without embedded assets serves
# it from ./static/mantine-ui when its working directory is named "ui"
# (web/ui/ui.go), hence this WORKDIR (the TSDB path comes from the args).
COPY mantine-ui /ui/static/mantine-ui
WORKDIR /ui
USER 65534:65534
EXPOSE 9090
VOLUME ["/prometheus"]
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
