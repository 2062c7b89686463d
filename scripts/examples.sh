#!/usr/bin/env bash
# Build and run the connection-pool examples over real databases:
#   SQLite (embedded), then PostgreSQL on a throwaway cluster (initdb in a
#   temp dir, loopback port), including an outage: the server is stopped
#   under running clients and started again; the pool must recover.
# Writes results/examples/{sqlite,postgresql}.{md,csv}.
#   scripts/examples.sh [--no-pg] [--results DIR] [--machine TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."

pg=1
results=results/examples
machine="$(nproc)-core $(uname -m), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
while [ $# -gt 0 ]; do
	case "$1" in
	--no-pg) pg=0; shift ;;
	--results) results="$2"; shift 2 ;;
	--machine) machine="$2"; shift 2 ;;
	*) echo "usage: $0 [--no-pg] [--results DIR] [--machine TEXT]" >&2; exit 2 ;;
	esac
done

bash scripts/deps.sh examples
cmake -S . -B build-examples -DCMAKE_BUILD_TYPE=Release -DLFPOOL_BUILD_TESTS=OFF \
	-DLFPOOL_BUILD_STRESS=OFF -DLFPOOL_BUILD_EXAMPLES=ON >/dev/null
cmake --build build-examples -j"$(nproc)" --target sqlite_pool pg_pool >/dev/null

echo "== SQLite: 10 threads x 20 queries over 8 pooled connections"
build-examples/examples/sqlite_pool --results "$results" --machine "$machine"
[ "$pg" = 1 ] || exit 0

bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
tmp=$(mktemp -d /tmp/lfpool-pg.XXXXXX)
port=54329
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"
pgctl() { as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" "$@" >/dev/null; }
cleanup() { pgctl stop -m immediate 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
as_pg "$bindir/initdb" -D "$tmp/data" -U postgres -A trust >/dev/null
start() { pgctl start -w -o "-p $port -k $tmp -c listen_addresses=127.0.0.1"; }
start
export LFPOOL_PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=2"

echo "== PostgreSQL: 10 threads x 20 queries over 8 pooled connections"
build-examples/examples/pg_pool --results "$results" --machine "$machine"

echo "== PostgreSQL outage: stop the server under running clients, start it again"
mkdir -p "$results"
outage_log="$results/postgresql_outage.log"
build-examples/examples/pg_pool --quiet --no-compare --min-seconds 8 >"$outage_log" 2>&1 &
client=$!
sleep 2
pgctl stop -m fast
echo "   server stopped"
sleep 2
start
echo "   server started again"
if wait "$client"; then
	cat "$outage_log"
	echo "outage: pool recovered, every client finished"
else
	cat "$outage_log"
	echo "outage: FAILED" >&2
	exit 1
fi
