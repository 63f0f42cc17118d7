#!/usr/bin/env bash
# End-to-end comparison of WebSocket fan-out servers on the market-feed workload, on this machine.
#
# For each server and each connection count it starts the server on 127.0.0.1, measures its idle
# RSS, runs market-feed-load against it (which reads the server's CPU seconds and peak RSS from
# /proc over the measuring window), stops it, and finally writes a Markdown table to
# $CARGO_TARGET_DIR/compare/results.md (and prints it). Only loopback traffic; every run is bounded.
#
# Environment (all optional):
#   SERVERS       which servers, default:
#                 "market-feed floor-raw floor-tungstenite floor-fastwebsockets node-ws node-socketio python-socketio"
#                 (also available: market-feed-deflate, market-feed-server with clients that offer
#                 permessage-deflate, i.e. market-feed-load --deflate; market-feed-socketio,
#                 market-feed-server's /socket.io/ on the WebSocket transport, market-feed-load
#                 --protocol socketio; market-feed-socketio-polling, the same on the long-polling
#                 transport, market-feed-load --protocol socketio-polling)
#   CONNS         connection counts, default "100 1000 5000"
#   DURATION      measuring window in seconds, default 20
#   WARMUP        seconds between the end of the ramp and the window, default 3
#   CONNECT_RATE  new connections per second, default 500
#   CLOCK_AT      market-feed-server's shifted clock start, default 2026-01-29T10:00:00+05:30 (a trading day)
#   BASE_PORT     first port used, default 19000 (each run takes the next one)
#   BASELINE      1 (default): before its runs, each server is measured with 1 connection over the
#                 same window, and RSS/conn is (peak RSS - that run's peak RSS) / (connections - 1),
#                 so that what a server grows by on its own in a run is not counted per connection;
#                 0: RSS/conn is (peak RSS - idle RSS at start) / connections
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SERVERS="${SERVERS:-market-feed floor-raw floor-tungstenite floor-fastwebsockets node-ws node-socketio python-socketio}"
CONNS="${CONNS:-100 1000 5000}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONNECT_RATE="${CONNECT_RATE:-500}"
CLOCK_AT="${CLOCK_AT:-2026-01-29T10:00:00+05:30}"
PORT="${BASE_PORT:-19000}"
BASELINE="${BASELINE:-1}"
OUT="$CARGO_TARGET_DIR/compare"
BIN="$CARGO_TARGET_DIR/release"
VENV="$CARGO_TARGET_DIR/peers-venv"
PEERS="$ROOT/benches/peers"

case "$DURATION$WARMUP" in *[!0-9]*) echo "DURATION and WARMUP are whole seconds" >&2; exit 2;; esac
[ "$DURATION" -le 600 ] || { echo "DURATION is at most 600 s" >&2; exit 2; }

SPID=""
stop_server() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill -TERM "$SPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
  fi
  SPID=""
}
trap stop_server EXIT INT TERM

# Servers and clients need one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

wants() { case " $SERVERS " in *" $1 "*) return 0;; *) return 1;; esac; }

echo "== building release binaries" >&2
cargo build --release -q -p market-feed-load
if wants market-feed || wants market-feed-deflate || wants market-feed-socketio || wants market-feed-socketio-polling; then cargo build --release -q -p market-feed-server || true; fi

echo "== installing peers" >&2
for p in node-ws node-socketio; do
  if wants "$p"; then
    (cd "$PEERS/$p" && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
  fi
done
if wants python-socketio; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$PEERS/python-socketio/requirements.txt"
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.baseline

wait_port() { # port: wait up to 15 s for it to accept TCP connections
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$SPID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start NAME: starts the server on $PORT, sets SPID, URL and PROTO; fails when unavailable.
start() {
  local name=$1 log="$OUT/$1-$PORT.log"
  PROTO=market-feed
  URL="ws://127.0.0.1:$PORT/ws"
  case "$name" in
    market-feed|market-feed-deflate|market-feed-socketio|market-feed-socketio-polling)
      [ "$name" = market-feed-socketio ] && { PROTO=socketio; URL="ws://127.0.0.1:$PORT"; }
      [ "$name" = market-feed-socketio-polling ] && { PROTO=socketio-polling; URL="ws://127.0.0.1:$PORT"; }
      [ -x "$BIN/market-feed-server" ] || { echo "binary not built" > "$log"; return 1; }
      "$BIN/market-feed-server" --listen "127.0.0.1:$PORT" --source simulated --store memory \
        --indices-interval 1s --prices-interval 5s --clock "at:$CLOCK_AT" >"$log" 2>&1 &
      ;;
    floor-*)
      "$BIN/market-feed-floor" --listen "127.0.0.1:$PORT" --ws "${name#floor-}" >"$log" 2>&1 & ;;
    node-ws)
      PORT=$PORT node "$PEERS/node-ws/server.js" >"$log" 2>&1 & ;;
    node-socketio)
      PROTO=socketio; URL="ws://127.0.0.1:$PORT"
      PORT=$PORT node "$PEERS/node-socketio/server.js" >"$log" 2>&1 & ;;
    python-socketio)
      PROTO=socketio; URL="ws://127.0.0.1:$PORT"
      PORT=$PORT "$VENV/bin/python" "$PEERS/python-socketio/server.py" >"$log" 2>&1 & ;;
    *) echo "unknown server $name" >&2; return 1 ;;
  esac
  SPID=$!
  wait_port "$PORT" || return 1
  # The endpoint must complete a handshake and deliver a welcome before it is measured.
  timeout 30 "$BIN/market-feed-load" --url "$URL" --protocol "$PROTO" -n 1 --warmup 0s --duration 1s \
    --connect-timeout 5s --json >"$OUT/probe.json" 2>/dev/null || true
  [ "$(jq -r '.connections.established // 0' "$OUT/probe.json" 2>/dev/null)" = "1" ] || {
    echo "probe failed: $(jq -c '.failures' "$OUT/probe.json" 2>/dev/null)" >>"$log"; return 1; }
}

# measure NAME N RESULT: one run of N connections against a fresh NAME, its JSON into RESULT.
measure() {
  local name=$1 n=$2 result=$3 idle bound extra=""
  PORT=$((PORT + 1))
  echo "== $name, $n connections (port $PORT)" >&2
  if ! start "$name"; then
    echo "   not available: $(tail -n 2 "$OUT/$name-$PORT.log" 2>/dev/null | tr '\n' ' ')" >&2
    jq -n --arg s "$name" --argjson n "$n" --arg why "$(tail -n 1 "$OUT/$name-$PORT.log" 2>/dev/null)" \
      '{server:$s, n:$n, unavailable:$why}' >"$result"
    stop_server
    return
  fi
  sleep 2
  idle=$(awk '/^VmRSS:/{print $2}' "/proc/$SPID/status")
  bound=$((DURATION + WARMUP + n / CONNECT_RATE + 60))
  [ "$name" = market-feed-deflate ] && extra="--deflate"
  # shellcheck disable=SC2086
  if timeout "$bound" "$BIN/market-feed-load" --url "$URL" --protocol "$PROTO" -n "$n" $extra \
      --connect-rate "$CONNECT_RATE" --warmup "${WARMUP}s" --duration "${DURATION}s" \
      --server-pid "$SPID" --json >"$OUT/raw.json" 2>"$OUT/$name-$n.load.log"; then
    jq -c --arg s "$name" --argjson n "$n" --argjson idle "$idle" \
      '. + {server_name:$s, n:$n, server_idle_rss_kib:$idle}' "$OUT/raw.json" >"$result"
  else
    jq -n --arg s "$name" --argjson n "$n" '{server:$s, n:$n, unavailable:"load tool failed or timed out"}' >"$result"
  fi
  stop_server
  sleep 1
}

for name in $SERVERS; do
  # The memory baseline: the same server and window with one connection, so that what a
  # server grows by on its own during a run (market-feed's resume history, caches) is not
  # counted per connection.
  [ "$BASELINE" = 0 ] || measure "$name" 1 "$OUT/$name.baseline"
  for n in $CONNS; do
    measure "$name" "$n" "$OUT/$name-$n.json"
  done
done

python3 - "$OUT" "$DURATION" <<'PY' | tee "$OUT/results.md"
import json, os, sys, glob
out, duration = sys.argv[1], sys.argv[2]
rows = [json.load(open(p)) for p in glob.glob(os.path.join(out, "*.json")) if not p.endswith(("probe.json", "raw.json"))]
order = ["market-feed", "market-feed-deflate", "market-feed-socketio", "market-feed-socketio-polling", "floor-raw", "floor-fastwebsockets", "floor-tungstenite", "node-ws", "node-socketio", "python-socketio"]
key = lambda r: (r["n"], order.index(r.get("server_name", r.get("server"))) if r.get("server_name", r.get("server")) in order else 99)
floor = {r["n"]: r for r in rows if r.get("server_name") == "floor-raw"}
base = {}
for p in glob.glob(os.path.join(out, "*.baseline")):
    b = json.load(open(p))
    if "unavailable" not in b and (b.get("server") or {}).get("hwm_kib"):
        base[b["server_name"]] = b["server"]["hwm_kib"]
def per_conn(r):
    """RSS growth per connection, KiB: over the 1-connection run when there is one."""
    name, hwm = r.get("server_name"), (r.get("server") or {}).get("hwm_kib", 0)
    if name in base and r["n"] > 1:
        return (hwm - base[name]) / (r["n"] - 1)
    return (hwm - r["server_idle_rss_kib"]) / r["n"]
def lat(r, ev, q):
    l = r["events"][ev]["latency_ms"]
    return "-" if not l else f'{l[q]:.0f}' if l[q] >= 10 else f'{l[q]:.1f}'
def ratio(a, b):
    return f" ({a / b:.1f}x)" if b else ""
print(f"Window {duration} s per run; latency = receive time - quote ts (ms); CPU = server user+system seconds in the window;")
print("RSS/conn = (server peak RSS - its peak RSS with 1 connection over the same window) / (connections - 1)"
      " (without that run: - idle RSS at start, / connections). (Nx) = ratio to floor-raw at the same connection count.\n")
print("| server | conns | established | failed / closed | lost | indices p50 / p99 ms | prices p50 / p99 ms | server CPU s | peak RSS MiB | RSS/conn KiB | prices_batch wire KiB | client CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in sorted(rows, key=key):
    name = r.get("server_name", r.get("server"))
    if "unavailable" in r:
        print(f"| {name} | {r['n']} | not available: {r['unavailable'][:60]} | | | | | | | | | |")
        continue
    c, s, f = r["connections"], r["server"] or {}, floor.get(r["n"])
    cpu = s.get("cpu_s") or 0
    per = per_conn(r)
    lost = sum(e["lost"] for e in r["events"].values())
    fcpu = (f["server"] or {}).get("cpu_s") if f else None
    fper = per_conn(f) if f else None
    fp99 = lambda ev: (f["events"][ev]["latency_ms"] or {}).get("p99") if f else None
    p99i = (r["events"]["indices_update"]["latency_ms"] or {}).get("p99")
    p99p = (r["events"]["prices_batch"]["latency_ms"] or {}).get("p99")
    print(f"| {name} | {r['n']} | {c['established']} | {c['failed']} / {c['closed_early']} | {lost} "
          f"| {lat(r,'indices_update','p50')} / {lat(r,'indices_update','p99')}{ratio(p99i, fp99('indices_update')) if p99i else ''} "
          f"| {lat(r,'prices_batch','p50')} / {lat(r,'prices_batch','p99')}{ratio(p99p, fp99('prices_batch')) if p99p else ''} "
          f"| {cpu:.2f}{ratio(cpu, fcpu)} | {s.get('hwm_kib', 0) / 1024:.1f} | {per:.1f}{ratio(per, fper) if fper and fper > 0 else ''} "
          f"| {(r['events']['prices_batch'].get('wire_bytes_per_msg') or r['events']['prices_batch']['bytes'] // max(r['events']['prices_batch']['messages'], 1)) / 1024:.0f} "
          f"| {r['client']['cpu_s']} |")
PY
