/**
 * `@market-feed/client/react`: React hooks over one shared {@link MarketFeedClient}.
 *
 * ```tsx
 * <MarketFeedProvider options={{ url: "wss://feed.example/ws" }}>
 *   <Indices />
 * </MarketFeedProvider>
 *
 * function Indices() {
 *   const { quotes, live } = useRealtimeIndices();
 *   return <ul>{live && <li>LIVE</li>}{quotes.map((q) => <li key={q.key}>{q.symbol} {q.ltp}</li>)}</ul>;
 * }
 * ```
 *
 * The hooks subscribe the client to what they show (the indices, the union of the symbols of
 * every mounted `useRealtimePrices`) and unsubscribe when no hook needs a topic any more, so
 * let the hooks drive the subscription of a client they share.
 *
 * @module
 */

import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";

import {
  MarketFeedClient,
  type ChangePart,
  type ConnectionState,
  type MarketFeedClientOptions,
} from "../client.js";
import type { FeedState, FeedStatusMessage, MarketStatus, Quote, SnapshotSource, Topic } from "../types.js";
import { interestsOf } from "./interests.js";

const ClientContext = createContext<MarketFeedClient | null>(null);

/** Props of {@link MarketFeedProvider}: a client to share, or options to make one. */
export type MarketFeedProviderProps =
  | { client: MarketFeedClient; options?: undefined; children?: ReactNode }
  | { client?: undefined; options: MarketFeedClientOptions; children?: ReactNode };

/**
 * Shares one client with the hooks below it. Given `options`, it makes the client, connects it on
 * mount and closes it on unmount; given a `client`, it connects it if it is idle and leaves
 * closing to you.
 */
export function MarketFeedProvider(props: MarketFeedProviderProps): ReactNode {
  const [owned] = useState(() => (props.client ? null : new MarketFeedClient(props.options)));
  const client = props.client ?? owned;
  useEffect(() => {
    if (!client) return;
    if (client.state === "idle" || (owned && client.state === "closed")) {
      client.connect().catch(() => {});
    }
    return owned ? () => owned.close() : undefined;
  }, [client, owned]);
  return createElement(ClientContext.Provider, { value: client }, props.children);
}

/** The client given, else the one of the nearest {@link MarketFeedProvider}. */
export function useMarketFeedClient(client?: MarketFeedClient): MarketFeedClient {
  const fromContext = useContext(ClientContext);
  const found = client ?? fromContext;
  if (!found) {
    throw new Error(
      "no market-feed client: wrap the component in <MarketFeedProvider options={{ url }}>, or pass a MarketFeedClient to the hook",
    );
  }
  return found;
}

/** Re-renders when one of `parts` of `client` changes. */
function useParts(client: MarketFeedClient, parts: readonly ChangePart[]): string {
  const key = parts.join(",");
  const subscribe = useMemo(
    () => (onChange: () => void) => client.on("change", (part) => parts.includes(part) && onChange()),
    // `parts` is described by `key`.
    [client, key],
  );
  const snapshot = () => parts.map((p) => client.version(p)).join(":");
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** Connection fields every hook returns. */
export interface LiveFlags {
  /** True while connected and the market is live (prices are being fetched): the LIVE badge. */
  live: boolean;
  /** True while the connection is open. */
  connected: boolean;
  /** The connection state. */
  state: ConnectionState;
}

/** The latest quotes of a topic. */
export interface RealtimeQuotes extends LiveFlags {
  /** The quotes, in the server's order. */
  quotes: Quote[];
  /** The same, by symbol. */
  bySymbol: ReadonlyMap<string, Quote>;
  /** Where the values come from (`live`, `checkpoint`, `close`), `null` before the first snapshot. */
  source: SnapshotSource | null;
  /** When the values were last refreshed, ms since the Unix epoch (server clock). */
  asOf: number | null;
  /** The trading day of the values, `YYYY-MM-DD`. */
  tradingDay: string | null;
}

function flags(client: MarketFeedClient): LiveFlags {
  return { live: client.live, connected: client.state === "open", state: client.state };
}

function quotesOf(client: MarketFeedClient, topic: Topic, filter?: (q: Quote) => boolean): RealtimeQuotes {
  const all = topic === "indices" ? client.indices : client.prices;
  const quotes = filter ? [...all.values()].filter(filter) : [...all.values()];
  const info = client.topic(topic);
  return {
    ...flags(client),
    quotes,
    bySymbol: new Map(quotes.map((q) => [q.symbol, q])),
    source: info.source,
    asOf: info.asOf,
    tradingDay: info.tradingDay,
  };
}

/** The latest index levels (NIFTY 50, SENSEX, ...), live. Subscribes the client to `indices`. */
export function useRealtimeIndices(client?: MarketFeedClient): RealtimeQuotes {
  const c = useMarketFeedClient(client);
  useEffect(() => interestsOf(c).addIndices(), [c]);
  const version = useParts(c, ["indices", "market", "connection"]);
  return useMemo(() => quotesOf(c, "indices"), [c, version]);
}

/**
 * The latest prices of `symbols` (symbols or keys, any case), or of every stock when omitted.
 * Subscribes the client to `prices` for them (with the other mounted hooks' symbols).
 */
export function useRealtimePrices(symbols?: readonly string[], client?: MarketFeedClient): RealtimeQuotes {
  const c = useMarketFeedClient(client);
  const key = symbols ? JSON.stringify([...symbols]) : "";
  useEffect(
    () => interestsOf(c).addPrices(key ? (JSON.parse(key) as string[]) : undefined),
    [c, key],
  );
  const version = useParts(c, ["prices", "market", "connection"]);
  return useMemo(() => {
    if (!key) return quotesOf(c, "prices");
    const wanted = new Set((JSON.parse(key) as string[]).map((s) => s.trim().toUpperCase()));
    return quotesOf(c, "prices", (q) => wanted.has(q.symbol.toUpperCase()) || wanted.has(q.key.toUpperCase()));
  }, [c, key, version]);
}

/** The market status. */
export interface RealtimeMarketStatus extends LiveFlags {
  /** The status, `null` before the first `welcome`. */
  status: MarketStatus | null;
}

/** The market status (phase, live, next change), kept current by the server. */
export function useMarketStatus(client?: MarketFeedClient): RealtimeMarketStatus {
  const c = useMarketFeedClient(client);
  const version = useParts(c, ["market", "connection"]);
  return useMemo(() => ({ ...flags(c), status: c.market }), [c, version]);
}

/** The feed's health per subscribed topic. */
export interface RealtimeFeedStatus extends LiveFlags {
  /** The last `feed_status` per topic (absent: nothing was reported, which means ok). */
  topics: Readonly<Partial<Record<Topic, FeedStatusMessage>>>;
  /** The worst state among the topics: `ok` when none is degraded, stale or unauthorized. */
  feedState: FeedState;
}

const SEVERITY: Record<FeedState, number> = { ok: 0, degraded: 1, stale: 2, unauthorized: 3 };

/** The feed's health (`feed_status`) of the subscribed topics. */
export function useFeedStatus(client?: MarketFeedClient): RealtimeFeedStatus {
  const c = useMarketFeedClient(client);
  const version = useParts(c, ["feed", "market", "connection"]);
  return useMemo(() => {
    const topics = c.feedStatus;
    let feedState: FeedState = "ok";
    for (const s of Object.values(topics)) {
      if (s && SEVERITY[s.state] > SEVERITY[feedState]) feedState = s.state;
    }
    return { ...flags(c), topics, feedState };
  }, [c, version]);
}
