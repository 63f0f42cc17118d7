/**
 * The Socket.IO transport: the server's `/socket.io/` endpoint through `socket.io-client` 4.x
 * (an optional peer dependency). Server events arrive as Socket.IO events whose body is the
 * message without its `event` field; `subscribe` and `unsubscribe` are emitted with an
 * acknowledgement, whose refusal becomes an `error` message like on `/ws`.
 *
 * @module
 */

import { isServerMessage, once, type Transport, type TransportFactory } from "./transport.js";
import type { ClientOp } from "./types.js";

/** The part of a `socket.io-client` socket the client uses. */
export interface SocketIoSocket {
  on(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(): unknown;
}

/** `io` from `socket.io-client`: `(url, options) => socket`. */
export type SocketIoFactory = (url: string, options?: Record<string, unknown>) => SocketIoSocket;

/** The server events relayed to the client. */
export const SOCKET_IO_EVENTS = [
  "welcome",
  "market_status",
  "snapshot",
  "indices_update",
  "prices_batch",
  "feed_status",
  "error",
] as const;

/** The error when `socket.io-client` is neither passed nor installed. */
export class NoSocketIoError extends Error {
  constructor(cause: unknown) {
    super(
      `transport "socket.io" needs socket.io-client 4.x: npm install socket.io-client, and in a bundled app pass it: ` +
        `new MarketFeedClient({ url, transport: "socket.io", io }) with import { io } from "socket.io-client" (${String(cause)})`,
    );
    this.name = "NoSocketIoError";
  }
}

/** Loads `io` from `socket.io-client` (Node, or a browser with an import map). */
export async function loadSocketIo(): Promise<SocketIoFactory> {
  // A computed specifier: bundlers leave an optional peer that is not installed alone.
  const name = "socket.io-client";
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as {
      io?: SocketIoFactory;
      default?: SocketIoFactory;
    };
    const io = mod.io ?? mod.default;
    if (typeof io !== "function") throw new Error("the module has no io export");
    return io;
  } catch (err) {
    throw new NoSocketIoError(err);
  }
}

/**
 * The Socket.IO server URL for `url`: its origin, with `ws(s)` as `http(s)`; the path is
 * Socket.IO's (`/socket.io/` unless `socketIoOptions.path` says otherwise).
 *
 * ```ts
 * socketIoUrl("ws://localhost:8080/ws"); // "http://localhost:8080"
 * ```
 */
export function socketIoUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const u = base ? new URL(url, base) : new URL(url);
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  return u.origin;
}

/**
 * A transport factory for Socket.IO at `url`. `io` is `socket.io-client`'s factory (or a promise
 * of it); `token`, when given, goes in the connect packet's `auth`. Socket.IO's own reconnection
 * is off: the client reconnects (with resume) itself, as on `/ws`.
 */
export function socketIoTransport(
  url: string,
  io: SocketIoFactory | Promise<SocketIoFactory>,
  token: string | undefined,
  extraOptions: Record<string, unknown> = {},
): TransportFactory {
  return (handlers): Transport => {
    const close = once(handlers.close);
    let socket: SocketIoSocket | undefined;
    let closed = false;
    const start = (factory: SocketIoFactory) => {
      if (closed) return;
      socket = factory(url, {
        ...extraOptions,
        ...(token !== undefined ? { auth: { token } } : {}),
        reconnection: false,
        forceNew: true,
      });
      for (const event of SOCKET_IO_EVENTS) {
        socket.on(event, ((body: unknown) => {
          const msg = typeof body === "object" && body !== null ? { ...body, event } : body;
          if (isServerMessage(msg)) handlers.message(msg);
          else handlers.invalid(`a ${event} event without an object body`);
        }) as (...args: never[]) => void);
      }
      socket.on("connect_error", ((err: { message?: string; data?: unknown } | undefined) => {
        const message = err?.message ?? "connect error";
        if (/unauthori[sz]ed/i.test(message)) {
          handlers.message({
            event: "error",
            code: "unauthorized",
            message: "the server refused the token: pass a valid token option",
          });
        }
        close({ reason: `Socket.IO connect error: ${message}` });
      }) as (...args: never[]) => void);
      socket.on("disconnect", ((reason: string) => close({ reason: `Socket.IO: ${reason}` })) as (
        ...args: never[]
      ) => void);
    };
    if (typeof io === "function") start(io);
    else
      io.then(start, (err: unknown) => {
        handlers.message({ event: "error", code: "no_transport", message: String((err as Error)?.message ?? err) });
        close({ reason: String(err) });
      });
    return {
      send(op: ClientOp) {
        if (!socket || op.op === "ping") return;
        const { op: name, ...body } = op;
        socket.emit(name, body, (ack: unknown) => {
          const error = (ack as { ok?: boolean; error?: { code?: unknown; message?: unknown } } | undefined)
            ?.error;
          if ((ack as { ok?: boolean } | undefined)?.ok === false && error) {
            handlers.message({
              event: "error",
              code: String(error.code ?? "error"),
              message: String(error.message ?? ""),
            });
          }
        });
      },
      close() {
        closed = true;
        socket?.disconnect();
      },
    };
  };
}
