#!/usr/bin/env bash
# A local PostgreSQL for `tilt up -- --local --postgres` (the `postgres` local_resource, data/Tiltfile).
#
#   local-postgres.sh password   print the password (made once, kept in <dir>/password)
#   local-postgres.sh serve      initdb when <dir>/data is missing, then run postgres in the
#                                foreground on 127.0.0.1:$PGPORT (database and role meshloop)
#
# The data directory (default .cache/postgres, git-ignored; MESHLOOP_POSTGRES_DIR moves it)
# survives restarts: `tilt down` stops the server, it never deletes the data.
# The server binary is `postgres` on PATH, else `pg_config --bindir`, else Debian's
# /usr/lib/postgresql/<major>/bin. postgres refuses to run as root: as root, it runs as
# the `postgres` user.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${MESHLOOP_POSTGRES_DIR:-$root/.cache/postgres}"
port="${PGPORT:-54329}"

say() { echo "local-postgres: $*" >&2; }

bindir() {
  if command -v postgres >/dev/null 2>&1; then dirname "$(command -v postgres)"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ]; then pg_config --bindir; return; fi
  local debian
  debian=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$debian" ] && [ -x "$debian/postgres" ]; then echo "$debian"; return; fi
  say "no postgres binary found (PATH, pg_config, /usr/lib/postgresql). Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set DATABASE_URL instead."
  exit 1
}

password() {
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ ! -s "$dir/password" ]; then
    (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$dir/password")
  fi
  cat "$dir/password"
}

# As root: run as the postgres user, which must own the data directory.
# `as_owner exec cmd...` replaces the calling (sub)shell with cmd.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { say "running as root needs a 'postgres' user (postgres refuses root)"; exit 1; }
    chown -R postgres: "$dir"
    if [ "$1" = exec ]; then shift; exec setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups -- "$@"; fi
    setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups -- "$@"
  else
    if [ "$1" = exec ]; then shift; exec "$@"; fi
    "$@"
  fi
}

serve() {
  local bin pw
  bin=$(bindir)
  pw=$(password)
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    say "initdb in $dir/data (first run)"
    rm -rf "$dir/data"
    (umask 077 && printf '%s\n' "$pw" >"$dir/pwfile")
    as_owner "$bin/initdb" -D "$dir/data" -U meshloop --pwfile="$dir/pwfile" -A scram-sha-256 -E UTF8 >&2
    rm -f "$dir/pwfile"
    as_owner "$bin/postgres" --single -D "$dir/data" postgres <<<'CREATE DATABASE meshloop;' >/dev/null
  fi
  # A restart right after a stop: the previous server may still be finishing its shutdown.
  if [ -s "$dir/data/postmaster.pid" ]; then
    local old i
    old=$(head -n 1 "$dir/data/postmaster.pid")
    for i in $(seq 150); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$old" 2>/dev/null; then say "another postgres (pid $old) still runs on $dir/data: stop it first"; exit 1; fi
  fi
  say "postgres $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir/data"
  # Tilt stops a serve_cmd with SIGTERM, which is postgres' "smart" shutdown (waits for every
  # client to leave); SIGINT is the fast one.
  # exec: $! must be postgres itself (a background subshell ignores SIGINT).
  (as_owner exec "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1) &
  local pid=$!
  trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
  wait "$pid" || true
  wait "$pid" 2>/dev/null || true
}

case "${1:-}" in
  password) password ;;
  serve) serve ;;
  *) echo "usage: $0 password|serve" >&2; exit 2 ;;
esac
