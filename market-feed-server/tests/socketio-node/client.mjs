// The real socket.io-client 4.x, with its default options (long-polling, then the upgrade to
// WebSocket), against market-feed-server's /socket.io/. Run by tests/socketio_node.rs:
//
//   node client.mjs http://127.0.0.1:PORT [token]
//
// Prints one JSON line per event it saw (name, seq, data length, transport) and exits 0 once it
// has welcome, a snapshot of each topic, an indices_update after the upgrade, and the acked
// subscribe; exits 1 on connect_error or after 60 s.
import { io } from "socket.io-client";

const [url, token] = process.argv.slice(2);
const socket = io(url, token ? { auth: { token } } : undefined);
const seen = { welcome: 0, snapshot: new Set(), indices_update: 0, ack: null };
const log = (line) => console.log(JSON.stringify(line));

const fail = (why) => {
  log({ fail: why });
  process.exit(1);
};
setTimeout(() => fail("timed out"), 60_000).unref();

const transport = () => socket.io.engine?.transport?.name;
log({ initial: transport() });
socket.io.engine.on("upgrade", (t) => log({ upgrade: t.name }));
socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));
socket.on("welcome", (body) => {
  seen.welcome += 1;
  log({ event: "welcome", protocol: body.protocol, phase: body.market?.phase, transport: transport() });
});
socket.on("snapshot", (body) => {
  seen.snapshot.add(body.topic);
  log({ event: "snapshot", topic: body.topic, seq: body.seq, n: body.data.length, transport: transport() });
});
socket.on("prices_batch", (body) => log({ event: "prices_batch", seq: body.seq, n: body.data.length }));
socket.on("indices_update", (body) => {
  log({ event: "indices_update", seq: body.seq, n: body.data.length, transport: transport() });
  if (transport() === "websocket") seen.indices_update += 1;
  if (seen.indices_update === 1) {
    // Narrow to indices with an acknowledgement: the server answers {ok:true}.
    socket.emit("subscribe", { topics: ["indices"] }, (answer) => {
      seen.ack = answer;
      log({ ack: answer });
    });
  }
  if (seen.welcome === 1 && seen.snapshot.has("indices") && seen.snapshot.has("prices") && seen.ack?.ok) {
    log({ done: true, transport: transport() });
    socket.close();
    process.exit(0);
  }
});
