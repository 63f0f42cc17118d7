// The React hooks in a DOM (happy-dom), against the real server: a component using
// useRealtimeIndices shows live index levels and a LIVE badge; the price hooks of several
// components share one subscription; the provider closes the client it made.
import { GlobalRegistrator } from "@happy-dom/global-registrator";
import assert from "node:assert/strict";
import { after, before, it } from "node:test";

import { WebSocket } from "ws";

import { OPEN_FAST, eventually, startServer } from "./support/server.js";

GlobalRegistrator.register({ url: "http://localhost/" });
const { createElement: h } = await import("react");
const { createRoot } = await import("react-dom/client");
const { MarketFeedClient } = await import("../dist/index.js");
const { MarketFeedProvider, useMarketFeedClient, useFeedStatus, useMarketStatus, useRealtimeIndices, useRealtimePrices } = await import(
  "../dist/react/index.js"
);

let server;
before(async () => {
  server = await startServer(OPEN_FAST);
});
// The DOM globals stay registered until the process exits: React may still have work scheduled
// after the last test (removing `window` under it would fail that work, not the tests).
after(async () => {
  await server.stop();
});

function Indices() {
  const { quotes, live } = useRealtimeIndices();
  return h(
    "section",
    null,
    live ? h("span", { id: "badge" }, "LIVE") : null,
    h("ul", { id: "indices" }, quotes.map((q) => h("li", { key: q.key, "data-symbol": q.symbol }, String(q.ltp)))),
  );
}

function Price({ symbols, id }) {
  const { quotes } = useRealtimePrices(symbols);
  return h("p", { id }, quotes.map((q) => `${q.symbol}=${q.ltp}`).join(" "));
}

function Status() {
  const { status, connected } = useMarketStatus();
  const feed = useFeedStatus();
  return h("p", { id: "status" }, `${connected ? "connected" : "offline"} ${status?.phase ?? "-"} ${feed.feedState}`);
}

const text = (id) => document.getElementById(id)?.textContent ?? null;

it("shows live index levels, the chosen prices and the market status, from one shared client", async (t) => {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  const client = new MarketFeedClient({ url: server.url(), WebSocket });
  t.after(() => client.close());
  const tree = (withTcs) =>
    h(
      MarketFeedProvider,
      { client },
      h(Indices),
      h(Price, { id: "reliance", symbols: ["reliance"] }),
      withTcs ? h(Price, { id: "tcs", symbols: ["TCS"] }) : null,
      h(Status),
    );
  root.render(tree(true));

  await eventually(() => text("badge") === "LIVE", "the LIVE badge");
  await eventually(() => document.querySelectorAll("#indices li").length >= 9, "every index level");
  const nifty = () => document.querySelector('#indices li[data-symbol="NIFTY 50"]')?.textContent;
  const firstLevel = nifty();
  assert.ok(Number(firstLevel) > 0, firstLevel);
  await eventually(() => nifty() !== firstLevel, "the level moves with updates");
  await eventually(() => /^RELIANCE=\d/.test(text("reliance") ?? ""), "RELIANCE's price");
  await eventually(() => /^TCS=\d/.test(text("tcs") ?? ""), "TCS's price");
  assert.equal(text("status"), "connected open ok");
  // Two price hooks, one subscription: the union of their symbols.
  assert.deepEqual([...client.topic("prices").symbols].sort(), ["TCS", "reliance"]);
  assert.equal(client.prices.size, 2);

  // Unmounting the TCS component narrows the subscription to what is still shown.
  root.render(tree(false));
  await eventually(() => client.topic("prices").symbols?.length === 1, "the list narrowed");
  await eventually(() => client.prices.size === 1 && client.prices.has("RELIANCE"), "only RELIANCE kept");

  root.unmount();
  assert.equal(client.state, "open", "a client passed in is the caller's to close");
  client.close();
});

it("a provider given options makes, connects and closes its own client; a hook outside one says what to do", async () => {
  const container = document.createElement("div");
  const root = createRoot(container);
  let made;
  const Capture = () => {
    made = useMarketFeedClient();
    return null;
  };
  root.render(h(MarketFeedProvider, { options: { url: server.wsUrl, WebSocket } }, h(Indices), h(Capture)));
  await eventually(() => container.querySelectorAll("li").length >= 9, "index levels");
  assert.equal(made.state, "open");
  root.unmount();
  assert.equal(made.state, "closed", "the provider closes the client it made");

  const errors = [];
  const bare = createRoot(document.createElement("div"), { onUncaughtError: (e) => errors.push(e) });
  bare.render(h(Indices));
  await eventually(() => errors.length > 0, "the render error");
  assert.match(String(errors[0]), /wrap the component in <MarketFeedProvider/);
  bare.unmount();
});
