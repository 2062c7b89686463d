#!/usr/bin/env bash
# Build and run the connection-pool examples over real databases:
#   SQLite (embedded), then PostgreSQL on a throwaway cluster (initdb in a
#   temp dir, loopback port), including an outage: the server is stopped
#   under running clients and started again; the pool must recover. Then the
#   lfpool 0.2 lifecycle modes of pg_pool (close, failover, keepalive,
#   lifetime, leak, backoff, histograms; each ends by itself within 30 s),
#   which stop/start/restart the server through a hook script.
# Writes results/examples/{sqlite,postgresql}.{md,csv},
# postgresql_outage.log and postgresql_lifecycle.{log,md}.
#   scripts/examples.sh [--no-pg] [--lifecycle-only] [--results DIR]
#                       [--machine TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."

pg=1
demos=1
results=results/examples
machine="$(nproc)-core $(uname -m), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
while [ $# -gt 0 ]; do
	case "$1" in
	--no-pg) pg=0; shift ;;
	--lifecycle-only) demos=0; shift ;;
	--results) results="$2"; shift 2 ;;
	--machine) machine="$2"; shift 2 ;;
	*) echo "usage: $0 [--no-pg] [--lifecycle-only] [--results DIR] [--machine TEXT]" >&2; exit 2 ;;
	esac
done

bash scripts/deps.sh examples
cmake -S . -B build-examples -DCMAKE_BUILD_TYPE=Release -DLFPOOL_BUILD_TESTS=OFF \
	-DLFPOOL_BUILD_STRESS=OFF -DLFPOOL_BUILD_EXAMPLES=ON >/dev/null
cmake --build build-examples -j"$(nproc)" --target sqlite_pool pg_pool >/dev/null

if [ "$demos" = 1 ]; then
	echo "== SQLite: 10 threads x 20 queries over 8 pooled connections"
	build-examples/examples/sqlite_pool --results "$results" --machine "$machine"
fi
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

mkdir -p "$results"
if [ "$demos" = 1 ]; then
echo "== PostgreSQL: 10 threads x 20 queries over 8 pooled connections"
build-examples/examples/pg_pool --results "$results" --machine "$machine"

echo "== PostgreSQL outage: stop the server under running clients, start it again"
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
fi

# The lifecycle modes drive the server themselves through this hook.
hook="$tmp/hook.sh"
{
	echo '#!/bin/sh'
	echo "# pg_pool --lifecycle: stop|start|restart the throwaway cluster"
	printf 'pgctl() { %s "%s/pg_ctl" -D "%s/data" -l "%s/log" "$@" >/dev/null; }\n' \
		"$([ "$(id -u)" -eq 0 ] && echo "runuser -u postgres --")" "$bindir" "$tmp" "$tmp"
	echo 'case "$1" in'
	echo 'stop) pgctl stop -m fast ;;'
	echo "start) pgctl start -w -o \"-p $port -k $tmp -c listen_addresses=127.0.0.1\" ;;"
	echo 'restart) pgctl restart -m fast -w ;;'
	echo '*) echo "usage: $0 stop|start|restart" >&2; exit 2 ;;'
	echo 'esac'
} >"$hook"
chmod 755 "$hook"
export LFPOOL_PG_HOOK="$hook"

echo "== PostgreSQL lifecycle (lfpool 0.2): one mode at a time, each bounded"
life_log="$results/postgresql_lifecycle.log"
life_md="$results/postgresql_lifecycle.md"
rows="$tmp/lifecycle_rows.md"
: >"$life_log"
: >"$rows"
failed=0
for mode in close failover keepalive lifetime leak backoff histograms; do
	echo "== pg_pool --lifecycle $mode" | tee -a "$life_log"
	set +e
	timeout 45 build-examples/examples/pg_pool --lifecycle "$mode" --summary "$rows" \
		2>&1 | tee -a "$life_log"
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" != 0 ]; then
		failed=1
		grep -q "^| \`$mode\` |" "$rows" ||
			echo "| \`$mode\` | **FAIL** | exit status $rc (see the log) |" >>"$rows"
	fi
	if [ "$mode" = leak ] && command -v addr2line >/dev/null; then
		# The hint on_leak printed, followed: file and line of the site.
		sed -n 's/.*on_leak:.*addr2line -f -i -p -e \([^ ]*\) \(0x[0-9a-f]*\).*/\1 \2/p' \
			"$life_log" | head -1 | while read -r exe addr; do
			echo "addr2line -f -i -p -e $exe $addr:"
			addr2line -f -i -p -e "$exe" "$addr" | sed "s|$PWD/||g; s/^/   /"
		done | tee -a "$life_log"
	fi
	echo | tee -a "$life_log"
	# A mode that failed half-way may have left the server down.
	as_pg "$bindir/pg_ctl" -D "$tmp/data" status >/dev/null 2>&1 || start
done
{
	echo "# postgresql: lfpool 0.2 lifecycle on real connections"
	echo
	echo "Produced by \`pg_pool --lifecycle MODE\` (\`examples/pg_lifecycle.c\`,"
	echo "\`examples/pg_scenarios.c\`), run by \`scripts/examples.sh\` on $machine,"
	echo "against a throwaway PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') cluster on loopback; the server is"
	echo "stopped, started and restarted by the modes themselves. Full output:"
	echo "\`postgresql_lifecycle.log\`."
	echo
	echo "| mode | result | what happened |"
	echo "|---|---|---|"
	cat "$rows"
	if grep -q '^| second | server' "$life_log"; then
		echo
		echo "## backoff: acquires and create() calls per second"
		echo
		sed -n '/^| second | server/,/^$/p' "$life_log" | grep '^|'
	fi
	if grep -q '^| bucket |' "$life_log"; then
		echo
		echo "## histograms: lfp_stats wait/hold/create (log2 buckets)"
		echo
		sed -n '/^| bucket |/,/^$/p' "$life_log" | grep '^|'
	fi
} >"$life_md"
echo "results written to $life_md"
if [ "$failed" = 1 ]; then
	echo "lifecycle: FAILED" >&2
	exit 1
fi
