#!/usr/bin/env bash
# Writes to stdout the node's sandbox image meshloop.local/pause:1 as a docker-archive
# tar (for `ctr images import`): one layer holding our own pause program (tools/pause),
# built with Go when missing. No Docker needed.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ ! -x "$bin/meshloop-pause" ]; then
  mkdir -p "$bin"
  (cd "$root/tools/pause" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin/meshloop-pause" .)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs" "$work/img/layer"
cp "$bin/meshloop-pause" "$work/rootfs/pause"
tar -C "$work/rootfs" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/img/layer/layer.tar" pause
diff_id=$(sha256sum "$work/img/layer/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$diff_id" >"$work/img/config.json"
config_id=$(sha256sum "$work/img/config.json" | cut -d' ' -f1)
mv "$work/img/config.json" "$work/img/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' "$config_id" "$pause_image" >"$work/img/manifest.json"
tar -C "$work/img" --owner=0 --group=0 --numeric-owner -cf - manifest.json "$config_id.json" layer
