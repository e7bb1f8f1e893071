#!/usr/bin/env bash
# The PostgreSQL password of the cluster (k8s/postgres.yaml), like the TLS CA of
# scripts/mesh/local-ca.sh: made once, kept in .cache/postgres-cluster/password
# (git-ignored; never committed), applied as the Secret meshloop/postgres-credentials
# on every `tilt up` (the local_resource `postgres-secret`, data/Tiltfile). Kept on
# disk so a volume kept by `tilt down -- --keep-data` still opens with the same password.
#
# usage: scripts/data/postgres-secret.sh [--context <kube context>] [--dir <folder>] [--dry-run]
#   --dry-run   create the password if needed, print the Secret YAML, apply nothing
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/.cache/postgres-cluster"
context=""
dry_run=false
while [ $# -gt 0 ]; do
  case "$1" in
    --context) context="${2:?--context needs a value}"; shift 2 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "postgres-secret: unknown argument $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -s "$dir/password" ]; then
  # Hex: safe in any URL or shell, 144 bits.
  (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$dir/password")
  echo "postgres-secret: new password in $dir/password" >&2
else
  echo "postgres-secret: kept $dir/password" >&2
fi

secret() {
  cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: postgres-credentials
  namespace: meshloop
  labels:
    app.kubernetes.io/part-of: meshloop
    app.kubernetes.io/component: database
type: Opaque
data:
  password: $(base64 <"$dir/password" | tr -d '\n')
YAML
}

if $dry_run; then
  secret
else
  secret | kubectl ${context:+--context "$context"} apply -f - >&2
  echo "postgres-secret: Secret meshloop/postgres-credentials applied" >&2
fi
