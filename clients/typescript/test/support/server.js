// Starts the real market-feed-server binary for the tests, and a TCP proxy in front of it that
// the tests use to cut connections and to move clients to a restarted server.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../../..");

/** The server binary: $MARKET_FEED_SERVER_BIN, else target/release, else target/debug. */
export function serverBinary() {
  const candidates = [
    process.env.MARKET_FEED_SERVER_BIN,
    resolve(repo, "target/release/market-feed-server"),
    resolve(repo, "target/debug/market-feed-server"),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no market-feed-server binary (looked at ${candidates.join(", ")}): run cargo build --release -p market-feed-server, or set MARKET_FEED_SERVER_BIN`,
    );
  }
  return found;
}

/** A trading morning at 10x on simulated prices: indices every 0.1 s, prices every 0.5 s. */
export const OPEN_FAST = [
  "--store", "memory",
  "--source", "simulated",
  "--clock", "at:2026-01-29T10:00:00+05:30x10",
  "--indices-interval", "1s",
  "--prices-interval", "5s",
];

/**
 * Starts the server with `--listen 127.0.0.1:0` plus `args`; resolves once it logs its address.
 * Returns { addr, url(path), wsUrl, stop() -> exit code, log }.
 */
export async function startServer(args = OPEN_FAST) {
  const env = { ...process.env, RUST_LOG: "info" };
  delete env.UPSTOX_ACCESS_TOKEN;
  const child = spawn(serverBinary(), ["--listen", "127.0.0.1:0", ...args], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const log = [];
  const exited = new Promise((res) => child.once("exit", (code, signal) => res(code ?? signal)));
  const addr = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the server did not listen within 30 s:\n${log.join("\n")}`)), 30_000);
    let buffered = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        log.push(line);
        const m = line.match(/listening on http:\/\/([^/\s]+)/);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`the server exited (${code}) before listening:\n${log.join("\n")}`));
    });
  });
  return {
    addr,
    log,
    url: (path = "") => `http://${addr}${path}`,
    wsUrl: `ws://${addr}/ws`,
    /** SIGTERM, then the exit code (at most 15 s). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * A TCP proxy on 127.0.0.1 that forwards to `target` ("host:port", changeable). `drop()` cuts
 * every connection at once, like a network that went away.
 */
export async function startProxy(target) {
  const sockets = new Set();
  let to = target;
  const server = net.createServer((inbound) => {
    const [host, port] = splitAddr(to);
    const outbound = net.connect(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise((res) => server.listen(0, "127.0.0.1", res));
  const { port } = server.address();
  return {
    addr: `127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    setTarget(addr) {
      to = addr;
    },
    drop() {
      for (const s of sockets) s.destroy();
    },
    /** Stops accepting, then cuts what is open. */
    async close() {
      const closed = new Promise((res) => server.close(res));
      this.drop();
      await closed;
    },
  };
}

function splitAddr(addr) {
  const i = addr.lastIndexOf(":");
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}

/** Resolves with the first `event` payload of `client` that passes `test`, within `ms`. */
export function next(client, event, test = () => true, ms = 30_000) {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      off();
      rej(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const off = client.on(event, (payload) => {
      if (!test(payload)) return;
      clearTimeout(timer);
      off();
      res(payload);
    });
  });
}

/** Resolves once `check()` is truthy (polled every 20 ms), within `ms`. */
export async function eventually(check, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
