#!/bin/bash
# The official postgres image's start-up, reduced to what PyK8s-Lab uses: as root, read the
# password (its file may be readable by root only) and hand the data folder to postgres; as
# postgres, make the cluster on first start, run the init scripts, then exec the server.
set -euo pipefail

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
    export POSTGRES_PASSWORD
    unset POSTGRES_PASSWORD_FILE
  fi
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"

run_init_scripts() {
  local script
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh) echo "running $script"; bash "$script" ;;
      *.sql) echo "running $script"; psql -v ON_ERROR_STOP=1 --username "$user" \
               --dbname "$database" --no-psqlrc -f "$script" ;;
      *) ;;
    esac
  done
}

first_start() {
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE}"
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  # Local socket only while the init scripts run, as the official image does.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$database" != postgres ]; then
    psql --username "$user" --dbname postgres --no-psqlrc -c "CREATE DATABASE \"$database\""
  fi
  run_init_scripts
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  first_start
fi
unset POSTGRES_PASSWORD
exec "$@"
