// The page of the browser test: a React app that shows the index levels with
// useRealtimeIndices and a LIVE badge, from the feed given in ?feed=.
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";

import { MarketFeedProvider, useMarketStatus, useRealtimeIndices } from "../../dist/react/index.js";

function Indices() {
  const { quotes, live } = useRealtimeIndices();
  const { status } = useMarketStatus();
  return h(
    "main",
    null,
    live ? h("span", { id: "badge" }, "LIVE") : null,
    h("p", { id: "phase" }, status?.phase ?? "-"),
    h(
      "ul",
      { id: "indices" },
      quotes.map((q) =>
        h("li", { key: q.key, "data-symbol": q.symbol }, h("b", null, q.symbol), " ", h("span", { className: "ltp" }, q.ltp.toFixed(2))),
      ),
    ),
  );
}

const feed = new URLSearchParams(location.search).get("feed");
createRoot(document.getElementById("root")).render(h(MarketFeedProvider, { options: { url: feed } }, h(Indices)));
