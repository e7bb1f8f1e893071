#!/usr/bin/env bash
# HTTPS for https://localhost:8443 (the Istio ingress gateway, istio/mesh/gateway.yaml).
#
# Creates, when missing, a local certificate authority and a server certificate
# for localhost signed by it, in .cache/tls/ (git-ignored; keys never leave this
# machine), then creates or updates the Secret meshloop-tls (type
# kubernetes.io/tls) in istio-system, where the gateway reads it. Runs at
# `tilt up` as the local_resource `tls-cert` (istio/Tiltfile).
#
# The CA can only sign localhost names and 127.0.0.0/8 addresses (X.509 name
# constraints), so trusting it in a browser cannot expose other sites even if
# its key leaked. (kind publishes the gateway on 127.0.0.1 only, so no IPv6.)
# RSA keys and plain openssl options: works with OpenSSL 1.1/3 and LibreSSL. The server certificate is renewed when it expires within 30
# days; the CA (what you trust) is kept until it expires.
#
# usage: scripts/mesh/local-ca.sh [--context <kube context>] [--dir <folder>] [--dry-run]
#   --dry-run   create the files if needed, print the Secret YAML, apply nothing
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/.cache/tls"
context=""
dry_run=false
while [ $# -gt 0 ]; do
  case "$1" in
    --context) context="${2:?--context needs a value}"; shift 2 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "local-ca: unknown argument $1" >&2; exit 2 ;;
  esac
done

secret_name=meshloop-tls
secret_namespace=istio-system
ca_days=3650
# Browsers reject server certificates valid for more than 398 days.
server_days=397
renew_seconds=$((30 * 24 * 3600))

command -v openssl >/dev/null || { echo "local-ca: openssl is required (e.g. apt-get install openssl, brew install openssl)" >&2; exit 1; }
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
cd "$dir"

# Progress on stderr: with --dry-run, stdout is exactly the Secret's YAML.
say() { echo "$@" >&2; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

if [ -s ca.key ] && [ -s ca.crt ] && openssl x509 -in ca.crt -noout -checkend 0 >/dev/null; then
  say "CA: kept $dir/ca.crt"
else
  say "CA: creating $dir/ca.crt (new local CA: trust it again if you trusted the old one)"
  cat > ca.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca
[dn]
CN = meshloop local CA
O = meshloop (this machine only)
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.0/255.0.0.0
EOF
  openssl req -x509 -new -newkey rsa:2048 -nodes \
    -keyout ca.key -out ca.crt -days "$ca_days" -config ca.cnf 2>/dev/null
  rm -f server.crt # signed by the old CA
fi

server_valid() {
  [ -s server.key ] && [ -s server.crt ] &&
    openssl x509 -in server.crt -noout -checkend "$renew_seconds" >/dev/null &&
    openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1
}
if server_valid; then
  say "server certificate: kept $dir/server.crt"
else
  say "server certificate: creating $dir/server.crt for localhost and 127.0.0.1"
  cat > server.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl req -new -newkey rsa:2048 -nodes \
    -keyout server.key -out server.csr -config server.cnf 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days "$server_days" -extfile server.cnf -extensions server 2>/dev/null
  rm -f server.csr
fi
say "CA fingerprint (SHA-256): $(fingerprint ca.crt)"
say "server certificate valid until: $(openssl x509 -in server.crt -noout -enddate | cut -d= -f2)"

b64() { openssl base64 -A -in "$1"; }
secret() {
  cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: $secret_name
  namespace: $secret_namespace
  labels:
    app.kubernetes.io/part-of: meshloop
type: kubernetes.io/tls
data:
  tls.crt: $(b64 server.crt)
  tls.key: $(b64 server.key)
EOF
}

if $dry_run; then
  say "Secret $secret_namespace/$secret_name (dry run: printed, not applied):"
  secret
else
  secret | kubectl ${context:+--context "$context"} apply -f -
  say "https://localhost:8443 serves this certificate; trust $dir/ca.crt to use it without warnings (README: HTTPS)."
fi
