// A fake transport for unit tests: records what the client sends, and lets the test play the
// server's messages and closes.
export function fakeNetwork() {
  const conns = [];
  const factory = (handlers) => {
    const conn = {
      handlers,
      sent: [],
      closed: false,
      send(op) {
        this.sent.push(op);
      },
      close() {
        this.closed = true;
      },
      /** Plays a server message. */
      recv(msg) {
        handlers.message(msg);
      },
      /** Plays the connection's end. */
      lose(code = 1006, reason = "") {
        handlers.close({ code, reason });
      },
    };
    conns.push(conn);
    return conn;
  };
  return { factory, conns, last: () => conns[conns.length - 1] };
}

export const OPEN = {
  exchange: "NSE",
  phase: "open",
  live: true,
  trading_day: "2026-01-29",
  next_change: 1769680800000,
  next_phase: "post_close",
  reason: null,
};

export function welcome(epoch = "e1", market = OPEN) {
  return { event: "welcome", protocol: 1, server_time: 1769661334061, epoch, market };
}

export function quote(symbol, ltp, ts = 1769661334000) {
  return {
    key: `NSE_EQ|${symbol}`,
    symbol,
    ltp,
    prev_close: null,
    change: null,
    change_pct: null,
    open: null,
    high: null,
    low: null,
    volume: null,
    ts,
  };
}

export function snapshot(topic, seq, data, epoch = "e1", live = true) {
  return { event: "snapshot", topic, seq, epoch, live, source: live ? "live" : "close", trading_day: "2026-01-29", as_of: 1769661334000, data };
}

export function update(topic, seq, data) {
  return { event: topic === "indices" ? "indices_update" : "prices_batch", seq, data };
}
