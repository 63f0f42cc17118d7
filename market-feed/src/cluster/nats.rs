//! [`NatsRelay`]: the [`Relay`] on NATS with JetStream (feature `nats`).
//!
//! Everything is namespaced by the cluster's name `NAME`:
//!
//! | what | where |
//! | --- | --- |
//! | the lease | key `leader` of the KV bucket `NAME-lease`, whose TTL (`max_age`) is the lease; created only if absent, renewed with `update(key, value, revision)` |
//! | retained values | stream `NAME-latest` on `NAME.retained.>`, one message kept per subject |
//! | live frames | core subjects `NAME.live.<channel>` (`batch.prices`, `status`, ...) |

use std::time::Duration;

use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind, UpdateErrorKind},
    stream::{self, LastRawMessageErrorKind},
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use tokio::sync::watch;

use super::{
    naming::{redact_url, valid_cluster_name},
    relay::{Channel, Claim, Relay, RelayError},
};

/// The lease key in the bucket.
const LEASE_KEY: &str = "leader";

/// The [`Relay`] on NATS JetStream. Everything is namespaced by the cluster's name `NAME`:
///
/// | what | where |
/// | --- | --- |
/// | the lease | key `leader` of the KV bucket `NAME-lease`, whose TTL (`max_age`) is the lease; created only if absent, renewed with `update(key, value, revision)` |
/// | retained values | stream `NAME-latest` on `NAME.retained.>`, one message kept per subject |
/// | live frames | core subjects `NAME.live.<channel>` (`batch.prices`, `status`, ...) |
#[derive(Debug)]
pub struct NatsRelay {
    name: String,
    client: async_nats::Client,
    js: jetstream::Context,
    lease: kv::Store,
    latest: stream::Stream,
    connected: watch::Receiver<bool>,
}

/// A failure to join the bus at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url}: {reason}; check that nats-server runs there")]
    Connect {
        /// The server's URL, without credentials.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server has no JetStream, or refused to create the bucket or stream.
    #[error(
        "NATS at {url} refused the cluster's {what}: {reason}; is JetStream enabled (nats-server -js)?"
    )]
    JetStream {
        /// The server's URL, without credentials.
        url: String,
        /// The bucket or stream.
        what: String,
        /// What failed.
        reason: String,
    },
    /// The cluster's name cannot name NATS subjects and buckets.
    #[error("bad cluster name {0:?}: use letters, digits, '-' and '_' only")]
    BadName(String),
}

impl NatsRelay {
    /// Connects to `url` and makes sure the cluster `name`'s lease bucket (TTL `lease`) and
    /// retained stream exist.
    ///
    /// # Errors
    /// [`NatsError`] when the server cannot be reached, has no JetStream, or `name` is bad.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), market_feed::cluster::NatsError> {
    /// use market_feed::cluster::NatsRelay;
    /// let relay = NatsRelay::connect("nats://127.0.0.1:4222", "market-feed", std::time::Duration::from_secs(10)).await?;
    /// # let _ = relay; Ok(()) }
    /// ```
    pub async fn connect(url: &str, name: &str, lease: Duration) -> Result<Self, NatsError> {
        if !valid_cluster_name(name) {
            return Err(NatsError::BadName(name.to_owned()));
        }
        let shown = redact_url(url);
        let (tx, connected) = watch::channel(true);
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tx.send_replace(true);
                        }
                        async_nats::Event::Disconnected => {
                            tx.send_replace(false);
                        }
                        _ => {}
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| NatsError::Connect {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        let js = jetstream::new(client.clone());
        let bucket = format!("{name}-lease");
        // The bucket's stream is made as `create_key_value` would, without its account query
        // (whose answer older servers, such as Debian's nats-server 2.9, shape differently).
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age: lease,
            max_bytes: -1,
            max_message_size: -1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            num_replicas: 1,
            ..stream::Config::default()
        })
        .await
        .map_err(refused(&shown, format!("key-value bucket {bucket}")))?;
        let lease_store = js
            .get_key_value(bucket.clone())
            .await
            .map_err(refused(&shown, format!("key-value bucket {bucket}")))?;
        let stream_name = format!("{name}-latest");
        let latest = js
            .get_or_create_stream(stream::Config {
                name: stream_name.clone(),
                subjects: vec![format!("{name}.retained.>")],
                max_messages_per_subject: 1,
                ..stream::Config::default()
            })
            .await
            .map_err(refused(&shown, format!("stream {stream_name}")))?;
        Ok(Self {
            name: name.to_owned(),
            client,
            js,
            lease: lease_store,
            latest,
            connected,
        })
    }

    /// Deletes the cluster's bucket and stream (tests, or retiring a cluster).
    ///
    /// # Errors
    /// [`RelayError::Bus`] when the server refuses.
    ///
    /// ```no_run
    /// # async fn demo(relay: market_feed::cluster::NatsRelay) -> Result<(), market_feed::cluster::RelayError> {
    /// relay.remove().await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove(&self) -> Result<(), RelayError> {
        self.js
            .delete_key_value(format!("{}-lease", self.name))
            .await
            .map_err(bus)?;
        self.js
            .delete_stream(format!("{}-latest", self.name))
            .await
            .map_err(bus)?;
        Ok(())
    }

    fn live_subject(&self, channel: Channel) -> String {
        format!("{}.live.{}", self.name, channel.name())
    }

    fn retained_subject(&self, channel: Channel) -> String {
        format!("{}.retained.{}", self.name, channel.name())
    }
}

/// The error for a bucket or stream (`what`) the server at `url` refused.
fn refused<E: std::fmt::Display>(url: &str, what: String) -> impl FnOnce(E) -> NatsError {
    let url = url.to_owned();
    move |e| NatsError::JetStream {
        url,
        what,
        reason: e.to_string(),
    }
}

fn bus(e: impl std::fmt::Display) -> RelayError {
    RelayError::Bus(e.to_string())
}

#[async_trait]
impl Relay for NatsRelay {
    async fn acquire(&self, node: &str) -> Result<Claim, RelayError> {
        match self
            .lease
            .create(LEASE_KEY, Bytes::copy_from_slice(node.as_bytes()))
            .await
        {
            Ok(revision) => Ok(Claim::Won(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                let holder = self
                    .lease
                    .get(LEASE_KEY)
                    .await
                    .map_err(bus)?
                    .map(|v| String::from_utf8_lossy(&v).into_owned());
                Ok(Claim::Held(holder))
            }
            Err(e) => Err(bus(e)),
        }
    }

    async fn renew(&self, node: &str, revision: u64) -> Result<u64, RelayError> {
        match self
            .lease
            .update(LEASE_KEY, Bytes::copy_from_slice(node.as_bytes()), revision)
            .await
        {
            Ok(revision) => Ok(revision),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Err(RelayError::LeaseLost),
            Err(e) => {
                // A wrong-revision answer can also come back as a plain JetStream error.
                let text = e.to_string();
                if text.contains("wrong last sequence") {
                    Err(RelayError::LeaseLost)
                } else {
                    Err(RelayError::Bus(text))
                }
            }
        }
    }

    async fn release(&self, revision: u64) -> Result<(), RelayError> {
        self.lease
            .delete_expect_revision(LEASE_KEY, Some(revision))
            .await
            .map_err(bus)
    }

    async fn publish(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError> {
        self.client
            .publish(self.live_subject(channel), payload)
            .await
            .map_err(bus)
    }

    async fn retain(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError> {
        self.js
            .publish(self.retained_subject(channel), payload)
            .await
            .map_err(bus)?
            .await
            .map_err(bus)?;
        Ok(())
    }

    async fn retained(&self, channel: Channel) -> Result<Option<Bytes>, RelayError> {
        match self
            .latest
            .get_last_raw_message_by_subject(&self.retained_subject(channel))
            .await
        {
            Ok(message) => Ok(Some(message.payload)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(bus(e)),
        }
    }

    async fn subscribe(&self) -> Result<BoxStream<'static, (Channel, Bytes)>, RelayError> {
        let prefix = format!("{}.live.", self.name);
        let subscriber = self
            .client
            .subscribe(format!("{prefix}>"))
            .await
            .map_err(bus)?;
        Ok(subscriber
            .filter_map(move |message| {
                let channel = message
                    .subject
                    .as_str()
                    .strip_prefix(prefix.as_str())
                    .and_then(Channel::from_name);
                futures::future::ready(channel.map(|c| (c, message.payload)))
            })
            .boxed())
    }

    fn connected(&self) -> watch::Receiver<bool> {
        self.connected.clone()
    }
}
