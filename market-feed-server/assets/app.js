// market-feed live dashboard: plain JavaScript (ES2017), no framework, no build step.
//
// It speaks only the WebSocket protocol of docs/protocol.md (§3); the one REST call is
// a one-time load of instrument names for search (GET api/v1/instruments?topic=prices). There is no
// polling loop: a closed market still answers on the socket with closing prices, and
// `market_status` tells us when trading starts.
//
// Which stocks the page subscribes to (phone vs desktop):
// - Narrow screens (phones, < 760 px) always use the WATCHLIST mode: the table shows the user's
//   watchlist (kept in localStorage, key "market-feed.watchlist"; by default a handful of large
//   caps) and, while a search is typed, the matching instruments too, so they can be starred.
//   The prices subscription names exactly those rows (`symbols`, at most 500), and is sent again,
//   debounced, when the watchlist or the visible search results change. A phone never asks for
//   all ~2,100 stocks.
// - Wide screens default to ALL STOCKS (a toggle switches between the two; the choice is kept in
//   localStorage "market-feed.mode"): the page subscribes to `prices` without a symbol list, so
//   sorting by change % ranks the whole market, and renders only the first rows of the sorted,
//   filtered list (more on demand) to keep the DOM small.
// Subscriptions are debounced (400 ms) and never sent more than a few times a second, far below
// the server's limit of 20 messages/s.
//
// Times: the server may run on a shifted, sped-up clock (`--clock at:...x60`), so the local clock
// says nothing about market time. Every time shown comes from the server (quote `ts`,
// `server_time`, `next_change`), in IST, and "today"/"tomorrow"/weekday wording compares IST
// dates against the latest server time we have seen, never against `Date.now()`.
'use strict';

(function () {
  const IST_OFFSET_MS = 330 * 60 * 1000; // IST is UTC+05:30, no daylight saving
  const NARROW = window.matchMedia('(max-width: 760px)');
  const MAX_SYMBOLS = 500; // docs/protocol.md §3: a subscription names at most 500 symbols
  const PAGE_ROWS = 200; // rows rendered at once in "all stocks" mode
  const SEARCH_ROWS = 40; // extra (non-watchlist) search matches shown in watchlist mode
  const PING_EVERY_MS = 15000;
  const DEFAULT_WATCHLIST = ['RELIANCE', 'HDFCBANK', 'ICICIBANK', 'INFY', 'TCS', 'BHARTIARTL',
    'SBIN', 'ITC', 'LT', 'HINDUNILVR', 'KOTAKBANK', 'AXISBANK', 'BAJFINANCE', 'MARUTI',
    'SUNPHARMA', 'TATAMOTORS', 'M&M', 'NTPC', 'TITAN', 'ASIANPAINT'];
  const LS_WATCHLIST = 'market-feed.watchlist';
  const LS_MODE = 'market-feed.mode';

  const $ = (sel) => document.querySelector(sel);
  const el = {
    live: $('[data-testid="live-badge"]'),
    phase: $('[data-testid="phase"]'),
    next: $('[data-testid="next-change"]'),
    conn: $('[data-testid="conn-status"]'),
    latency: $('#latency'),
    lastUpdate: $('[data-testid="last-update"]'),
    feedStatus: $('[data-testid="feed-status"]'),
    toast: $('#toast'),
    indices: $('#indices'),
    indicesNote: $('#indices-note'),
    pricesNote: $('#prices-note'),
    search: $('[data-testid="search"]'),
    tbody: $('#stocks tbody'),
    foot: $('#table-foot'),
    diag: $('#diag'),
    modeButtons: document.querySelectorAll('[data-mode]'),
    sortButtons: document.querySelectorAll('[data-sort]'),
  };

  // ---- state ---------------------------------------------------------------------------------

  const state = {
    market: null, // the latest STATUS (docs/protocol.md §2)
    connected: false,
    serverNow: 0, // the latest server-clock instant seen (ms): welcome, pong, quote ts
    lastTs: 0, // the newest quote ts (ms)
    indices: new Map(), // symbol -> QUOTE, in the order the server sent them
    prices: new Map(), // symbol -> QUOTE
    meta: { indices: null, prices: null }, // snapshot facts per topic: live, source, trading_day
    seq: { indices: null, prices: null }, // last seq seen per topic
    gaps: 0,
    feed: {}, // topic -> feed_status event, kept while not ok
    instruments: [], // [{symbol, name, key}] from the one-time REST load
    names: new Map(), // symbol -> name
    watchlist: loadWatchlist(),
    mode: localStorage.getItem(LS_MODE) === 'watchlist' ? 'watchlist' : 'all',
    sort: { key: 'change_pct', dir: -1 },
    shown: PAGE_ROWS,
    rttMs: null,
  };

  function loadWatchlist() {
    try {
      const list = JSON.parse(localStorage.getItem(LS_WATCHLIST) || 'null');
      if (Array.isArray(list)) return list.filter((s) => typeof s === 'string');
    } catch (e) { /* a damaged entry falls back to the default */ }
    return DEFAULT_WATCHLIST.slice();
  }

  function saveWatchlist() {
    localStorage.setItem(LS_WATCHLIST, JSON.stringify(state.watchlist));
  }

  // Phones are always in watchlist mode; wide screens use the stored choice.
  function effectiveMode() {
    return NARROW.matches ? 'watchlist' : state.mode;
  }

  // ---- formatting ----------------------------------------------------------------------------

  const num2 = new Intl.NumberFormat('en-IN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const int = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 });
  const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  const fmtNum = (v) => (v == null ? '—' : num2.format(v));
  // The sign of a value as shown (two decimals): -0.004 shows as 0.00, with no sign and no colour.
  const shownSign = (v) => (v == null ? 0 : Math.sign(Math.round(v * 100)));
  const fmtSigned = (v) => (v == null ? '—' : (shownSign(v) > 0 ? '+' : shownSign(v) < 0 ? '−' : '') + num2.format(Math.abs(v)));
  const fmtPct = (v) => (v == null ? '—' : fmtSigned(v) + '%');
  const fmtVol = (v) => (v == null ? '—' : int.format(v));
  const trend = (v) => (shownSign(v) > 0 ? 'up' : shownSign(v) < 0 ? 'down' : 'flat');

  // IST calendar fields of an instant, by arithmetic (no time-zone database needed).
  function ist(ms) {
    const d = new Date(ms + IST_OFFSET_MS);
    return {
      y: d.getUTCFullYear(), m: d.getUTCMonth(), d: d.getUTCDate(), wd: d.getUTCDay(),
      hh: String(d.getUTCHours()).padStart(2, '0'),
      mm: String(d.getUTCMinutes()).padStart(2, '0'),
      ss: String(d.getUTCSeconds()).padStart(2, '0'),
      day: Math.floor((ms + IST_OFFSET_MS) / 86400000), // IST day number, for date differences
    };
  }

  // "today" is omitted, then "tomorrow", a weekday within the week, else "Mon 2 Feb".
  function dayWords(ms) {
    const t = ist(ms);
    if (!state.serverNow) return `${WEEKDAYS[t.wd]} ${t.d} ${MONTHS[t.m]} `;
    const diff = t.day - ist(state.serverNow).day;
    if (diff === 0) return '';
    if (diff === 1) return 'tomorrow ';
    if (diff > 1 && diff < 7) return WEEKDAYS[t.wd] + ' ';
    return `${WEEKDAYS[t.wd].slice(0, 3)} ${t.d} ${MONTHS[t.m]} `;
  }

  const PHASE_NAMES = { pre_open: 'Pre-open', open: 'Open', post_close: 'Post-close', closed: 'Closed' };

  // "Opens Monday 09:15 IST", "Closes 15:30 IST", "Pre-open tomorrow 09:00 IST".
  function nextChangeWords(market) {
    if (!market || !market.next_change || !market.next_phase) return '';
    const verbs = { pre_open: 'Pre-open', open: 'Opens', post_close: 'Closes', closed: 'Closes' };
    // Leaving post-close ends the session's last phase: say so rather than "Closes" twice.
    const verb = market.phase === 'post_close' && market.next_phase === 'closed'
      ? 'Post-close ends' : (verbs[market.next_phase] || market.next_phase);
    const t = ist(market.next_change);
    return `${verb} ${dayWords(market.next_change)}${t.hh}:${t.mm} IST`;
  }

  function timeWords(ms) {
    const t = ist(ms);
    return `${dayWords(ms)}${t.hh}:${t.mm}:${t.ss} IST`;
  }

  function dateWords(isoDay) {
    // "2026-01-28" -> "Wed 28 Jan"
    const [y, m, d] = isoDay.split('-').map(Number);
    const wd = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    return `${WEEKDAYS[wd].slice(0, 3)} ${d} ${MONTHS[m - 1]}`;
  }

  function sawServerTime(ms) {
    if (typeof ms === 'number' && ms > state.serverNow) state.serverNow = ms;
  }

  // ---- header: market, connection, feed status ---------------------------------------------

  function renderHeader() {
    const m = state.market;
    const live = !!(m && m.live && state.connected);
    el.live.hidden = !live;
    if (m) {
      let text = PHASE_NAMES[m.phase] || m.phase;
      if (m.phase === 'closed' && m.reason) {
        text += ' · ' + m.reason.replace(/^holiday: /, 'Holiday: ').replace(/_/g, ' ');
      }
      el.phase.textContent = text;
      el.phase.dataset.phase = m.phase;
      el.next.textContent = nextChangeWords(m);
    }
    el.conn.dataset.state = state.connected ? 'connected' : (reconnect.attempt ? 'reconnecting' : 'connecting');
    el.conn.textContent = el.conn.dataset.state;
    document.body.dataset.conn = el.conn.dataset.state;
    el.latency.textContent = state.connected && state.rttMs != null ? `${state.rttMs} ms` : '';
    el.lastUpdate.textContent = state.lastTs ? 'Updated ' + timeWords(state.lastTs) : '';
    el.diag.textContent = `protocol 1 · ${state.prices.size} stocks · ${state.indices.size} indices`
      + (state.gaps ? ` · ${state.gaps} gap${state.gaps > 1 ? 's' : ''} recovered` : '');
  }

  function renderFeedStatus() {
    const bad = Object.values(state.feed).filter((f) => f.state !== 'ok');
    el.feedStatus.hidden = bad.length === 0;
    el.feedStatus.textContent = bad.map((f) => {
      const since = f.last_success ? ` (last success ${timeWords(f.last_success)})` : '';
      return `${f.topic === 'indices' ? 'Indices' : 'Prices'} feed ${f.state}: ${f.detail || ''}${since}`;
    }).join(' · ');
    el.feedStatus.dataset.state = bad.length ? bad[0].state : 'ok';
  }

  let toastTimer = 0;
  function showToast(text) {
    el.toast.textContent = text;
    el.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.toast.hidden = true; }, 6000);
  }

  function sourceNote(topic) {
    const meta = state.meta[topic];
    if (!meta || meta.live) return '';
    if (meta.source === 'close' && meta.trading_day) return `Closing prices of ${dateWords(meta.trading_day)}`;
    if (meta.source === 'checkpoint') return 'Prices saved earlier in this session';
    return '';
  }

  // ---- indices strip -------------------------------------------------------------------------

  const testId = (symbol) => symbol.replace(/ /g, '_');

  function indexCard(q) {
    const card = document.createElement('div');
    card.className = 'index';
    card.setAttribute('data-testid', 'index-' + testId(q.symbol));
    card.innerHTML = '<div class="name"></div><div class="value"></div><div class="chg"><span></span><span></span></div>';
    card.querySelector('.name').textContent = q.symbol;
    card.querySelector('.value').setAttribute('data-testid', 'index-value-' + testId(q.symbol));
    return card;
  }

  function renderIndices(changed) {
    // Rebuild the card list only when the set of indices changes; otherwise update in place.
    const want = Array.from(state.indices.keys()).join('|');
    if (el.indices.dataset.symbols !== want) {
      el.indices.textContent = '';
      for (const q of state.indices.values()) el.indices.appendChild(indexCard(q));
      el.indices.dataset.symbols = want;
    }
    for (const q of state.indices.values()) {
      const card = el.indices.querySelector(`[data-testid="index-${cssEscape(testId(q.symbol))}"]`);
      if (!card) continue;
      card.dataset.trend = trend(q.change_pct); // the day's change colours the card
      card.querySelector('.value').textContent = fmtNum(q.ltp);
      const chg = card.querySelector('.chg');
      chg.firstChild.textContent = fmtPct(q.change_pct);
      chg.lastChild.textContent = fmtSigned(q.change);
      // A tick only flashes the value, briefly: the card keeps the day's colour.
      if (changed && changed.has(q.symbol)) flash(card.querySelector('.value'), changed.get(q.symbol), 300);
    }
    el.indicesNote.textContent = sourceNote('indices');
  }

  const cssEscape = (s) => (window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&'));

  // A brief green/red flash; the Web Animations API needs no forced reflow.
  const REDUCED_MOTION = window.matchMedia('(prefers-reduced-motion: reduce)');
  function flash(node, dir, ms) {
    if (!node || !node.animate || dir === 0 || REDUCED_MOTION.matches) return;
    const color = dir > 0 ? 'rgba(63,185,80,.16)' : 'rgba(248,81,73,.16)';
    node.animate([{ backgroundColor: color }, { backgroundColor: 'transparent' }],
      { duration: ms || 600, easing: 'ease-out' });
  }

  // ---- stock table ---------------------------------------------------------------------------

  const rowCache = new Map(); // symbol -> <tr>, reused across renders

  function nameOf(symbol) { return state.names.get(symbol) || ''; }

  function matches(symbol, query) {
    return searchRank(symbol, query) < 4;
  }

  // How well a symbol matches a search: 0 the exact symbol, 1 a symbol prefix, 2 inside the
  // symbol, 3 the name, 4 no match. Search results are listed by rank, not by the column sort.
  function searchRank(symbol, query) {
    if (!query) return 0;
    const s = symbol.toUpperCase();
    if (s === query) return 0;
    if (s.startsWith(query)) return 1;
    if (s.includes(query)) return 2;
    return nameOf(symbol).toUpperCase().includes(query) ? 3 : 4;
  }

  // The symbols the table shows, before sorting and paging.
  function candidateSymbols() {
    const query = el.search.value.trim().toUpperCase();
    if (effectiveMode() === 'all') {
      const all = new Set(state.prices.keys());
      for (const i of state.instruments) all.add(i.symbol);
      return Array.from(all).filter((s) => matches(s, query));
    }
    const rows = state.watchlist.filter((s) => matches(s, query));
    if (query) {
      const seen = new Set(rows);
      let extra = 0;
      const pool = state.instruments.length ? state.instruments.map((i) => i.symbol) : Array.from(state.prices.keys());
      for (const s of pool) {
        if (extra >= SEARCH_ROWS) break;
        if (!seen.has(s) && matches(s, query)) { rows.push(s); seen.add(s); extra += 1; }
      }
      // Without instrument names, a typed symbol can still be looked up as it is.
      if (!state.instruments.length && /^[A-Z0-9&-]+$/.test(query) && !seen.has(query)) rows.push(query);
    }
    return rows;
  }

  function sortValue(symbol, key) {
    if (key === 'symbol') return symbol;
    const q = state.prices.get(symbol);
    return q ? q[key] : null;
  }

  function sortedRows() {
    const { key, dir } = state.sort;
    const rows = candidateSymbols();
    const query = el.search.value.trim().toUpperCase();
    rows.sort((a, b) => {
      if (query) {
        // Searching: the best match first (exact, prefix, inside the symbol, name), then the
        // shorter symbol (closer to what was typed), then A-Z: "reli" lists RELIANCE first.
        const ra = searchRank(a, query);
        const rb = searchRank(b, query);
        if (ra !== rb) return ra - rb;
        if (a.length !== b.length) return a.length - b.length;
        return a < b ? -1 : 1;
      }
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      if (va == null && vb == null) return a < b ? -1 : 1;
      if (va == null) return 1; // unknown values last, whatever the direction
      if (vb == null) return -1;
      if (va === vb) return a < b ? -1 : 1;
      return (va < vb ? -1 : 1) * dir;
    });
    return rows;
  }

  function makeRow(symbol) {
    const tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.innerHTML = '<td class="star-col"><button type="button" class="star"></button></td>'
      + '<td class="sym"><div class="sy"><span class="s"></span><span class="n"></span></div></td>'
      + '<td class="num ltp"></td><td class="num wide chg"></td><td class="num pct"></td><td class="num wide vol"></td>';
    tr.querySelector('.s').textContent = symbol;
    return tr;
  }

  function fillRow(tr, symbol) {
    const q = state.prices.get(symbol);
    const starred = state.watchlist.includes(symbol);
    const star = tr.cells[0].firstChild;
    star.textContent = starred ? '★' : '☆';
    star.setAttribute('aria-label', (starred ? 'Remove from' : 'Add to') + ' watchlist: ' + symbol);
    star.classList.toggle('on', starred);
    tr.querySelector('.n').textContent = nameOf(symbol);
    tr.dataset.trend = q ? trend(q.change) : 'flat';
    tr.cells[2].textContent = q ? fmtNum(q.ltp) : '—';
    tr.cells[3].textContent = q ? fmtSigned(q.change) : '—';
    tr.cells[4].textContent = q ? fmtPct(q.change_pct) : '—';
    tr.cells[5].textContent = q ? fmtVol(q.volume) : '—';
  }

  // Re-renders the table: reuses row elements, so only changed rows touch the DOM much.
  function renderTable(changed) {
    // Until the first prices snapshot is applied there is nothing true to show: no rows of
    // dashes while the page says LIVE.
    const rows = state.meta.prices ? sortedRows() : [];
    const limit = effectiveMode() === 'all' ? state.shown : rows.length;
    const visible = rows.slice(0, limit);
    const keep = new Set(visible);
    for (const symbol of visible) {
      let tr = rowCache.get(symbol);
      if (!tr) { tr = makeRow(symbol); rowCache.set(symbol, tr); }
      fillRow(tr, symbol);
      if (changed && changed.has(symbol)) flash(tr, changed.get(symbol));
    }
    // Put the rows in order, moving only those out of place; then drop the rest.
    visible.forEach((symbol, i) => {
      const tr = rowCache.get(symbol);
      if (el.tbody.children[i] !== tr) el.tbody.insertBefore(tr, el.tbody.children[i] || null);
    });
    while (el.tbody.children.length > visible.length) el.tbody.lastElementChild.remove();
    for (const s of rowCache.keys()) if (!keep.has(s)) rowCache.delete(s);

    for (const b of el.sortButtons) {
      const on = b.dataset.sort === state.sort.key;
      b.classList.toggle('sorted', on);
      b.closest('th').setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    for (const b of el.modeButtons) b.setAttribute('aria-pressed', String(b.dataset.mode === effectiveMode()));

    let foot = '';
    if (rows.length > visible.length) {
      foot = `Showing ${visible.length} of ${int.format(rows.length)} · `;
    } else if (effectiveMode() === 'watchlist' && rows.length && !el.search.value.trim()) {
      foot = `Watchlist · ${rows.length} stock${rows.length > 1 ? 's' : ''} · search to add more, ★ to remove`;
    } else if (!state.meta.prices) {
      foot = 'Loading prices…';
    } else if (!rows.length) {
      if (el.search.value.trim()) foot = 'No stock matches the search.';
      else if (effectiveMode() === 'all') foot = 'Waiting for prices from the server…';
      else foot = 'Your watchlist is empty: search and tap ☆ to add stocks.';
    }
    el.foot.innerHTML = '';
    el.foot.append(foot);
    if (rows.length > visible.length) {
      const more = document.createElement('button');
      more.type = 'button';
      more.textContent = 'Show more';
      more.addEventListener('click', () => { state.shown += PAGE_ROWS; renderTable(); });
      el.foot.append(more);
    }
    el.pricesNote.textContent = sourceNote('prices');
    wantSubscription(visible);
  }

  // Batches arrive often; coalesce table renders to one per animation frame.
  let pendingChanges = null;
  function scheduleTable(changed) {
    if (!pendingChanges) {
      pendingChanges = new Map();
      requestAnimationFrame(() => { const c = pendingChanges; pendingChanges = null; renderTable(c); });
    }
    if (changed) for (const [k, v] of changed) pendingChanges.set(k, v);
  }

  // ---- data merging --------------------------------------------------------------------------

  // Merges quotes into a map; returns symbol -> direction (+1/-1) of those whose price moved.
  function merge(map, quotes) {
    const changed = new Map();
    for (const q of quotes) {
      if (!q || typeof q.symbol !== 'string') continue;
      const old = map.get(q.symbol);
      if (old && old.ts > q.ts) continue; // never let an older quote replace a newer one
      if (old && old.ltp !== q.ltp) changed.set(q.symbol, q.ltp > old.ltp ? 1 : -1);
      map.set(q.symbol, q);
      if (q.ts > state.lastTs) state.lastTs = q.ts;
      sawServerTime(q.ts);
    }
    return changed;
  }

  function noteSeq(topic, seq) {
    if (typeof seq !== 'number') return;
    const last = state.seq[topic];
    if (last != null && seq > last + 1) {
      // Missed batches: the server follows a drop with a fresh snapshot, so just note it.
      state.gaps += 1;
      console.info(`market-feed: ${topic} seq jumped from ${last} to ${seq}; a snapshot follows`);
    }
    if (last == null || seq > last) state.seq[topic] = seq;
  }

  // A batch is live data: a page that got the closing prices before the session opened stops
  // saying "Closing prices of ..." once the session's first batch arrives.
  function sawLive(topic) {
    const meta = state.meta[topic];
    if (meta && !meta.live) state.meta[topic] = Object.assign({}, meta, { live: true, source: 'live' });
  }

  function onSnapshot(msg) {
    const topic = msg.topic === 'indices' ? 'indices' : 'prices';
    state.meta[topic] = { live: msg.live, source: msg.source, trading_day: msg.trading_day, as_of: msg.as_of };
    state.seq[topic] = typeof msg.seq === 'number' ? msg.seq : null;
    sawServerTime(msg.as_of);
    const map = state[topic];
    map.clear(); // a snapshot replaces what we had for the topic
    merge(map, msg.data || []);
    if (topic === 'indices') renderIndices(); else scheduleTable();
  }

  function handle(msg) {
    switch (msg.event) {
      case 'welcome':
        sawServerTime(msg.server_time);
        state.market = msg.market || null;
        state.connected = true;
        reconnect.attempt = 0;
        // This connection reports feed health afresh (a topic that is not ok says so after its
        // snapshot), so forget what the previous connection said.
        state.feed = {};
        renderFeedStatus();
        send({ op: 'subscribe', topics: ['indices'] });
        subscribedKey = null; // the new connection has no prices subscription yet
        scheduleTable();
        break;
      case 'market_status': {
        const { event, ...status } = msg; // eslint-disable-line no-unused-vars
        state.market = status;
        break;
      }
      case 'snapshot':
        onSnapshot(msg);
        break;
      case 'indices_update':
        sawLive('indices');
        noteSeq('indices', msg.seq);
        renderIndices(merge(state.indices, msg.data || []));
        break;
      case 'prices_batch':
        sawLive('prices');
        noteSeq('prices', msg.seq);
        scheduleTable(merge(state.prices, msg.data || []));
        break;
      case 'feed_status':
        state.feed[msg.topic] = msg;
        renderFeedStatus();
        break;
      case 'pong':
        sawServerTime(msg.server_time);
        if (pings.has(msg.id)) {
          state.rttMs = Math.round(performance.now() - pings.get(msg.id));
          pings.delete(msg.id);
        }
        break;
      case 'error':
        showToast(`Server: ${msg.message || msg.code}`);
        break;
      default:
        break; // unknown events are ignored: the protocol may grow
    }
    renderHeader();
  }

  // ---- subscriptions -------------------------------------------------------------------------

  let subscribedKey = null; // what the server has now, as a string, to skip no-op re-subscribes
  let subTimer = 0;
  let wanted = null;

  // Called after each table render with the rows on screen; sends a debounced subscribe.
  function wantSubscription(visible) {
    if (effectiveMode() === 'all') {
      wanted = null; // all stocks: no symbol list
    } else {
      const set = new Set(state.watchlist);
      for (const s of visible) set.add(s);
      let list = Array.from(set);
      // With names loaded, ask only for symbols the server knows (no `unknown_symbol` noise).
      if (state.names.size) list = list.filter((s) => state.names.has(s) || state.prices.has(s));
      wanted = list.slice(0, MAX_SYMBOLS);
    }
    const key = wanted ? wanted.slice().sort().join(',') : '*';
    if (key === subscribedKey) { clearTimeout(subTimer); return; }
    clearTimeout(subTimer);
    subTimer = setTimeout(() => {
      if (!state.connected) return;
      const msg = { op: 'subscribe', topics: ['prices'] };
      if (wanted) msg.symbols = wanted;
      if (send(msg)) subscribedKey = key;
    }, subscribedKey === null ? 0 : 400);
  }

  // ---- connection ----------------------------------------------------------------------------

  let ws = null;
  const reconnect = { attempt: 0, timer: 0 };
  const pings = new Map();
  let pingId = 0;
  let pingTimer = 0;

  function socketUrl() {
    // Relative to the page, so a reverse proxy under a path prefix works too.
    const url = new URL('ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    const token = new URLSearchParams(location.search).get('token');
    if (token) url.searchParams.set('token', token);
    return url.href;
  }

  function send(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  function connect() {
    ws = new WebSocket(socketUrl());
    const socket = ws;
    socket.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg && typeof msg === 'object') handle(msg);
    };
    socket.onclose = () => {
      if (socket !== ws) return;
      state.connected = false;
      subscribedKey = null;
      clearInterval(pingTimer);
      pings.clear();
      scheduleReconnect();
      renderHeader();
    };
    socket.onerror = () => { /* onclose follows and reconnects */ };
    socket.onopen = () => {
      clearInterval(pingTimer);
      pingTimer = setInterval(ping, PING_EVERY_MS);
    };
  }

  // A ping for the latency display; two unanswered pings mean a dead connection.
  function ping() {
    if (pings.size >= 2) { ws.close(); return; }
    pingId += 1;
    pings.set(pingId, performance.now());
    send({ op: 'ping', id: pingId });
  }

  // Exponential backoff from 0.5 s to 30 s with full jitter, so a restarted server is not hit by
  // every browser at the same instant.
  function scheduleReconnect() {
    reconnect.attempt += 1;
    const cap = Math.min(30000, 500 * 2 ** Math.min(reconnect.attempt, 6));
    const delay = cap / 2 + Math.random() * cap / 2;
    clearTimeout(reconnect.timer);
    reconnect.timer = setTimeout(connect, delay);
  }

  // ---- instrument names (one-time load) ------------------------------------------------------

  function loadInstruments() {
    const headers = {};
    const token = new URLSearchParams(location.search).get('token');
    if (token) headers.Authorization = 'Bearer ' + token;
    fetch('api/v1/instruments?topic=prices', { headers })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((list) => {
        if (!Array.isArray(list)) return;
        state.instruments = list.filter((i) => i && typeof i.symbol === 'string');
        for (const i of state.instruments) state.names.set(i.symbol, i.name || '');
        scheduleTable();
      })
      .catch((e) => console.info('market-feed: instrument names unavailable, search by symbol only:', e.message));
  }

  // ---- user input ----------------------------------------------------------------------------

  // 'input' for typing; 'search' and 'change' also catch the clear button and scripted clears.
  for (const type of ['input', 'search', 'change']) {
    el.search.addEventListener(type, () => { state.shown = PAGE_ROWS; scheduleTable(); });
  }

  for (const b of el.sortButtons) {
    b.addEventListener('click', () => {
      const key = b.dataset.sort;
      if (state.sort.key === key) state.sort.dir = -state.sort.dir;
      else state.sort = { key, dir: key === 'symbol' ? 1 : -1 };
      scheduleTable();
    });
  }

  for (const b of el.modeButtons) {
    b.addEventListener('click', () => {
      state.mode = b.dataset.mode;
      localStorage.setItem(LS_MODE, state.mode);
      state.shown = PAGE_ROWS;
      scheduleTable();
    });
  }

  el.tbody.addEventListener('click', (ev) => {
    const star = ev.target.closest('.star');
    if (!star) return;
    const symbol = star.closest('tr').dataset.symbol;
    const i = state.watchlist.indexOf(symbol);
    if (i >= 0) state.watchlist.splice(i, 1);
    else if (state.watchlist.length < MAX_SYMBOLS) state.watchlist.push(symbol);
    saveWatchlist();
    scheduleTable();
  });

  NARROW.addEventListener('change', () => scheduleTable());

  // ---- start ---------------------------------------------------------------------------------

  // A demo server marks the page with the day it replays.
  const replay = document.body.dataset.replay;
  if (replay) {
    const note = $('[data-testid="replay"]');
    note.textContent = `Replay of ${dateWords(replay)} ${replay.slice(0, 4)} · recorded prices · indices derived from their members`;
    note.hidden = false;
  }

  renderHeader();
  scheduleTable();
  loadInstruments();
  connect();
}());
