// What a cluster follower adds, measured directly: one WebSocket client on the leader and one on
// the follower, in one process on one clock, subscribed to the same topic; for every `seq` both
// receive, the follower's arrival minus the leader's. No clock-offset estimate is involved, so
// the result resolves well under a millisecond (the event loop's own delay aside).
//
//   node benches/cluster_probe.mjs ws://127.0.0.1:19601/ws ws://127.0.0.1:19602/ws 20 [indices]
//
// Needs the `ws` package: `npm ci` in clients/typescript (the TypeScript client's suite does it).
// Prints one JSON line: {"pairs":N,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..,"min_ms":..}.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(new URL("../clients/typescript/package.json", import.meta.url));
const { WebSocket } = require("ws");

const [leaderUrl, followerUrl, seconds = "20", topic = "indices"] = process.argv.slice(2);
if (!leaderUrl || !followerUrl) {
  console.error("usage: cluster_probe.mjs LEADER_WS_URL FOLLOWER_WS_URL [SECONDS] [TOPIC]");
  process.exit(2);
}
const batchEvent = topic === "prices" ? "prices_batch" : "indices_update";
const arrivals = [new Map(), new Map()];

function open(url, index) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.send(JSON.stringify({ op: "subscribe", topics: [topic] }));
      resolve(ws);
    });
    ws.on("error", reject);
    ws.on("message", (data) => {
      const at = performance.now();
      const text = data.toString();
      // The seq sits near the start of a batch: no need to parse 400 KB to find it.
      if (!text.startsWith(`{"event":"${batchEvent}"`)) return;
      const m = /"seq":(\d+)/.exec(text.slice(0, 64));
      if (m) arrivals[index].set(Number(m[1]), at);
    });
  });
}

const sockets = await Promise.all([open(leaderUrl, 0), open(followerUrl, 1)]);
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
for (const s of sockets) s.close();

const extra = [];
for (const [seq, leaderAt] of arrivals[0]) {
  const followerAt = arrivals[1].get(seq);
  if (followerAt !== undefined) extra.push(followerAt - leaderAt);
}
extra.sort((a, b) => a - b);
const q = (p) => (extra.length ? extra[Math.min(extra.length - 1, Math.floor(p * extra.length))] : null);
const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
console.log(
  JSON.stringify({
    pairs: extra.length,
    leader_batches: arrivals[0].size,
    follower_batches: arrivals[1].size,
    min_ms: round(extra[0] ?? null),
    p50_ms: round(q(0.5)),
    p90_ms: round(q(0.9)),
    p99_ms: round(q(0.99)),
    max_ms: round(extra[extra.length - 1] ?? null),
  }),
);
process.exit(0);
