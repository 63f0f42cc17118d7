// A consumer's view of the published types (checked by `npm run typecheck`, never run): the
// package and its /react subpath resolve through package.json "exports", and the events, values
// and hooks have the types the README promises.
import { MarketFeedClient, type Quote, type MarketStatus, type SnapshotMessage } from "@market-feed/client";
import {
  MarketFeedProvider,
  useFeedStatus,
  useMarketStatus,
  useRealtimeIndices,
  useRealtimePrices,
  type RealtimeQuotes,
} from "@market-feed/client/react";
import { WebSocket } from "ws";

const feed = new MarketFeedClient({ url: "ws://127.0.0.1:8080/ws", WebSocket, topics: ["indices"], maxRateMs: 1000 });
feed.on("snapshot", (s: SnapshotMessage) => s.data.length);
feed.on("prices_batch", (b) => b.data.map((q: Quote) => q.ltp));
feed.on("gap", ({ topic, expected, received }) => `${topic} ${expected} ${received}`);
feed.on("disconnect", (d) => d.retryInMs ?? d.code);
feed.subscribe(["prices"], ["RELIANCE"]);
const level: number | undefined = feed.indices.get("NIFTY 50")?.ltp;
const status: MarketStatus | null = feed.market;
const live: boolean = feed.live;
void feed.connect().then((w) => w.epoch);

function Board(): RealtimeQuotes["quotes"] {
  const indices = useRealtimeIndices();
  const prices = useRealtimePrices(["TCS"], feed);
  const market = useMarketStatus();
  const health = useFeedStatus();
  const badge: boolean = indices.live && market.connected && health.feedState === "ok";
  return badge ? prices.quotes : indices.quotes;
}

void MarketFeedProvider({ options: { url: "/ws" } });
void [level, status, live, Board];
