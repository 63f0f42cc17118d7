/**
 * The `/ws` transport: plain WebSocket with JSON text frames, on the global `WebSocket`
 * (browsers, Node 22+) or one passed in (Node 20: the `ws` package).
 *
 * @module
 */

import { isServerMessage, once, type Transport, type TransportFactory } from "./transport.js";
import type { ClientOp } from "./types.js";

/** The part of the WebSocket API the client uses (browsers' and the `ws` package's have it). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

/** A WebSocket constructor: the global `WebSocket`, or `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/** The error when no WebSocket constructor is available (Node 20 has no global one). */
export class NoWebSocketError extends Error {
  constructor() {
    super(
      "no WebSocket implementation: this runtime has no global WebSocket (Node 20 has none; Node 22+ and browsers do). " +
        "Install the ws package and pass it: new MarketFeedClient({ url, WebSocket: (await import(\"ws\")).WebSocket })",
    );
    this.name = "NoWebSocketError";
  }
}

/**
 * The `/ws` URL for `url`: `http(s)` becomes `ws(s)`, an empty path becomes `/ws`, and `token`,
 * when given, goes in `?token=`. Relative URLs resolve against the page's location.
 *
 * ```ts
 * wsUrl("http://localhost:8080");          // "ws://localhost:8080/ws"
 * wsUrl("wss://feed.example/ws", "s3cr3t"); // "wss://feed.example/ws?token=s3cr3t"
 * ```
 */
export function wsUrl(url: string, token?: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const u = base ? new URL(url, base) : new URL(url);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "" || u.pathname === "/") u.pathname = "/ws";
  if (token !== undefined) u.searchParams.set("token", token);
  return u.toString();
}

/** Picks the WebSocket constructor: the one given, else the global one. */
export function resolveWebSocket(given?: WebSocketConstructor): WebSocketConstructor {
  if (given) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!global) throw new NoWebSocketError();
  return global;
}

/** A transport factory for `/ws` at `url` (already a full `ws(s)://` URL, token included). */
export function webSocketTransport(url: string, Ctor: WebSocketConstructor): TransportFactory {
  return (handlers): Transport => {
    const close = once(handlers.close);
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (err) {
      queueMicrotask(() => close({ reason: `cannot open ${redact(url)}: ${String(err)}` }));
      return { send() {}, close() {} };
    }
    socket.addEventListener("message", (event) => {
      const text = textOf(event.data);
      if (text === undefined) {
        handlers.invalid("a binary frame (the server sends text frames only)");
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        handlers.invalid(`not JSON: ${text.slice(0, 80)}`);
        return;
      }
      if (isServerMessage(value)) handlers.message(value);
      else handlers.invalid(`not a server event: ${text.slice(0, 80)}`);
    });
    socket.addEventListener("close", (event) => close({ code: event.code, reason: event.reason }));
    // Browsers fire `error` before `close`; the `ws` package needs a listener or it throws.
    socket.addEventListener("error", () => {});
    return {
      send(op: ClientOp) {
        if (socket.readyState === OPEN) socket.send(JSON.stringify(op));
      },
      close() {
        try {
          socket.close(1000);
        } catch {
          // Closing a socket that is still connecting throws in some runtimes; it is dropped anyway.
        }
      },
    };
  };
}

function textOf(data: unknown): string | undefined {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return undefined;
}

/** `url` without its token, for messages. */
export function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, "$1***");
}
