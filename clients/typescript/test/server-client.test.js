// MarketFeedClient against the real market-feed-server (started by the test, simulated prices on
// a 10x trading-morning clock): subscriptions, live values, errors, ping, max_rate_ms, tokens.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { WebSocket } from "ws";

import { MarketFeedClient } from "../dist/index.js";
import { OPEN_FAST, eventually, next, startServer } from "./support/server.js";

describe("against the real server", () => {
  let server;
  before(async () => {
    server = await startServer(OPEN_FAST);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, "SIGTERM is a clean exit");
  });

  it("streams live indices and the chosen prices, with contiguous index seq", async (t) => {
    const c = new MarketFeedClient({ url: server.url(), WebSocket });
    t.after(() => c.close());
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    c.subscribe(["indices", "prices"], ["RELIANCE", "NSE_EQ|INE467B01029"]);
    const snapshots = [next(c, "snapshot", (s) => s.topic === "indices"), next(c, "snapshot", (s) => s.topic === "prices")];
    const welcome = await c.connect();
    assert.equal(welcome.protocol, 1);
    assert.match(welcome.epoch, /\S/);
    assert.equal(c.market.phase, "open");
    assert.equal(c.live, true);
    // The server's clock is at 2026-01-29 10:00 IST: the offset says so.
    assert.ok(Math.abs(c.serverNow() - Date.parse("2026-01-29T04:30:00Z")) < 3_600_000);
    const [indices, prices] = await Promise.all(snapshots);
    assert.equal(indices.epoch, welcome.epoch);
    assert.ok(prices.data.length <= 2, "a fresh server may have no prices yet; never other symbols");
    await eventually(() => c.indices.has("NIFTY 50") && c.indices.has("SENSEX"), "index levels");
    await eventually(() => c.prices.size === 2, "both prices");
    assert.deepEqual([...c.prices.keys()].sort(), ["RELIANCE", "TCS"], "only the subscribed symbols");

    // Index updates arrive with seq +1 each; the map follows them.
    const seqs = [c.topic("indices").seq];
    const off = c.on("indices_update", (u) => seqs.push(u.seq));
    await eventually(() => seqs.length >= 6, "five index updates");
    off();
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `${seqs}`);
    const nifty = c.indices.get("NIFTY 50");
    assert.ok(nifty.ts >= (indices.as_of ?? 0), "values move on");
    await next(c, "prices_batch");
    assert.equal(c.topic("prices").source, "live");
    assert.deepEqual(gaps, []);

    // A refused symbol is an error event; the known ones stay subscribed.
    // Both listeners first: the error and the snapshot may arrive in one read.
    const refused = next(c, "error");
    const narrowed = next(c, "snapshot", (s) => s.topic === "prices");
    c.subscribe(["prices"], ["RELIANCE", "NOPE"]);
    const err = await refused;
    assert.equal(err.code, "unknown_symbol");
    assert.match(err.message, /NOPE/);
    await narrowed;
    assert.deepEqual([...c.prices.keys()], ["RELIANCE"]);

    const rtt = await c.ping();
    assert.ok(rtt >= 0 && rtt < 10_000);

    c.unsubscribe(["prices"]);
    assert.equal(c.prices.size, 0);
    c.close();
    assert.equal(c.state, "closed");
  });

  it("with max_rate_ms gets fewer, merged updates and sees no gap in them", async (t) => {
    const c = new MarketFeedClient({ url: server.wsUrl, WebSocket, topics: ["indices"], maxRateMs: 1000 });
    t.after(() => c.close());
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    const snap = next(c, "snapshot");
    await c.connect();
    const first = (await snap).seq;
    const seqs = [];
    c.on("indices_update", (u) => seqs.push(u.seq));
    // At 10 index batches per second, 2.5 s of them come as about three merged updates.
    await eventually(() => seqs.length >= 3, "three merged updates");
    assert.ok(seqs[seqs.length - 1] - first >= 10, `${first} then ${seqs}`);
    assert.ok(seqs.slice(1).some((s, i) => s > seqs[i] + 1), `merged: ${seqs}`);
    assert.deepEqual(gaps, [], "merged updates skip seq by design");
    c.close();
  });
});

describe("a server that requires a token", () => {
  let server;
  before(async () => {
    server = await startServer([...OPEN_FAST, "--auth-token", "t0k3n"]);
  });
  after(async () => {
    await server.stop();
  });

  it("lets a client with the token in and keeps one without it out", async (t) => {
    const good = new MarketFeedClient({ url: server.wsUrl, WebSocket, token: "t0k3n", topics: ["indices"] });
    t.after(() => good.close());
    const snap = next(good, "snapshot");
    await good.connect();
    assert.ok((await snap).data.length > 0);
    good.close();

    const bad = new MarketFeedClient({ url: server.wsUrl, WebSocket, token: "wrong", reconnect: { initialDelayMs: 50, jitter: 0 } });
    t.after(() => bad.close());
    const lost = [];
    bad.on("disconnect", (d) => lost.push(d));
    bad.connect().catch(() => {});
    await eventually(() => lost.length >= 2, "two refused attempts");
    assert.equal(bad.state === "open", false);
    assert.equal(lost[1].retryInMs, 100, "the backoff grows while refused");
    bad.close();
  });
});
