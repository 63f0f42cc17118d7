// The Socket.IO transport (socket.io-client 4.x, default options: long-polling, then the upgrade
// to WebSocket) against the real server's /socket.io/ endpoint.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { MarketFeedClient } from "../dist/index.js";
import { OPEN_FAST, eventually, next, startProxy, startServer } from "./support/server.js";

let server;
before(async () => {
  server = await startServer([...OPEN_FAST, "--auth-token", "t0k3n"]);
  const probe = await fetch(server.url("/socket.io/?EIO=4&transport=polling&token=t0k3n"));
  await probe.body?.cancel();
  assert.equal(probe.status, 200, "the server answers the Engine.IO handshake on /socket.io/");
});
after(async () => {
  await server.stop();
});

describe("transport socket.io against the real server", () => {
  it("streams indices and the chosen prices, refuses unknown symbols through the acknowledgement", async (t) => {
    const c = new MarketFeedClient({
      url: server.url(),
      transport: "socket.io",
      token: "t0k3n",
      topics: ["indices", "prices"],
      symbols: ["RELIANCE", "TCS"],
    });
    t.after(() => c.close());
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    const welcome = await c.connect();
    assert.equal(welcome.protocol, 1);
    assert.equal(c.market.phase, "open");
    await eventually(() => c.indices.size >= 9, "index levels");
    await eventually(() => c.prices.size === 2, "both prices");
    assert.deepEqual([...c.prices.keys()].sort(), ["RELIANCE", "TCS"], "exactly the subscription, not the implicit one");
    const from = c.topic("indices").seq;
    await eventually(() => c.topic("indices").seq >= from + 5, "index updates");
    assert.deepEqual(gaps, []);
    const refused = next(c, "error");
    c.subscribe(["prices"], ["RELIANCE", "NOPE"]);
    assert.equal((await refused).code, "unknown_symbol");
    c.close();
  });

  it("with a wrong token gets unauthorized and keeps retrying", async (t) => {
    const c = new MarketFeedClient({ url: server.url(), transport: "socket.io", token: "wrong", reconnect: { initialDelayMs: 50 } });
    t.after(() => c.close());
    const refused = next(c, "error", (e) => e.code === "unauthorized");
    c.connect().catch(() => {});
    await refused;
    assert.notEqual(c.state, "open");
    c.close();
  });

  it("reconnects through a cut connection (long-polling upgraded to WebSocket) and the values go on", async (t) => {
    const proxy = await startProxy(server.addr);
    t.after(() => proxy.close());
    const c = new MarketFeedClient({
      url: `http://${proxy.addr}`,
      transport: "socket.io",
      token: "t0k3n",
      topics: ["indices"],
      reconnect: { initialDelayMs: 100, maxDelayMs: 800 },
    });
    t.after(() => c.close());
    const gaps = [];
    c.on("gap", (g) => gaps.push(g));
    await c.connect();
    await eventually(() => c.indices.size >= 9, "index levels");
    const before = c.topic("indices").seq;
    const rewelcomed = next(c, "welcome");
    const lost = next(c, "disconnect");
    proxy.drop();
    await lost;
    await rewelcomed;
    await eventually(() => c.topic("indices").seq >= before + 5, "index updates after the reconnect");
    assert.equal(c.state, "open");
    assert.equal(c.prices.size, 0, "only the subscribed topic, not the implicit one");
    assert.deepEqual(gaps, []);
  });
});
