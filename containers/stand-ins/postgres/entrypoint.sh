#!/bin/sh
# First start: a cluster whose superuser is POSTGRES_USER (password POSTGRES_PASSWORD over TCP),
# with the database POSTGRES_DB, as the postgres image makes it. PGPORT picks the port: with host
# networking the host's own PostgreSQL holds 5432.
set -eu
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/password
  initdb --pgdata="$data" --username="$POSTGRES_USER" --pwfile=/tmp/password \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  rm /tmp/password
  echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$data" postgres >/dev/null
  echo "postgres stand-in: cluster made, database $POSTGRES_DB"
fi
exec postgres -D "$data" -p "${PGPORT:-5432}" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories=/tmp
