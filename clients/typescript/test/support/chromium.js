// Headless Chromium driven over the DevTools protocol (with the ws package), for the browser
// test: open a page, evaluate expressions in it.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { WebSocket } from "ws";

/** The Chromium binary ($CHROMIUM, else chromium on the PATH), or undefined. */
export function chromiumBinary() {
  const name = process.env.CHROMIUM ?? "chromium";
  const found = spawnSync(name, ["--version"], { encoding: "utf8" });
  return found.status === 0 ? name : undefined;
}

/** Starts headless Chromium; resolves with { open(url) -> page, close() }. */
export async function launch(binary) {
  const profile = mkdtempSync(join(tmpdir(), "market-feed-chromium-"));
  const child = spawn(
    binary,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    // Its own process group, so that closing ends its helper processes too.
    { stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  const endpoint = await new Promise((res, rej) => {
    let text = "";
    const timer = setTimeout(() => rej(new Error(`Chromium gave no DevTools address within 30 s:\n${text}`)), 30_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      text += chunk;
      const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`Chromium exited (${code}):\n${text}`));
    });
  });
  const cdp = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((res, rej) => {
    cdp.once("open", res);
    cdp.once("error", rej);
  });
  let id = 0;
  const pending = new Map();
  cdp.on("message", (data) => {
    const msg = JSON.parse(String(data));
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.rej(new Error(`${msg.error.message}`));
    else p.res(msg.result);
  });
  const call = (method, params = {}, sessionId) =>
    new Promise((res, rej) => {
      const n = ++id;
      pending.set(n, { res, rej });
      cdp.send(JSON.stringify({ id: n, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  return {
    async open(url) {
      const { targetId } = await call("Target.createTarget", { url });
      const { sessionId } = await call("Target.attachToTarget", { targetId, flatten: true });
      return {
        /** The value of `expression` in the page (JSON-serializable results only). */
        async evaluate(expression) {
          const r = await call("Runtime.evaluate", { expression, returnByValue: true }, sessionId);
          if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.text}`);
          return r.result.value;
        },
        /** A PNG of the page, as a Buffer. */
        async screenshot() {
          const { data } = await call("Page.captureScreenshot", { format: "png" }, sessionId);
          return Buffer.from(data, "base64");
        },
      };
    },
    async close() {
      cdp.close();
      const exited = new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once("exit", res)));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
      // A helper may still be exiting while the profile is removed: retry for a while.
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
    },
  };
}
