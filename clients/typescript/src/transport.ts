/**
 * What a connection to the server looks like to the client, whatever carries it (`/ws` or
 * Socket.IO): messages in, operations out, one close.
 *
 * @module
 */

import type { ClientOp, ServerMessage } from "./types.js";

/** Why a connection ended. */
export interface CloseInfo {
  /** The WebSocket close code, when there was one (1001: server shutdown, 1006: no close frame). */
  code?: number;
  /** The reason given, or what went wrong. */
  reason: string;
}

/** What a transport calls back. */
export interface TransportHandlers {
  /** A message from the server. */
  message(msg: ServerMessage): void;
  /** A frame that is not a server message (not JSON, or no known `event`). */
  invalid(detail: string): void;
  /** The connection ended (or never opened). Called at most once. */
  close(info: CloseInfo): void;
}

/** One connection attempt; opens as soon as it is made. */
export interface Transport {
  /** Sends an operation (dropped when the connection is not open). */
  send(op: ClientOp): void;
  /** Closes the connection; the handlers may still be called once with the close. */
  close(): void;
}

/** Makes a connection attempt that reports to `handlers`. */
export type TransportFactory = (handlers: TransportHandlers) => Transport;

const EVENTS = new Set([
  "welcome",
  "snapshot",
  "indices_update",
  "prices_batch",
  "market_status",
  "feed_status",
  "pong",
  "error",
]);

/** Whether `value` is a server message: an object whose `event` is one of the protocol's. */
export function isServerMessage(value: unknown): value is ServerMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { event?: unknown }).event === "string" &&
    EVENTS.has((value as { event: string }).event)
  );
}

/** Calls `fn` once at most, whatever the number of calls. */
export function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let done = false;
  return (...args: A) => {
    if (done) return;
    done = true;
    fn(...args);
  };
}
