// The two transports' packet handling on fakes of the WebSocket API and of socket.io-client:
// URLs, tokens, framing, Socket.IO event bodies and acknowledgements.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MarketFeedClient, socketIoUrl, wsUrl } from "../dist/index.js";
import { OPEN, quote } from "./support/fake.js";

/** A stand-in for the WebSocket API that records sockets made. */
class FakeWebSocket {
  static made = [];
  readyState = 0;
  sent = [];
  #listeners = {};
  constructor(url) {
    this.url = url;
    FakeWebSocket.made.push(this);
  }
  addEventListener(type, fn) {
    (this.#listeners[type] ??= []).push(fn);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close(code) {
    this.readyState = 3;
    this.fire("close", { code, reason: "" });
  }
  fire(type, event) {
    for (const fn of this.#listeners[type] ?? []) fn(event);
  }
  open() {
    this.readyState = 1;
    this.fire("open", {});
  }
  text(value) {
    this.fire("message", { data: typeof value === "string" ? value : JSON.stringify(value) });
  }
}

/** A stand-in for socket.io-client's io() and its sockets. */
function fakeIo() {
  const sockets = [];
  const io = (url, options) => {
    const handlers = {};
    const socket = {
      url,
      options,
      emitted: [],
      disconnected: false,
      on(event, fn) {
        (handlers[event] ??= []).push(fn);
      },
      emit(event, ...args) {
        this.emitted.push([event, ...args]);
      },
      disconnect() {
        this.disconnected = true;
        this.serverEmit("disconnect", "io client disconnect");
      },
      serverEmit(event, ...args) {
        for (const fn of handlers[event] ?? []) fn(...args);
      },
    };
    sockets.push(socket);
    return socket;
  };
  return { io, sockets };
}

describe("the /ws transport", () => {
  it("builds the URL from a base URL, with the token in the query", () => {
    assert.equal(wsUrl("http://localhost:8080"), "ws://localhost:8080/ws");
    assert.equal(wsUrl("https://feed.example/"), "wss://feed.example/ws");
    assert.equal(wsUrl("ws://h:1/custom/ws", "a b&c"), "ws://h:1/custom/ws?token=a+b%26c");
    assert.equal(socketIoUrl("wss://feed.example/ws"), "https://feed.example");
  });

  it("parses text frames into events and reports frames that are not", async () => {
    FakeWebSocket.made = [];
    const c = new MarketFeedClient({ url: "http://feed.test", token: "s3cret", WebSocket: FakeWebSocket, topics: ["indices"] });
    const errors = [];
    c.on("error", (e) => errors.push(e));
    const connected = c.connect();
    const ws = FakeWebSocket.made[0];
    assert.equal(ws.url, "ws://feed.test/ws?token=s3cret");
    ws.open();
    ws.text({ event: "welcome", protocol: 1, server_time: 1, epoch: "e1", market: OPEN });
    await connected;
    assert.deepEqual(ws.sent, [{ op: "subscribe", topics: ["indices"] }]);
    ws.text({ event: "indices_update", seq: 1, data: [quote("NIFTY 50", 25000)] });
    assert.equal(c.indices.get("NIFTY 50").ltp, 25000);
    ws.text("<html>");
    ws.text({ hello: 1 });
    ws.fire("message", { data: new Uint8Array([123, 125]).buffer });
    ws.fire("message", { data: { size: 3 } });
    assert.deepEqual(
      errors.map((e) => [e.code, e.message.split(":")[0]]),
      [
        ["bad_message", "not JSON"],
        ["bad_message", "not a server event"],
        ["bad_message", "not a server event"],
        ["bad_message", "a binary frame (the server sends text frames only)"],
      ],
    );
    c.close();
    assert.equal(ws.readyState, 3);
  });
});

describe("the Socket.IO transport", () => {
  it("connects with auth, relays event bodies, emits subscribe with an acknowledgement", async () => {
    const { io, sockets } = fakeIo();
    const c = new MarketFeedClient({
      url: "ws://feed.test:8080/ws",
      transport: "socket.io",
      io,
      token: "s3cret",
      socketIoOptions: { transports: ["websocket"] },
      topics: ["indices", "prices"],
      symbols: ["RELIANCE"],
      reconnect: { initialDelayMs: 1, jitter: 0 },
    });
    const errors = [];
    c.on("error", (e) => errors.push(e));
    const connected = c.connect();
    const s = sockets[0];
    assert.equal(s.url, "http://feed.test:8080");
    assert.deepEqual(s.options, { transports: ["websocket"], auth: { token: "s3cret" }, reconnection: false, forceNew: true });
    s.serverEmit("connect");
    // Server events carry the body without "event".
    s.serverEmit("welcome", { protocol: 1, server_time: 5, epoch: "e9", market: OPEN });
    const w = await connected;
    assert.equal(w.event, "welcome");
    assert.equal(w.epoch, "e9");
    assert.equal(s.emitted.length, 1);
    const [name, body, ack] = s.emitted[0];
    assert.equal(name, "subscribe");
    assert.deepEqual(body, { topics: ["indices", "prices"], symbols: ["RELIANCE"] });
    assert.equal(typeof ack, "function");
    ack({ ok: true });
    assert.deepEqual(errors, []);
    s.serverEmit("snapshot", { topic: "prices", seq: 3, epoch: "e9", live: true, source: "live", trading_day: "2026-01-29", as_of: 1, data: [quote("RELIANCE", 1390)] });
    s.serverEmit("prices_batch", { seq: 4, data: [quote("RELIANCE", 1391)] });
    s.serverEmit("market_status", { ...OPEN, live: false, phase: "post_close" });
    assert.equal(c.prices.get("RELIANCE").ltp, 1391);
    assert.equal(c.market.phase, "post_close");
    // A refusal through the acknowledgement becomes an error event; one without, an error event too.
    c.subscribe(["prices"], ["NOPE"]);
    s.emitted[1][2]({ ok: false, error: { code: "unknown_symbol", message: "unknown symbols or keys: NOPE" } });
    s.serverEmit("error", { code: "rate_limited", message: "slow down" });
    assert.deepEqual(errors.map((e) => e.code), ["unknown_symbol", "rate_limited"]);
    // ping is a /ws operation.
    await assert.rejects(c.ping(), /Socket.IO has its own heartbeat/);
    // A lost connection: a new socket (Socket.IO's own reconnection is off), resuming.
    s.serverEmit("disconnect", "transport close");
    assert.equal(c.state, "waiting");
    await new Promise((r) => setTimeout(r, 20));
    const s2 = sockets[1];
    assert.ok(s2, "a new socket after the backoff");
    s2.serverEmit("welcome", { protocol: 1, server_time: 5, epoch: "e9", market: OPEN });
    assert.deepEqual(s2.emitted[0][1], { topics: ["indices", "prices"], symbols: ["NOPE"], resume: { prices: { epoch: "e9", seq: 4 } } });
    c.close();
    assert.ok(s2.disconnected);
  });

  it("reports a refused token and keeps trying", async () => {
    const { io, sockets } = fakeIo();
    const c = new MarketFeedClient({ url: "http://feed.test", transport: "socket.io", io, reconnect: { initialDelayMs: 1, jitter: 0 } });
    const errors = [];
    c.on("error", (e) => errors.push(e.code));
    c.connect().catch(() => {});
    sockets[0].serverEmit("connect_error", Object.assign(new Error("unauthorized"), { data: { message: "unauthorized" } }));
    assert.deepEqual(errors, ["unauthorized"]);
    assert.equal(c.state, "waiting");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockets.length, 2);
    c.close();
  });

  it("loads socket.io-client itself when no io is given", async () => {
    // socket.io-client is a dev dependency here: it is imported, and fails to reach a closed port.
    const c = new MarketFeedClient({ url: "http://127.0.0.1:9", transport: "socket.io", connectTimeoutMs: 200, reconnect: false });
    await assert.rejects(c.connect(), /connection lost/);
  });
});
