// The market-feed benchmark workload for the Node.js peers: 9 indices and ~2,100 stocks whose
// prices walk randomly, as market-feed quotes (docs/protocol.md §1). Mirrors market-feed-load's
// src/workload.rs: same fields, same key and symbol lengths, so every server sends the same bytes.
'use strict';

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}
const r2 = (x) => Math.round(x * 100) / 100;
const between = (r, lo, hi) => lo + r() * (hi - lo);

const INDICES = [
  ['NSE_INDEX|Nifty 50', 'NIFTY 50'], ['NSE_INDEX|Nifty Bank', 'NIFTY BANK'],
  ['NSE_INDEX|Nifty IT', 'NIFTY IT'], ['NSE_INDEX|Nifty Next 50', 'NIFTY NEXT 50'],
  ['NSE_INDEX|Nifty Midcap 100', 'NIFTY MIDCAP 100'], ['NSE_INDEX|Nifty Fin Service', 'NIFTY FIN SERVICE'],
  ['NSE_INDEX|India VIX', 'INDIA VIX'], ['BSE_INDEX|SENSEX', 'SENSEX'], ['BSE_INDEX|BANKEX', 'BANKEX'],
];

function quote(r, key, symbol, prev, volume) {
  const open = prev * (1 + between(r, -0.01, 0.01));
  const ltp = open * (1 + between(r, -0.01, 0.01));
  return { key, symbol, ltp: r2(ltp), prev_close: r2(prev), change: null, change_pct: null,
    open: r2(open), high: r2(Math.max(open, ltp)), low: r2(Math.min(open, ltp)), volume, ts: 0 };
}

function universe(kind, count, seed) {
  const r = rng(seed);
  if (kind === 'indices') {
    return { r, quotes: INDICES.map(([k, s]) => quote(r, k, s, between(r, 5000, 80000), null)) };
  }
  const quotes = [];
  for (let i = 0; i < count; i++) {
    const key = `NSE_EQ|INE${String(Math.floor(i / 1000)).padStart(3, '0')}A01${String(i % 1000).padStart(3, '0')}`;
    const len = 4 + Math.floor(r() * 7);
    let symbol = '';
    for (let j = 0; j < len; j++) symbol += String.fromCharCode(65 + Math.floor(r() * 26));
    quotes.push(quote(r, key, symbol, between(r, 20, 5000), 1000 + Math.floor(r() * 9999000)));
  }
  return { r, quotes };
}

// Moves every price one step, stamps `ts`, and returns the message body (serialized by the caller).
function tick(u, event, seq, ts) {
  for (const q of u.quotes) {
    q.ltp = r2(q.ltp * (1 + between(u.r, -0.002, 0.002)));
    q.change = r2(q.ltp - q.prev_close);
    q.change_pct = r2((100 * (q.ltp - q.prev_close)) / q.prev_close);
    q.high = Math.max(q.high, q.ltp);
    q.low = Math.min(q.low, q.ltp);
    if (q.volume !== null) q.volume += Math.floor(u.r() * 5000);
    q.ts = ts;
  }
  return { event, seq, data: u.quotes };
}

function welcome() {
  return { event: 'welcome', protocol: 1, server_time: Date.now(),
    market: { exchange: 'NSE', phase: 'open', live: true, trading_day: '2026-01-29',
      next_change: 1769681400000, next_phase: 'closed', reason: null } };
}

// Calls `emit(event, body)` for indices every `indicesMs` and prices every `pricesMs`.
function run(emit, indicesMs = 1000, pricesMs = 5000, stocks = 2100) {
  const ind = universe('indices', 9, 1);
  const px = universe('stocks', stocks, 2);
  let si = 0; let sp = 0;
  const i = () => emit('indices_update', tick(ind, 'indices_update', ++si, Date.now()));
  const p = () => emit('prices_batch', tick(px, 'prices_batch', ++sp, Date.now()));
  i(); p();
  setInterval(i, indicesMs);
  setInterval(p, pricesMs);
}

module.exports = { run, welcome };
