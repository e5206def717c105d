#!/usr/bin/env bash
# scripts/with-postgres.sh CMD...: runs CMD with a throwaway PostgreSQL cluster on 127.0.0.1
# (a fresh data directory in a temp dir, a free port, no password: trust for local TCP only),
# exported to CMD as GOALPOST_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres, and
# stops and deletes it afterwards, whatever CMD does. Needs Debian's `postgresql` package
# (scripts/setup.sh test installs it).
set -euo pipefail
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "with-postgres: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
dir="$(mktemp -d /tmp/goalpost-pg.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# initdb and postgres refuse to run as root: run them as the package's postgres user then
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
# fsync off unless GOALPOST_PG_FSYNC=on: the cluster is thrown away; tests measure behaviour,
# benchmarks (bench:collector) turn it on to measure what a real server does
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${GOALPOST_PG_FSYNC:-off} -c max_connections=200" start >/dev/null
export GOALPOST_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
