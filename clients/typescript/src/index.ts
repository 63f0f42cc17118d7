/**
 * `@market-feed/client`: a browser and Node client for market-feed-server's live index levels and
 * stock prices. See {@link MarketFeedClient}.
 *
 * @module
 */

export {
  MarketFeedClient,
  type ChangePart,
  type ConnectionState,
  type DisconnectInfo,
  type GapInfo,
  type MarketFeedClientOptions,
  type MarketFeedEvents,
  type TopicInfo,
} from "./client.js";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export { Emitter, type Listener } from "./emitter.js";
export { TopicSequence, type SeqVerdict } from "./sequence.js";
export { Subscription } from "./subscription.js";
export { TopicValues } from "./topic-values.js";
export type { CloseInfo, Transport, TransportFactory, TransportHandlers } from "./transport.js";
export {
  NoWebSocketError,
  wsUrl,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./ws-transport.js";
export {
  NoSocketIoError,
  socketIoTransport,
  socketIoUrl,
  type SocketIoFactory,
  type SocketIoSocket,
} from "./socketio-transport.js";
export * from "./types.js";
