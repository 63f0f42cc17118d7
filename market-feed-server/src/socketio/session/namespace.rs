//! The Socket.IO layer of a session: joining the default namespace (with the client's token),
//! and the client's `subscribe` / `unsubscribe` events with their acknowledgements
//! (`docs/protocol.md`, "Socket.IO").

use market_feed::model::Topic;
use serde_json::{Value, json};

use super::{Session, Stop};
use crate::{
    socketio::socket_packet::{self, SocketPacket},
    stats::{Event, Rejection},
    ws::{
        protocol::{self, ClientOp, ErrorCode, Refusal, parse_op_value},
        subscribe,
    },
};

impl Session {
    /// One Socket.IO packet from the client.
    pub(super) async fn socket(&mut self, text: &str) -> Result<(), Stop> {
        let packet = match socket_packet::parse(text) {
            Ok(packet) => packet,
            Err(socket_packet::Malformed(why)) => {
                let message = format!("a Socket.IO packet with {why}: use a Socket.IO 4 client");
                return self
                    .refuse(&Refusal::new(ErrorCode::BadRequest, message))
                    .await;
            }
        };
        match packet {
            SocketPacket::Connect { nsp, auth } => self.connect(&nsp, auth.as_ref()).await,
            SocketPacket::Disconnect => {
                self.sub = None;
                Ok(())
            }
            SocketPacket::Event {
                nsp,
                id,
                name,
                args,
            } if nsp == "/" && self.sub.is_some() => self.client_event(id, &name, args).await,
            SocketPacket::Event { .. } => Ok(()),
            SocketPacket::Unsupported => {
                let refusal = Refusal::new(
                    ErrorCode::BadRequest,
                    "binary packets and acknowledgements are not understood: emit JSON events",
                );
                self.refuse(&refusal).await
            }
        }
    }

    async fn connect(&mut self, nsp: &str, auth: Option<&Value>) -> Result<(), Stop> {
        if nsp != "/" {
            return self
                .send(
                    None,
                    &socket_packet::connect_error(nsp, "Invalid namespace"),
                    None,
                )
                .await;
        }
        let token = auth.and_then(|a| a.get("token")).and_then(Value::as_str);
        if !(self.handshake_auth || token.is_some_and(|t| self.state.access().accepts(t))) {
            self.state.ws_stats().rejected(Rejection::Unauthorized);
            return self
                .send(
                    None,
                    &socket_packet::connect_error("/", "unauthorized"),
                    None,
                )
                .await;
        }
        self.send(None, &socket_packet::connected(&self.sid), None)
            .await?;
        if self.sub.is_some() {
            return Ok(());
        }
        self.connect_due = None;
        let now = self.state.clock().now_ms();
        let welcome =
            protocol::welcome(now, self.state.hub().epoch(), &self.state.clock().status());
        self.event(Event::Welcome, &welcome).await?;
        // Both topics until the client's first `subscribe` (the original frontend only listens).
        self.sub = Some(
            self.state
                .hub()
                .subscribe(&[Topic::Indices, Topic::Prices], None),
        );
        self.implicit = true;
        Ok(())
    }

    async fn client_event(
        &mut self,
        id: Option<u64>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<(), Stop> {
        let result = match (name, args.into_iter().next()) {
            ("subscribe" | "unsubscribe", Some(Value::Object(mut body))) => {
                body.insert("op".into(), Value::from(name));
                parse_op_value(&Value::Object(body)).and_then(|op| self.apply(op))
            }
            ("subscribe" | "unsubscribe", _) => Err(Refusal::new(
                ErrorCode::BadRequest,
                format!(
                    "emit(\"{name}\", {{topics: [\"indices\", \"prices\"]}}): the argument must be an object"
                ),
            )),
            (other, _) => Err(Refusal::new(
                ErrorCode::BadRequest,
                format!("unknown event {other:?}: emit \"subscribe\" or \"unsubscribe\""),
            )),
        };
        match (result, id) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(id)) => {
                self.send(None, &socket_packet::ack(id, &json!({"ok": true})), None)
                    .await
            }
            (Err(refusal), None) => self.refuse(&refusal).await,
            (Err(refusal), Some(id)) => {
                self.state.ws_stats().refused();
                let answer = json!({"ok": false, "error": {"code": refusal.code, "message": refusal.message}});
                self.send(None, &socket_packet::ack(id, &answer), None)
                    .await
            }
        }
    }

    fn apply(&mut self, op: ClientOp) -> Result<(), Refusal> {
        let Some(sub) = self.sub.as_mut() else {
            return Ok(());
        };
        let implicit = std::mem::replace(&mut self.implicit, false);
        match op {
            ClientOp::Subscribe {
                topics,
                symbols,
                resume,
                max_rate_ms,
            } => {
                if implicit {
                    let others: Vec<Topic> = [Topic::Indices, Topic::Prices]
                        .into_iter()
                        .filter(|t| !topics.contains(t))
                        .collect();
                    sub.unsubscribe(&others);
                }
                subscribe::apply(&self.state, sub, &topics, symbols, &resume, max_rate_ms)
            }
            ClientOp::Unsubscribe { topics } => {
                sub.unsubscribe(&topics);
                Ok(())
            }
            ClientOp::Ping { .. } => Ok(()),
        }
    }
}
