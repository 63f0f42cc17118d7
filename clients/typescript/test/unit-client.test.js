// MarketFeedClient's own logic on a fake transport: subscriptions, values, seq gaps, reconnect
// with backoff and resume, heartbeat. (The same logic against the real server: server-*.test.js.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MarketFeedClient, Subscription, backoffDelay, TopicSequence } from "../dist/index.js";
import { OPEN, fakeNetwork, quote, snapshot, update, welcome } from "./support/fake.js";

const FAST = { initialDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0 };

function client(net, options = {}) {
  return new MarketFeedClient({ url: "ws://feed.test/ws", transportFactory: net.factory, reconnect: FAST, ...options });
}

describe("backoffDelay", () => {
  it("doubles up to the cap, with jitter taking up to its share off", () => {
    assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffDelay(n, {}, () => 1)), [500, 1000, 2000, 4000, 30000]);
    assert.equal(backoffDelay(3, {}, () => 0), 2000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, { jitter: 0.5 });
      assert.ok(d >= 1000 && d <= 2000, `${d}`);
    }
    assert.equal(backoffDelay(1, { initialDelayMs: 100, factor: 3, jitter: 0 }), 300);
  });
});

describe("TopicSequence", () => {
  it("tells next, stale and gap apart, and only gaps where seq must be contiguous", () => {
    const s = new TopicSequence();
    s.snapshot("e1", 41);
    assert.deepEqual(s.batch(42, "e1", true), { kind: "next" });
    assert.deepEqual(s.batch(42, "e1", true), { kind: "stale" });
    assert.deepEqual(s.batch(40, "e1", true), { kind: "stale" });
    assert.deepEqual(s.batch(45, "e1", true), { kind: "gap", expected: 43, received: 45 });
    assert.deepEqual(s.batch(50, "e1", false), { kind: "next" });
    assert.deepEqual(s.resumePoint(), { epoch: "e1", seq: 50 });
    s.snapshot("e2", 3);
    assert.deepEqual(s.resumePoint(), { epoch: "e2", seq: 3 }, "a new epoch restarts seq lower");
    s.reset();
    assert.equal(s.resumePoint(), undefined);
  });
});

describe("Subscription", () => {
  it("builds subscribe operations, resuming only an unchanged symbol list", () => {
    const s = new Subscription(1000);
    assert.deepEqual(s.want(["prices", "indices", "prices"], ["TCS"]), ["prices", "indices"]);
    assert.deepEqual(s.topics(), ["indices", "prices"]);
    const at = (t) => ({ epoch: "e1", seq: t === "indices" ? 10 : 4 });
    assert.deepEqual(s.op(s.topics(), at), {
      op: "subscribe",
      topics: ["indices", "prices"],
      symbols: ["TCS"],
      max_rate_ms: 1000,
      resume: { indices: { epoch: "e1", seq: 10 } },
    }, "no prices resume before a list was ever sent");
    assert.deepEqual(s.op(["prices"], at).resume, { prices: { epoch: "e1", seq: 4 } });
    s.want(["prices"], ["TCS", "INFY"]);
    assert.equal(s.op(["prices"], at).resume, undefined, "a changed list takes a snapshot");
    assert.equal(s.contiguous("indices"), false, "max_rate_ms merges updates");
    const plain = new Subscription();
    plain.want(["indices", "prices"]);
    assert.deepEqual([plain.contiguous("indices"), plain.contiguous("prices")], [true, true]);
    plain.want(["prices"], ["TCS"]);
    assert.equal(plain.contiguous("prices"), false, "a symbol list skips batches");
    assert.deepEqual(plain.drop(["prices", "prices"]), ["prices"]);
    assert.deepEqual(plain.drop(["prices"]), []);
    assert.throws(() => plain.want(["news"]), /unknown topic "news"/);
  });
});

describe("MarketFeedClient", () => {
  it("subscribes after welcome and keeps the latest value per instrument", async () => {
    const net = fakeNetwork();
    const c = client(net);
    c.subscribe(["indices", "prices"], ["RELIANCE", "TCS"]);
    const connected = c.connect();
    assert.equal(c.state, "connecting");
    const conn = net.last();
    conn.recv(welcome());
    const w = await connected;
    assert.equal(w.epoch, "e1");
    assert.equal(await c.connect(), w, "connect() when open resolves with the current welcome");
    assert.equal(net.conns.length, 1);
    assert.equal(c.state, "open");
    assert.equal(c.live, true);
    assert.deepEqual(conn.sent, [{ op: "subscribe", topics: ["indices", "prices"], symbols: ["RELIANCE", "TCS"] }]);

    conn.recv(snapshot("indices", 10, [quote("NIFTY 50", 25000), quote("SENSEX", 82000)]));
    conn.recv(snapshot("prices", 3, [quote("RELIANCE", 1390), quote("TCS", 3000)]));
    conn.recv(update("indices", 11, [quote("NIFTY 50", 25010)]));
    conn.recv(update("prices", 7, [quote("TCS", 3001)]));
    assert.equal(c.indices.get("NIFTY 50").ltp, 25010);
    assert.equal(c.indices.get("SENSEX").ltp, 82000);
    assert.deepEqual([...c.indices.keys()], ["NIFTY 50", "SENSEX"], "in the server's order");
    assert.equal(c.prices.get("TCS").ltp, 3001);
    assert.equal(c.quote("NSE_EQ|RELIANCE").ltp, 1390);
    assert.deepEqual(
      { ...c.topic("prices"), symbols: [...c.topic("prices").symbols] },
      { subscribed: true, symbols: ["RELIANCE", "TCS"], live: true, source: "live", tradingDay: "2026-01-29", asOf: 1769661334000, epoch: "e1", seq: 7 },
    );
    c.close();
    assert.equal(c.state, "closed");
    assert.ok(conn.closed);
  });

  it("asks for a snapshot on a gap only where every batch must arrive", () => {
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices", "prices"], symbols: ["TCS"] });
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    c.connect();
    const conn = net.last();
    conn.recv(welcome());
    conn.recv(snapshot("indices", 10, [quote("NIFTY 50", 25000)]));
    conn.recv(snapshot("prices", 3, [quote("TCS", 3000)]));
    conn.sent.length = 0;
    // prices with a symbol list: seq skips batches without TCS.
    conn.recv(update("prices", 9, [quote("TCS", 3002)]));
    assert.deepEqual(gaps, []);
    assert.equal(c.prices.get("TCS").ltp, 3002);
    // indices: every batch comes; 12 after 10 lost 11.
    conn.recv(update("indices", 12, [quote("NIFTY 50", 25020)]));
    conn.recv(update("indices", 14, [quote("NIFTY 50", 25040)]));
    assert.deepEqual(gaps, [{ topic: "indices", expected: 11, received: 12 }], "one request per gap until the snapshot");
    assert.equal(c.indices.get("NIFTY 50").ltp, 25040, "newer values are applied anyway");
    assert.deepEqual(conn.sent, [{ op: "subscribe", topics: ["indices"] }], "a plain subscribe: a fresh snapshot");
    // A stale batch (already covered by the snapshot) is dropped.
    conn.recv(snapshot("indices", 20, [quote("NIFTY 50", 25100)]));
    conn.recv(update("indices", 20, [quote("NIFTY 50", 1)]));
    assert.equal(c.indices.get("NIFTY 50").ltp, 25100);
    conn.recv(update("indices", 22, [quote("NIFTY 50", 25120)]));
    assert.equal(gaps.length, 2, "after the snapshot, a new gap is detected again");
    c.close();
  });

  it("with max_rate_ms sends it and does not call merged updates gaps", () => {
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices"], maxRateMs: 2000 });
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    c.connect();
    net.last().recv(welcome());
    assert.deepEqual(net.last().sent, [{ op: "subscribe", topics: ["indices"], max_rate_ms: 2000 }]);
    net.last().recv(snapshot("indices", 10, [quote("NIFTY 50", 25000)]));
    net.last().recv(update("indices", 30, [quote("NIFTY 50", 25010)]));
    assert.deepEqual(gaps, []);
    assert.throws(() => new MarketFeedClient({ url: "ws://x/ws", maxRateMs: 100 }), /250 to 60000/);
    c.close();
  });

  it("reconnects with growing delays, then resumes where it left off", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices", "prices"], heartbeatMs: 0 });
    const lost = [];
    c.on("disconnect", (d) => lost.push(d.retryInMs));
    c.connect();
    net.last().recv(welcome("e1"));
    net.last().recv(snapshot("indices", 10, [quote("NIFTY 50", 25000)]));
    net.last().recv(update("indices", 11, [quote("NIFTY 50", 25010)]));
    net.last().recv(snapshot("prices", 4, [quote("TCS", 3000)]));
    net.last().lose(1006);
    assert.equal(c.state, "waiting");
    assert.equal(c.live, false, "not live while disconnected");
    assert.equal(c.indices.get("NIFTY 50").ltp, 25010, "values are kept while away");
    // Attempts fail: 100, 200, 400, 400 ms apart.
    for (const delay of [100, 200, 400, 400]) {
      const before = net.conns.length;
      t.mock.timers.tick(delay - 1);
      assert.equal(net.conns.length, before, `no attempt before ${delay} ms`);
      t.mock.timers.tick(1);
      assert.equal(net.conns.length, before + 1, `an attempt after ${delay} ms`);
      net.last().lose(1006);
    }
    assert.deepEqual(lost, [100, 200, 400, 400, 400]);
    t.mock.timers.tick(400);
    const conn = net.last();
    conn.recv(welcome("e1"));
    assert.deepEqual(conn.sent, [
      {
        op: "subscribe",
        topics: ["indices", "prices"],
        resume: { indices: { epoch: "e1", seq: 11 }, prices: { epoch: "e1", seq: 4 } },
      },
    ]);
    // The replayed batches continue the numbering: no gap, no snapshot needed.
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    conn.recv(update("indices", 12, [quote("NIFTY 50", 25020)]));
    assert.deepEqual(gaps, []);
    assert.equal(c.topic("indices").seq, 12);
    // After a successful connection the backoff starts again from the first delay.
    conn.lose(1001);
    assert.deepEqual(lost.slice(-1), [100]);
    c.close();
    t.mock.timers.tick(10_000);
    assert.equal(net.conns.length, 6, "no attempt after close()");
  });

  it("does not resume prices whose symbol list changed while away, and takes a new epoch's snapshot", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices", "prices"], symbols: ["TCS"], heartbeatMs: 0 });
    c.connect();
    net.last().recv(welcome("e1"));
    net.last().recv(snapshot("indices", 10, [quote("NIFTY 50", 25000)]));
    net.last().recv(snapshot("prices", 4, [quote("TCS", 3000)]));
    net.last().lose(1001);
    c.subscribe(["prices"], ["TCS", "INFY"]);
    t.mock.timers.tick(100);
    const conn = net.last();
    conn.recv(welcome("e2"));
    assert.deepEqual(conn.sent, [
      { op: "subscribe", topics: ["indices", "prices"], symbols: ["TCS", "INFY"], resume: { indices: { epoch: "e1", seq: 10 } } },
    ]);
    // The server restarted (epoch e2): it answers with snapshots numbered from 0.
    conn.recv(snapshot("indices", 2, [quote("NIFTY 50", 24000)], "e2"));
    conn.recv(update("indices", 3, [quote("NIFTY 50", 24010)]));
    assert.deepEqual(c.topic("indices").epoch, "e2");
    assert.equal(c.indices.get("NIFTY 50").ltp, 24010);
    c.close();
  });

  it("keeps market and feed status, ignores topics it did not ask for, forgets unsubscribed ones", () => {
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices"] });
    const changes = [];
    c.on("change", (p) => changes.push(p));
    c.connect();
    const conn = net.last();
    conn.recv(welcome("e1", { ...OPEN, live: false, phase: "closed", reason: "before_hours" }));
    assert.equal(c.live, false);
    assert.equal(c.market.reason, "before_hours");
    // Socket.IO sends both topics before the first subscribe arrives: prices is not wanted here.
    conn.recv(snapshot("prices", 1, [quote("TCS", 3000)], "e1", false));
    assert.equal(c.prices.size, 0);
    conn.recv(snapshot("indices", 1, [quote("NIFTY 50", 25000)], "e1", false));
    assert.equal(c.topic("indices").source, "close");
    conn.recv({ event: "market_status", ...OPEN });
    assert.equal(c.live, true);
    assert.equal(c.topic("indices").live, true);
    conn.recv(update("indices", 2, [quote("NIFTY 50", 25005)]));
    assert.equal(c.topic("indices").source, "live");
    conn.recv({ event: "feed_status", topic: "indices", state: "degraded", detail: "HTTP 503", last_success: 1 });
    assert.equal(c.feedStatus.indices.state, "degraded");
    conn.recv({ event: "feed_status", topic: "prices", state: "stale", detail: "x", last_success: null });
    assert.equal(c.feedStatus.prices, undefined, "not subscribed to prices");
    const errors = [];
    c.on("error", (e) => errors.push(e.code));
    conn.recv({ event: "error", code: "unknown_symbol", message: "unknown symbols or keys: NOPE" });
    conn.handlers.invalid("not JSON: <html>");
    assert.deepEqual(errors, ["unknown_symbol", "bad_message"]);
    c.unsubscribe(["indices"]);
    assert.deepEqual(conn.sent.at(-1), { op: "unsubscribe", topics: ["indices"] });
    assert.equal(c.indices.size, 0);
    assert.equal(c.feedStatus.indices, undefined);
    assert.ok(changes.includes("market") && changes.includes("feed") && changes.includes("indices") && changes.includes("connection"));
    c.close();
  });

  it("drops a connection that went silent and reconnects (heartbeat)", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
    const net = fakeNetwork();
    const c = client(net, { topics: ["indices"], heartbeatMs: 1000 });
    c.connect();
    const conn = net.last();
    conn.recv(welcome());
    const pending = c.ping();
    assert.deepEqual(conn.sent.at(-1), { op: "ping", id: 1 });
    conn.sent.length = 0;
    t.mock.timers.tick(500);
    assert.deepEqual(conn.sent, [{ op: "ping", id: "heartbeat" }], "a ping after half the period of silence");
    t.mock.timers.tick(500);
    assert.ok(conn.closed, "closed after a whole period of silence");
    assert.equal(c.state, "waiting");
    await assert.rejects(pending, /connection lost before the pong/);
    t.mock.timers.tick(100);
    assert.equal(net.conns.length, 2);
    c.close();
  });

  it("gives up an attempt without welcome, and reports no WebSocket with what to do", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
    const net = fakeNetwork();
    const c = client(net, { connectTimeoutMs: 1000 });
    const pending = c.connect();
    t.mock.timers.tick(1000);
    assert.ok(net.conns[0].closed);
    assert.equal(c.state, "waiting");
    c.close();
    await assert.rejects(pending, /close\(\)/);

    const saved = globalThis.WebSocket;
    try {
      delete globalThis.WebSocket;
      const bare = new MarketFeedClient({ url: "ws://127.0.0.1:9/ws" });
      await assert.rejects(bare.connect(), { name: "NoWebSocketError", message: /pass it: new MarketFeedClient\(\{ url, WebSocket/ });
    } finally {
      if (saved) globalThis.WebSocket = saved;
    }
  });
});

