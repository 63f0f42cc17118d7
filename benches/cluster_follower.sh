#!/usr/bin/env bash
# What a cluster follower adds: two market-feed-server nodes (--cluster over NATS JetStream, a
# shared PostgreSQL store, simulated prices), 1,000 WebSocket clients on the leader, then 1,000 on
# the follower; the latency of each batch (from its newest quote's `ts` to the client's read) and
# each node's CPU over the window, from market-feed-load. Loopback only; every run is bounded.
#
# Needs NATS with JetStream on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432 (user postgres,
# database test). Run it under the bench lock of a shared machine:
#   flock /work/wt/BENCH.lock benches/cluster_follower.sh
#
# Environment (all optional): CONNS (default 1000), DURATION (20), WARMUP (3), TOPICS (indices),
# CLOCK_AT (a trading instant, default 2026-01-29T10:00:00+05:30; both nodes share it).
#
# Then, with `node` and clients/typescript's node_modules (`npm ci` there): CONNS clients on each
# node at once, and benches/cluster_probe.mjs with one client on each, which reports per `seq`
# the follower's arrival minus the leader's, measured in one process on one clock (no clock-offset
# estimate, so it resolves far below the load tool's 8-16 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
CONNS="${CONNS:-1000}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
TOPICS="${TOPICS:-indices}"
CLOCK_AT="${CLOCK_AT:-2026-01-29T10:00:00+05:30}"
BIN="$CARGO_TARGET_DIR/release"
cargo build --release -q -p market-feed-server -p market-feed-load

suffix="$(date +%s)$$"
NAME="mf-bench-$suffix"
SCHEMA="mf_bench_$suffix"
STORE="postgres://postgres@127.0.0.1:5432/test?schema=$SCHEMA"
LOGS="$CARGO_TARGET_DIR/cluster-bench"
mkdir -p "$LOGS"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres test -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Both nodes on one market clock: the second starts at the instant the first has reached.
start_epoch=$(date +%s.%N)
clock_for_now() {
  python3 - "$CLOCK_AT" "$start_epoch" <<'PY'
import sys, datetime, time
at = datetime.datetime.fromisoformat(sys.argv[1])
print((at + datetime.timedelta(seconds=time.time() - float(sys.argv[2]))).isoformat(timespec="milliseconds"))
PY
}
node() { # id port
  "$BIN/market-feed-server" --listen "127.0.0.1:$2" --source simulated --store "$STORE" \
    --clock "at:$(clock_for_now)" --indices-interval 1s --prices-interval 10s \
    --cluster nats://127.0.0.1:4222 --cluster-name "$NAME" --node-id "$1" --cluster-lease 10s \
    >"$LOGS/$1.log" 2>&1 &
  pids+=($!)
}
role() { curl -s "http://127.0.0.1:$1/api/v1/cluster" | python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>/dev/null || true; }

node leader 19601
for _ in $(seq 1 100); do [ "$(role 19601)" = leader ] && break; sleep 0.1; done
node follower 19602
for _ in $(seq 1 100); do [ "$(role 19602)" = follower ] && curl -sf http://127.0.0.1:19602/readyz >/dev/null && break; sleep 0.1; done
[ "$(role 19601)" = leader ] && [ "$(role 19602)" = follower ] || { echo "the nodes did not settle" >&2; exit 1; }

for who in leader:19601:0 follower:19602:1; do
  IFS=: read -r id port i <<<"$who"
  echo "== $CONNS clients on the $id"
  "$BIN/market-feed-load" --url "ws://127.0.0.1:$port/ws" -n "$CONNS" --topics "$TOPICS" \
    --warmup "${WARMUP}s" --duration "${DURATION}s" --server-pid "${pids[$i]}" --json \
    | tee "$LOGS/$id.json"
done

if command -v node >/dev/null 2>&1 && [ -d clients/typescript/node_modules/ws ]; then
  echo "== $CONNS clients on each node at once, and the paired probe"
  loads=()
  for who in leader:19601:0 follower:19602:1; do
    IFS=: read -r id port i <<<"$who"
    "$BIN/market-feed-load" --url "ws://127.0.0.1:$port/ws" -n "$CONNS" --topics "$TOPICS" \
      --warmup "${WARMUP}s" --duration "${DURATION}s" --server-pid "${pids[$i]}" --json \
      >"$LOGS/$id-paired.json" &
    loads+=($!)
  done
  sleep "$WARMUP"
  command node benches/cluster_probe.mjs ws://127.0.0.1:19601/ws ws://127.0.0.1:19602/ws "$DURATION" \
    "${TOPICS%%,*}" | tee "$LOGS/probe.json"
  wait "${loads[@]}"
else
  echo "(the paired probe needs node and npm ci in clients/typescript: skipped)"
fi
