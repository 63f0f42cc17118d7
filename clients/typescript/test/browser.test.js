// In a real browser (headless Chromium): a React component using useRealtimeIndices, bundled with
// esbuild from the compiled package, shows live index levels from the real server and a LIVE
// badge. Without Chromium the test is skipped and says so, unless MARKET_FEED_REQUIRE_BROWSER=1.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

import { chromiumBinary, launch } from "./support/chromium.js";
import { OPEN_FAST, startServer } from "./support/server.js";

const here = dirname(fileURLToPath(import.meta.url));
const chromium = chromiumBinary();
if (!chromium && process.env.MARKET_FEED_REQUIRE_BROWSER === "1") {
  throw new Error("the browser test is required (MARKET_FEED_REQUIRE_BROWSER=1) but chromium is missing: apt-get install chromium");
}

let feed;
let pages;
let browser;
before(async () => {
  if (!chromium) return;
  const bundle = await build({
    entryPoints: [join(here, "browser/app.js")],
    bundle: true,
    format: "esm",
    write: false,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0].text;
  const html = '<!doctype html><meta charset="utf-8"><div id="root"></div><script type="module" src="/app.js"></script>';
  pages = createServer((req, res) => {
    const isJs = req.url === "/app.js";
    res.writeHead(200, { "content-type": isJs ? "text/javascript" : "text/html" });
    res.end(isJs ? js : html);
  });
  await new Promise((res) => pages.listen(0, "127.0.0.1", res));
  feed = await startServer(OPEN_FAST);
  browser = await launch(chromium);
});
after(async () => {
  // Each step runs whatever the others do, so no process outlives the test.
  try {
    await feed?.stop();
  } finally {
    try {
      pages?.closeAllConnections();
      await new Promise((res) => (pages ? pages.close(res) : res()));
    } finally {
      await browser?.close();
    }
  }
});

it("a React component using useRealtimeIndices shows live index levels in Chromium", async (t) => {
  if (!chromium) return t.skip("chromium is not installed");
  const page = await browser.open(`http://${pages.address().address}:${pages.address().port}/?feed=${encodeURIComponent(feed.wsUrl)}`);
  const until = async (expression, what, ms = 30_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await page.evaluate(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms in the page: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(`document.getElementById("badge")?.textContent === "LIVE"`, "the LIVE badge");
  await until(`document.querySelectorAll("#indices li").length >= 9`, "nine index levels");
  assert.equal(await page.evaluate(`document.getElementById("phase").textContent`), "open");
  const nifty = `document.querySelector('#indices li[data-symbol="NIFTY 50"] .ltp')?.textContent`;
  const first = await page.evaluate(nifty);
  assert.ok(Number(first) > 1000, `NIFTY 50 at ${first}`);
  await until(`${nifty} !== ${JSON.stringify(first)}`, "NIFTY 50 moves");
  // For a person to look at: target/test-artifacts/typescript-client-react.png.
  const artifacts = join(here, "../../../target/test-artifacts");
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, "typescript-client-react.png"), await page.screenshot());
});
