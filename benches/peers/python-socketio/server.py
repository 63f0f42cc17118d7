"""Peer: python-socketio (ASGI) under uvicorn, broadcasting the market-feed workload.

The engine of the Flask-SocketIO stack the original application used. Each tick builds the body
once and broadcasts it with ``sio.emit``. Mirrors ``market-feed-load``'s src/workload.rs: same
fields, same key and symbol lengths. Usage: PORT=9401 python server.py
(clients connect to ws://127.0.0.1:PORT/socket.io/?EIO=4&transport=websocket).
"""
import asyncio
import os
import random
import sys
import time

import socketio
import uvicorn

INDICES = [
    ("NSE_INDEX|Nifty 50", "NIFTY 50"), ("NSE_INDEX|Nifty Bank", "NIFTY BANK"),
    ("NSE_INDEX|Nifty IT", "NIFTY IT"), ("NSE_INDEX|Nifty Next 50", "NIFTY NEXT 50"),
    ("NSE_INDEX|Nifty Midcap 100", "NIFTY MIDCAP 100"),
    ("NSE_INDEX|Nifty Fin Service", "NIFTY FIN SERVICE"),
    ("NSE_INDEX|India VIX", "INDIA VIX"), ("BSE_INDEX|SENSEX", "SENSEX"), ("BSE_INDEX|BANKEX", "BANKEX"),
]


def quote(r, key, symbol, prev, volume):
    o = prev * (1 + r.uniform(-0.01, 0.01))
    ltp = o * (1 + r.uniform(-0.01, 0.01))
    return {"key": key, "symbol": symbol, "ltp": round(ltp, 2), "prev_close": round(prev, 2),
            "change": None, "change_pct": None, "open": round(o, 2), "high": round(max(o, ltp), 2),
            "low": round(min(o, ltp), 2), "volume": volume, "ts": 0}


def universe(kind, count, seed):
    r = random.Random(seed)
    if kind == "indices":
        return r, [quote(r, k, s, r.uniform(5000, 80000), None) for k, s in INDICES]
    quotes = []
    for i in range(count):
        symbol = "".join(chr(65 + r.randrange(26)) for _ in range(r.randint(4, 10)))
        key = f"NSE_EQ|INE{i // 1000:03d}A01{i % 1000:03d}"
        quotes.append(quote(r, key, symbol, r.uniform(20, 5000), r.randrange(1000, 10_000_000)))
    return r, quotes


def tick(u, event, seq):
    r, quotes = u
    ts = int(time.time() * 1000)
    for q in quotes:
        q["ltp"] = round(q["ltp"] * (1 + r.uniform(-0.002, 0.002)), 2)
        q["change"] = round(q["ltp"] - q["prev_close"], 2)
        q["change_pct"] = round(100 * (q["ltp"] - q["prev_close"]) / q["prev_close"], 2)
        q["high"] = max(q["high"], q["ltp"])
        q["low"] = min(q["low"], q["ltp"])
        if q["volume"] is not None:
            q["volume"] += r.randrange(5000)
        q["ts"] = ts
    return {"event": event, "seq": seq, "data": quotes}


sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])


@sio.event
async def connect(sid, environ):
    await sio.emit("welcome", {
        "event": "welcome", "protocol": 1, "server_time": int(time.time() * 1000),
        "market": {"exchange": "NSE", "phase": "open", "live": True, "trading_day": "2026-01-29",
                   "next_change": 1769681400000, "next_phase": "closed", "reason": None}}, to=sid)


@sio.event
async def subscribe(sid, data):
    pass  # subscriptions are ignored: everyone gets everything


async def every(period, event, u):
    seq = 0
    nxt = time.monotonic()
    while True:
        seq += 1
        await sio.emit(event, tick(u, event, seq))
        nxt += period
        await asyncio.sleep(max(0.0, nxt - time.monotonic()))


async def start():
    asyncio.get_running_loop().create_task(
        every(int(os.environ.get("INDICES_MS", 1000)) / 1000, "indices_update", universe("indices", 9, 1)))
    asyncio.get_running_loop().create_task(
        every(int(os.environ.get("PRICES_MS", 5000)) / 1000, "prices_batch", universe("stocks", 2100, 2)))


app = socketio.ASGIApp(sio, on_startup=start)

if __name__ == "__main__":
    port = int(os.environ.get("PORT", 9401))
    print(f"python-socketio listening on ws://127.0.0.1:{port}/socket.io/", file=sys.stderr)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")
