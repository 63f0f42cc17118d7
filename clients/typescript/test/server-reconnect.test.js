// Lost connections and a server restart, with the real server behind a TCP proxy the test
// controls: a cut connection resumes with the missed batches (no snapshot); a restarted server
// (new epoch) gives a fresh snapshot, and the values go on.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";

import { WebSocket } from "ws";

import { MarketFeedClient } from "../dist/index.js";
import { OPEN_FAST, eventually, next, startProxy, startServer } from "./support/server.js";

let first;
let proxy;
before(async () => {
  // A resume window of 1,000 batches (100 s of index batches here): a loaded machine's slow
  // reconnect still resumes.
  first = await startServer([...OPEN_FAST, "--resume-window", "1000"]);
  proxy = await startProxy(first.addr);
});
after(async () => {
  await proxy.close();
  await first.stop();
});

it("resumes after a cut connection and starts again from a snapshot after a server restart", async (t) => {
  const c = new MarketFeedClient({
    url: proxy.wsUrl,
    WebSocket,
    topics: ["indices", "prices"],
    reconnect: { initialDelayMs: 100, maxDelayMs: 800 },
  });
  t.after(() => c.close());
  const log = [];
  for (const event of ["welcome", "snapshot", "indices_update", "prices_batch", "gap", "disconnect"]) {
    c.on(event, (p) => log.push({ event, topic: p.topic, seq: p.seq, epoch: p.epoch, code: p.code }));
  }
  const snaps = [next(c, "snapshot", (s) => s.topic === "indices"), next(c, "snapshot", (s) => s.topic === "prices")];
  const welcome = await c.connect();
  await Promise.all(snaps);
  await eventually(() => log.filter((e) => e.event === "indices_update").length >= 3, "index updates");

  // 1. The network drops every connection: the client reconnects and resumes.
  const beforeDrop = c.topic("indices").seq;
  const mark = log.length;
  const rewelcomed = next(c, "welcome");
  proxy.drop();
  await rewelcomed;
  await eventually(() => c.topic("indices").seq >= beforeDrop + 5, "index updates after the drop");
  const afterDrop = log.slice(mark);
  assert.equal(afterDrop.filter((e) => e.event === "welcome")[0].epoch, welcome.epoch, "the same server");
  assert.deepEqual(afterDrop.filter((e) => e.event === "snapshot"), [], "resumed: no snapshot");
  assert.deepEqual(afterDrop.filter((e) => e.event === "gap"), []);
  const seqs = [beforeDrop, ...afterDrop.filter((e) => e.event === "indices_update").map((e) => e.seq)];
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `replayed in order, then live: ${seqs}`);

  // 2. The server restarts: the client sees 1001, retries while it is down, then gets the new
  // incarnation's snapshot (a new epoch, seq numbered afresh) and live values again.
  const lastNifty = c.indices.get("NIFTY 50");
  const lost = next(c, "disconnect");
  assert.equal(await first.stop(), 0);
  assert.equal((await lost).code, 1001, "server shutdown");
  await eventually(() => log.filter((e) => e.event === "disconnect").length >= 3, "attempts while the server is down");
  assert.notEqual(c.state, "open");
  assert.equal(c.live, false);
  assert.equal(c.indices.get("NIFTY 50"), lastNifty, "the last values stay while away");

  const second = await startServer(OPEN_FAST);
  try {
    // Every listener first: frames that arrive in one read are delivered together.
    const welcomed = next(c, "welcome");
    const snapped = [next(c, "snapshot", (s) => s.topic === "indices"), next(c, "snapshot", (s) => s.topic === "prices")];
    proxy.setTarget(second.addr);
    const newWelcome = await welcomed;
    assert.notEqual(newWelcome.epoch, welcome.epoch, "a new incarnation, a new epoch");
    const [snap] = await Promise.all(snapped);
    assert.equal(snap.epoch, newWelcome.epoch);
    const from = c.topic("indices").seq;
    await eventually(() => c.topic("indices").seq >= from + 3, "index updates from the new server");
    assert.equal(c.topic("indices").epoch, newWelcome.epoch);
    assert.equal(c.live, true);
    assert.ok(c.indices.get("NIFTY 50").ltp > 0);
    assert.ok(c.prices.size > 1000, `${c.prices.size} stocks`);
    assert.deepEqual(log.filter((e) => e.event === "gap"), []);
    c.close();
  } finally {
    await second.stop();
  }
});
