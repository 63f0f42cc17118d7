/**
 * `MarketFeedClient`: one live connection to market-feed-server, kept up for you (reconnect with
 * backoff and jitter, resubscribe, resume, `seq` gap detection), with the latest value of every
 * subscribed instrument and the market status.
 *
 * @module
 */

import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { TopicSequence } from "./sequence.js";
import { Subscription } from "./subscription.js";
import {
  loadSocketIo,
  socketIoTransport,
  socketIoUrl,
  type SocketIoFactory,
} from "./socketio-transport.js";
import { TopicValues } from "./topic-values.js";
import type { CloseInfo, Transport, TransportFactory } from "./transport.js";
import {
  TOPICS,
  type ErrorMessage,
  type FeedStatusMessage,
  type IndicesUpdateMessage,
  type MarketStatus,
  type MarketStatusMessage,
  type PongMessage,
  type PricesBatchMessage,
  type Quote,
  type ServerMessage,
  type SnapshotMessage,
  type SnapshotSource,
  type Topic,
  type WelcomeMessage,
} from "./types.js";
import {
  resolveWebSocket,
  webSocketTransport,
  wsUrl,
  type WebSocketConstructor,
} from "./ws-transport.js";

/**
 * Where the connection is: `idle` before `connect()`, `connecting` until the server's `welcome`,
 * `open` after it, `waiting` between a lost connection and the next attempt, `closed` after
 * `close()`.
 */
export type ConnectionState = "idle" | "connecting" | "open" | "waiting" | "closed";

/** What changed, for views that redraw (`change` event). */
export type ChangePart = Topic | "market" | "feed" | "connection";

/** A skipped `seq` where every batch should arrive (`gap` event). */
export interface GapInfo {
  topic: Topic;
  expected: number;
  received: number;
}

/** A lost connection (`disconnect` event); `retryInMs` is absent when the client stops. */
export interface DisconnectInfo extends CloseInfo {
  retryInMs?: number;
}

/** The events of a {@link MarketFeedClient}, with their payloads. */
export interface MarketFeedEvents {
  welcome: WelcomeMessage;
  snapshot: SnapshotMessage;
  indices_update: IndicesUpdateMessage;
  prices_batch: PricesBatchMessage;
  market_status: MarketStatusMessage;
  feed_status: FeedStatusMessage;
  pong: PongMessage;
  /** A refused operation (server) or a client-side problem (`bad_message`, `unauthorized`). */
  error: ErrorMessage;
  /** The connection state changed. */
  state: ConnectionState;
  /** The connection was lost (or an attempt failed). */
  disconnect: DisconnectInfo;
  /** Batches were skipped; the client asked for a fresh snapshot. */
  gap: GapInfo;
  /** Something the views show changed (values, market, feed status, connection). */
  change: ChangePart;
}

/** Options of a {@link MarketFeedClient}. */
export interface MarketFeedClientOptions {
  /**
   * The server: `ws://host:8080/ws`, or its base URL (`http://host:8080`, `https://feed.example`);
   * relative URLs resolve against the page in a browser. For Socket.IO, the origin is used.
   */
  url: string;
  /** `ws` (default): the server's `/ws`; `socket.io`: its `/socket.io/` (needs socket.io-client). */
  transport?: "ws" | "socket.io";
  /** A client token, when the server requires one (`?token=` on `/ws`, `auth.token` on Socket.IO). */
  token?: string;
  /**
   * The WebSocket constructor; default: the global one (browsers, Node 22+). Node 20 has none:
   * pass `WebSocket` from the `ws` package.
   */
  WebSocket?: WebSocketConstructor;
  /** `io` from socket.io-client; default: imported when the transport is `socket.io`. */
  io?: SocketIoFactory;
  /** More options for `io(url, options)` (e.g. `{ transports: ["websocket"] }`). */
  socketIoOptions?: Record<string, unknown>;
  /** Topics to subscribe to from the start (same as calling `subscribe` before `connect`). */
  topics?: Topic[];
  /** Symbols or keys narrowing `prices` (with `topics`). */
  symbols?: string[];
  /** At most one update per topic per this many ms (250..60000), merged by the server. */
  maxRateMs?: number;
  /** Reconnect when the connection is lost (default true), with these delays. */
  reconnect?: boolean | BackoffOptions;
  /** Resume from the last `seq` after a reconnect instead of taking a snapshot (default true). */
  resume?: boolean;
  /** Give up on an attempt that has no `welcome` after this many ms (default 15000). */
  connectTimeoutMs?: number;
  /**
   * On `/ws`, send a `ping` when nothing was received for half this many ms and drop the
   * connection (then reconnect) when nothing arrives for this long (default 40000; 0: off).
   * This finds dead connections that never close, such as a laptop that slept.
   */
  heartbeatMs?: number;
  /** For tests: a transport factory replacing the built-in ones. */
  transportFactory?: TransportFactory;
}

/** What the client knows about a topic. */
export interface TopicInfo {
  /** Whether the client wants this topic. */
  subscribed: boolean;
  /** The symbol list narrowing it (prices only), or `undefined` for all. */
  symbols: readonly string[] | undefined;
  /** Whether the values are being refreshed live. */
  live: boolean;
  /** Where the values come from. */
  source: SnapshotSource | null;
  tradingDay: string | null;
  asOf: number | null;
  /** The epoch and `seq` of the last batch or snapshot received. */
  epoch: string | undefined;
  seq: number | undefined;
}

interface Deferred {
  resolve(w: WelcomeMessage): void;
  reject(e: Error): void;
}

/**
 * A live connection to market-feed-server.
 *
 * ```ts
 * import { MarketFeedClient } from "@market-feed/client";
 * const feed = new MarketFeedClient({ url: "ws://localhost:8080/ws" });
 * feed.on("indices_update", () => console.log(feed.indices.get("NIFTY 50")?.ltp));
 * feed.subscribe(["indices", "prices"], ["RELIANCE", "TCS"]);
 * await feed.connect();
 * ```
 */
export class MarketFeedClient extends Emitter<MarketFeedEvents> {
  readonly #options: MarketFeedClientOptions;
  readonly #values: Record<Topic, TopicValues> = { indices: new TopicValues(), prices: new TopicValues() };
  readonly #seqs: Record<Topic, TopicSequence> = { indices: new TopicSequence(), prices: new TopicSequence() };
  readonly #subscription: Subscription;
  #state: ConnectionState = "idle";
  #transport: Transport | undefined;
  #factory: TransportFactory | undefined;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #lastReceived = 0;
  #heartbeatPinged = false;
  #epoch: string | undefined;
  /** The `welcome` of the open connection. */
  #welcome: WelcomeMessage | undefined;
  #market: MarketStatus | null = null;
  #feed: Partial<Record<Topic, FeedStatusMessage>> = {};
  #clockOffset = 0;
  #waiters: Deferred[] = [];
  #pings = new Map<number, { sent: number; resolve(rtt: number): void; reject(e: Error): void }>();
  #pingId = 0;
  readonly #versions: Record<ChangePart, number> = {
    indices: 0,
    prices: 0,
    market: 0,
    feed: 0,
    connection: 0,
  };

  constructor(options: MarketFeedClientOptions) {
    super();
    this.#options = options;
    this.#subscription = new Subscription(options.maxRateMs);
    if (options.topics) this.#subscription.want(options.topics, options.symbols);
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** True while connected and the market is live (prices are being fetched): the LIVE badge. */
  get live(): boolean {
    return this.#state === "open" && this.#market?.live === true;
  }

  /** The latest index levels, by index name (`NIFTY 50`). */
  get indices(): ReadonlyMap<string, Quote> {
    return this.#values.indices.quotes;
  }

  /** The latest stock prices, by symbol (`RELIANCE`): the subscribed ones. */
  get prices(): ReadonlyMap<string, Quote> {
    return this.#values.prices.quotes;
  }

  /** The market status (from `welcome`, then `market_status`), or `null` before the first. */
  get market(): MarketStatus | null {
    return this.#market;
  }

  /** The last `feed_status` of each topic (absent: no problem was reported). */
  get feedStatus(): Readonly<Partial<Record<Topic, FeedStatusMessage>>> {
    return this.#feed;
  }

  /** The server's market clock minus this machine's clock, in ms (from `welcome` and `pong`). */
  get serverTimeOffsetMs(): number {
    return this.#clockOffset;
  }

  /** The server's market-clock time now, ms since the Unix epoch. */
  serverNow(): number {
    return Date.now() + this.#clockOffset;
  }

  /** The quote of a symbol or key, from either topic. */
  quote(symbolOrKey: string): Quote | undefined {
    for (const topic of TOPICS) {
      const quotes = this.#values[topic].quotes;
      const bySymbol = quotes.get(symbolOrKey);
      if (bySymbol) return bySymbol;
      if (symbolOrKey.includes("|")) {
        for (const q of quotes.values()) if (q.key === symbolOrKey) return q;
      }
    }
    return undefined;
  }

  /** What the client knows about `topic`. */
  topic(topic: Topic): TopicInfo {
    const v = this.#values[topic];
    const s = this.#seqs[topic];
    return {
      subscribed: this.#subscription.has(topic),
      symbols: topic === "prices" ? this.#subscription.symbols : undefined,
      live: this.#state === "open" && v.live && this.#market?.live !== false,
      source: v.source,
      tradingDay: v.tradingDay,
      asOf: v.asOf,
      epoch: s.epoch,
      seq: s.seq,
    };
  }

  /** A number that grows whenever `part` changes (for views such as React's external stores). */
  version(part: ChangePart): number {
    return this.#versions[part];
  }

  /**
   * Connects (if not yet) and resolves with the server's next `welcome`. The client then keeps
   * the connection up until `close()`; the promise is rejected only by `close()`.
   */
  connect(): Promise<WelcomeMessage> {
    if (this.#state === "open" && this.#welcome) return Promise.resolve(this.#welcome);
    const p = new Promise<WelcomeMessage>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#state === "idle" || this.#state === "closed") {
      try {
        this.#factory ??= this.#makeFactory();
      } catch (err) {
        this.#waiters = [];
        return Promise.reject(err);
      }
      this.#open();
    } else if (this.#state === "waiting") {
      // Try at once rather than after the backoff.
      clearTimeout(this.#retryTimer);
      this.#open();
    }
    return p;
  }

  /**
   * Subscribes to `topics`; `symbols` (symbols or keys) narrows `prices`, and replaces the previous
   * list when `topics` names `prices` (without it: every stock). Sent now when connected, and again
   * after every reconnect. Each named topic gets a fresh `snapshot`.
   */
  subscribe(topics: readonly Topic[], symbols?: readonly string[] | null): void {
    const named = this.#subscription.want(topics, symbols ?? undefined);
    if (this.#state === "open" && named.length > 0) this.#transport?.send(this.#subscription.op(named));
  }

  /** Stops `topics`; their values are forgotten. */
  unsubscribe(topics: readonly Topic[]): void {
    const named = this.#subscription.drop(topics);
    if (named.length === 0) return;
    for (const t of named) {
      this.#values[t].clear();
      this.#seqs[t].reset();
      delete this.#feed[t];
      this.#changed(t);
    }
    if (this.#state === "open") this.#transport?.send({ op: "unsubscribe", topics: named });
  }

  /** Measures the round trip to the server (`/ws` only), in ms. */
  ping(): Promise<number> {
    if (this.#state !== "open") return Promise.reject(new Error("not connected: call connect() first"));
    if (this.#options.transport === "socket.io") {
      return Promise.reject(new Error("ping is a /ws operation; Socket.IO has its own heartbeat"));
    }
    const id = ++this.#pingId;
    return new Promise((resolve, reject) => {
      this.#pings.set(id, { sent: Date.now(), resolve, reject });
      this.#transport?.send({ op: "ping", id });
    });
  }

  /** Closes the connection and stops reconnecting. `connect()` may start again later. */
  close(): void {
    clearTimeout(this.#retryTimer);
    this.#stopTimers();
    const t = this.#transport;
    this.#transport = undefined;
    t?.close();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new Error("closed by close()"));
    this.#failPings("closed by close()");
    this.#setState("closed");
  }

  // ---- connection ----

  #makeFactory(): TransportFactory {
    const o = this.#options;
    if (o.transportFactory) return o.transportFactory;
    if (o.transport === "socket.io") {
      return socketIoTransport(socketIoUrl(o.url), o.io ?? loadSocketIo(), o.token, o.socketIoOptions);
    }
    return webSocketTransport(wsUrl(o.url, o.token), resolveWebSocket(o.WebSocket));
  }

  #open(): void {
    const factory = this.#factory;
    if (!factory) return;
    this.#stopTimers();
    this.#epoch = undefined;
    this.#welcome = undefined;
    this.#setState("connecting");
    const handlers = {
      message: (msg: ServerMessage) => {
        if (this.#transport === transport) this.#receive(msg);
      },
      invalid: (detail: string) => {
        if (this.#transport === transport) {
          this.emit("error", { event: "error", code: "bad_message", message: detail });
        }
      },
      close: (info: CloseInfo) => {
        if (this.#transport === transport) this.#lost(info);
      },
    };
    let transport: Transport | undefined;
    transport = factory(handlers);
    this.#transport = transport;
    const timeout = this.#options.connectTimeoutMs ?? 15_000;
    this.#connectTimer = setTimeout(() => {
      if (this.#transport === transport && this.#state === "connecting") {
        transport?.close();
        this.#lost({ reason: `no welcome within ${timeout} ms` });
      }
    }, timeout);
  }

  #lost(info: CloseInfo): void {
    this.#transport = undefined;
    this.#stopTimers();
    this.#failPings("connection lost before the pong");
    for (const t of TOPICS) this.#seqs[t].awaitingSnapshot = false;
    const reconnect = this.#options.reconnect ?? true;
    if (reconnect === false) {
      this.emit("disconnect", { ...info });
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w.reject(new Error(`connection lost: ${info.reason || info.code}`));
      this.#setState("closed");
      return;
    }
    const delay = backoffDelay(this.#attempt++, reconnect === true ? {} : reconnect);
    this.emit("disconnect", { ...info, retryInMs: delay });
    this.#setState("waiting");
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #failPings(why: string): void {
    const pings = [...this.#pings.values()];
    this.#pings.clear();
    for (const p of pings) p.reject(new Error(why));
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    clearInterval(this.#heartbeatTimer);
    this.#connectTimer = undefined;
    this.#heartbeatTimer = undefined;
  }

  #startHeartbeat(): void {
    const period = this.#options.heartbeatMs ?? 40_000;
    if (period <= 0 || this.#options.transport === "socket.io") return;
    this.#heartbeatTimer = setInterval(
      () => {
        const quiet = Date.now() - this.#lastReceived;
        if (quiet >= period) {
          const t = this.#transport;
          t?.close();
          if (this.#transport === t) this.#lost({ reason: `nothing received for ${quiet} ms` });
        } else if (quiet >= period / 2 && !this.#heartbeatPinged) {
          this.#heartbeatPinged = true;
          this.#transport?.send({ op: "ping", id: "heartbeat" });
        }
      },
      Math.max(50, Math.floor(period / 4)),
    );
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit("state", state);
    this.#changed("connection");
  }

  #changed(part: ChangePart): void {
    this.#versions[part]++;
    this.emit("change", part);
  }

  // ---- messages ----

  #receive(msg: ServerMessage): void {
    this.#lastReceived = Date.now();
    this.#heartbeatPinged = false;
    switch (msg.event) {
      case "welcome":
        return this.#welcomed(msg);
      case "snapshot":
        return this.#snapshot(msg);
      case "indices_update":
        return this.#batch("indices", msg);
      case "prices_batch":
        return this.#batch("prices", msg);
      case "market_status": {
        const { event: _event, ...status } = msg;
        this.#setMarket(status);
        this.emit("market_status", msg);
        return;
      }
      case "feed_status":
        if (!this.#subscription.has(msg.topic)) return;
        this.#feed = { ...this.#feed, [msg.topic]: msg };
        this.emit("feed_status", msg);
        this.#changed("feed");
        return;
      case "pong": {
        this.#clockOffset = msg.server_time - Date.now();
        if (typeof msg.id === "number") {
          const p = this.#pings.get(msg.id);
          if (p) {
            this.#pings.delete(msg.id);
            p.resolve(Date.now() - p.sent);
          }
        }
        this.emit("pong", msg);
        return;
      }
      case "error":
        this.emit("error", msg);
        return;
    }
  }

  #welcomed(msg: WelcomeMessage): void {
    clearTimeout(this.#connectTimer);
    this.#welcome = msg;
    this.#attempt = 0;
    this.#epoch = msg.epoch;
    this.#clockOffset = msg.server_time - Date.now();
    this.#setMarket(msg.market);
    this.#setState("open");
    this.#lastReceived = Date.now();
    this.#startHeartbeat();
    this.emit("welcome", msg);
    const topics = this.#subscription.topics();
    if (topics.length > 0) {
      const resume = this.#options.resume === false ? undefined : (t: Topic) => this.#seqs[t].resumePoint();
      this.#transport?.send(this.#subscription.op(topics, resume));
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(msg);
  }

  #setMarket(status: MarketStatus): void {
    const wasLive = this.#market?.live;
    this.#market = status;
    if (wasLive !== status.live) {
      for (const t of TOPICS) {
        if (this.#values[t].source !== null) this.#values[t].live = status.live;
      }
    }
    this.#changed("market");
  }

  #snapshot(msg: SnapshotMessage): void {
    // Socket.IO subscribes to every topic until the first `subscribe`: ignore the unwanted ones.
    if (!this.#subscription.has(msg.topic)) return;
    if (msg.epoch !== undefined) this.#epoch = msg.epoch;
    this.#seqs[msg.topic].snapshot(msg.epoch ?? this.#epoch, msg.seq);
    this.#values[msg.topic].applySnapshot(msg);
    this.emit("snapshot", msg);
    this.#changed(msg.topic);
  }

  #batch(topic: "indices", msg: IndicesUpdateMessage): void;
  #batch(topic: "prices", msg: PricesBatchMessage): void;
  #batch(topic: Topic, msg: IndicesUpdateMessage | PricesBatchMessage): void {
    if (!this.#subscription.has(topic)) return;
    const seqs = this.#seqs[topic];
    const verdict = seqs.batch(msg.seq, this.#epoch, this.#subscription.contiguous(topic));
    if (verdict.kind === "stale") return;
    this.#values[topic].applyBatch(msg.data, this.#market?.live === true);
    if (msg.event === "indices_update") this.emit("indices_update", msg);
    else this.emit("prices_batch", msg);
    this.#changed(topic);
    if (verdict.kind === "gap" && !seqs.awaitingSnapshot) {
      seqs.awaitingSnapshot = true;
      this.emit("gap", { topic, expected: verdict.expected, received: verdict.received });
      this.#transport?.send(this.#subscription.op([topic]));
    }
  }
}
