#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at $DATABASE_URL (default: the local cluster, user
# postgres, database test) and exports DATABASE_URL. Source it: `. scripts/postgres.sh`.
#
# On a machine with a local cluster that is down, it starts it; on a machine without
# PostgreSQL it installs it (Debian/Ubuntu, as root). It fails loudly rather than letting the
# PostgreSQL tests skip.

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

pg_up() { pg_isready -q -d "$DATABASE_URL" 2>/dev/null; }

pg_start_local() {
  local v
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  return 1
}

if ! command -v pg_isready >/dev/null 2>&1 || ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    # Trust local TCP connections for the test user, like the development setup.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' "$hba"
    done
  fi
  pg_start_local || { echo "PostgreSQL is not reachable at $DATABASE_URL" >&2; return 1 2>/dev/null || exit 1; }
fi

# The database of the URL exists (created on first use).
db="${DATABASE_URL##*/}"; db="${db%%\?*}"
base="${DATABASE_URL%/*}/postgres"
if ! psql -q "$DATABASE_URL" -c 'SELECT 1' >/dev/null 2>&1; then
  psql -q "$base" -c "CREATE DATABASE \"$db\"" >/dev/null
fi
