/**
 * The wire types of market-feed-server's protocol (version 1): quotes, market status and every
 * message the server sends or accepts.
 *
 * @module
 */

/** A topic: `indices` (index levels) or `prices` (stock prices). */
export type Topic = "indices" | "prices";

/** Both topics, in the server's order. */
export const TOPICS: readonly Topic[] = ["indices", "prices"];

/**
 * One instrument's latest price.
 *
 * `key`, `symbol`, `ltp` and `ts` are always present; the others are `null` when the source does
 * not know them (indices have no volume).
 */
export interface Quote {
  /** Instrument key in Upstox form: `NSE_EQ|INE002A01018`, `NSE_INDEX|Nifty 50`. */
  key: string;
  /** Trading symbol or index name: `RELIANCE`, `NIFTY 50`. */
  symbol: string;
  /** Last traded price. */
  ltp: number;
  prev_close: number | null;
  /** `ltp - prev_close`, 2 decimals. */
  change: number | null;
  /** `100 * change / prev_close`, 2 decimals. */
  change_pct: number | null;
  open: number | null;
  high: number | null;
  low: number | null;
  volume: number | null;
  /** When the price was observed, ms since the Unix epoch, on the server's market clock. */
  ts: number;
}

/** The trading phase of the exchange. */
export type Phase = "pre_open" | "open" | "post_close" | "closed";

/** The market status (`welcome.market` and the `market_status` event). */
export interface MarketStatus {
  exchange: string;
  phase: Phase;
  /** True while the feed's service window is open and prices are being fetched. */
  live: boolean;
  /** `YYYY-MM-DD`: the current session's date or, when closed, the next one's. */
  trading_day: string;
  /** When `phase` next changes, ms since the Unix epoch. */
  next_change: number | null;
  next_phase: Phase | null;
  /** Only when closed: `weekend`, `holiday: <name>`, `after_hours`, `before_hours`. */
  reason: string | null;
}

/** Where a snapshot's values come from. */
export type SnapshotSource = "live" | "checkpoint" | "close";

/** A topic's source health. */
export type FeedState = "ok" | "degraded" | "stale" | "unauthorized";

/** `welcome`: the first message on every connection. */
export interface WelcomeMessage {
  event: "welcome";
  protocol: number;
  server_time: number;
  /** Names the server's `seq` numbering; changes when it restarts. Absent on older servers. */
  epoch?: string;
  market: MarketStatus;
}

/** `snapshot`: every subscribed instrument of a topic. */
export interface SnapshotMessage {
  event: "snapshot";
  topic: Topic;
  seq: number;
  epoch?: string;
  live: boolean;
  source: SnapshotSource;
  trading_day: string | null;
  as_of: number | null;
  data: Quote[];
}

/** `indices_update`: one refresh of the indices. */
export interface IndicesUpdateMessage {
  event: "indices_update";
  seq: number;
  data: Quote[];
}

/** `prices_batch`: one refresh of stock prices (only the subscribed symbols, if a list was given). */
export interface PricesBatchMessage {
  event: "prices_batch";
  seq: number;
  data: Quote[];
}

/** `market_status`: the phase or `live` changed. */
export interface MarketStatusMessage extends MarketStatus {
  event: "market_status";
}

/** `feed_status`: a topic's source health changed. */
export interface FeedStatusMessage {
  event: "feed_status";
  topic: Topic;
  state: FeedState;
  detail: string;
  last_success: number | null;
}

/** `pong`: the answer to a `ping`. */
export interface PongMessage {
  event: "pong";
  id: unknown;
  server_time: number;
}

/**
 * `error`: the server refused a client message (`bad_request`, `unknown_topic`, `unknown_symbol`,
 * `too_many_symbols`, `rate_limited`), or, for errors the client raises itself, `unauthorized`
 * (Socket.IO connect refused), `bad_message` (a frame that is not a known JSON event).
 */
export interface ErrorMessage {
  event: "error";
  code: string;
  message: string;
}

/** Any message the server sends. */
export type ServerMessage =
  | WelcomeMessage
  | SnapshotMessage
  | IndicesUpdateMessage
  | PricesBatchMessage
  | MarketStatusMessage
  | FeedStatusMessage
  | PongMessage
  | ErrorMessage;

/** Where a client left a topic: the epoch and last `seq` it received. */
export interface ResumePoint {
  epoch: string;
  seq: number;
}

/** The `subscribe` operation. */
export interface SubscribeOp {
  op: "subscribe";
  topics: Topic[];
  symbols?: string[];
  resume?: Partial<Record<Topic, ResumePoint>>;
  max_rate_ms?: number;
}

/** The `unsubscribe` operation. */
export interface UnsubscribeOp {
  op: "unsubscribe";
  topics: Topic[];
}

/** The `ping` operation. */
export interface PingOp {
  op: "ping";
  id: unknown;
}

/** Any message the client sends. */
export type ClientOp = SubscribeOp | UnsubscribeOp | PingOp;

/** The server events that carry a batch of quotes, by topic. */
export const UPDATE_EVENT: Readonly<Record<Topic, "indices_update" | "prices_batch">> = {
  indices: "indices_update",
  prices: "prices_batch",
};
