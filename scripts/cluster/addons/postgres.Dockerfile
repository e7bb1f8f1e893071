# Stand-in for the official postgres image (k8s/postgres.yaml names it), for the
# real-cluster tier where nothing can be pulled: Debian bookworm's postgresql-15
# (a rootfs made by mmdebstrap, imported as ROOTFS), the postgres user at uid/gid 999
# as in the official image, its binaries first on PATH, and an entrypoint with the
# official image's environment contract (postgres-entrypoint.sh).
# Built by scripts/cluster/addon-images.sh postgres.
ARG ROOTFS
FROM ${ROOTFS}
ARG VERSION
LABEL org.opencontainers.image.title="PostgreSQL (meshloop stand-in for the official image)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="PostgreSQL"
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
USER 999:999
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
