// Peer: Node.js + `socket.io`, broadcasting the market-feed workload with `io.emit` (Socket.IO
// encodes a broadcast once for all clients). WebSocket transport only, as the load tool connects.
// Usage: PORT=9301 node server.js   (clients connect to ws://127.0.0.1:PORT/socket.io/?EIO=4&transport=websocket)
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const { run, welcome } = require('../workload.js');

const port = Number(process.env.PORT || 9301);
const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });

io.on('connection', (socket) => {
  socket.on('subscribe', () => {}); // subscriptions are ignored: everyone gets everything
  socket.emit('welcome', welcome());
});

let logged = false;
run((event, body) => {
  if (!logged && event === 'prices_batch') {
    console.error(`node-socketio: prices_batch payload ${JSON.stringify(body).length} bytes`);
    logged = true;
  }
  io.emit(event, body);
}, Number(process.env.INDICES_MS || 1000), Number(process.env.PRICES_MS || 5000));

httpServer.listen(port, '127.0.0.1');
console.error(`node-socketio listening on ws://127.0.0.1:${port}/socket.io/`);
process.on('SIGTERM', () => process.exit(0));
