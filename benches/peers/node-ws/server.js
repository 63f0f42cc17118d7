// Peer: Node.js + `ws`, broadcasting the market-feed workload. Each tick is serialized once into
// a Buffer and the same Buffer is sent to every client (the idiomatic fast path of `ws`).
// Usage: PORT=9201 node server.js   (clients connect to ws://127.0.0.1:PORT/ws)
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const { run, welcome } = require('../workload.js');

const port = Number(process.env.PORT || 9201);
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', perMessageDeflate: false });

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', () => {}); // subscriptions are ignored: everyone gets everything
  ws.send(JSON.stringify(welcome()));
});

let logged = false;
run((event, body) => {
  const buf = Buffer.from(JSON.stringify(body));
  if (!logged && event === 'prices_batch') { console.error(`node-ws: prices_batch frame ${buf.length} bytes`); logged = true; }
  for (const ws of wss.clients) {
    if (ws.readyState === WebSocket.OPEN) ws.send(buf, { binary: false });
  }
}, Number(process.env.INDICES_MS || 1000), Number(process.env.PRICES_MS || 5000));

console.error(`node-ws listening on ws://127.0.0.1:${port}/ws`);
process.on('SIGTERM', () => process.exit(0));
