//! [`MemoryRelay`]: a [`Relay`] inside one process, with the semantics of the NATS one (a lease
//! key with a TTL on tokio's clock, compare-and-set on its revision, live and retained
//! channels). For tests on paused time, and for running several hubs in one program.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};
use tokio_stream::wrappers::BroadcastStream;

use super::relay::{Channel, Claim, Relay, RelayError};

/// The lease as the bus holds it.
#[derive(Debug)]
struct Lease {
    holder: String,
    revision: u64,
    expires: Instant,
}

#[derive(Debug, Default)]
struct State {
    lease: Option<Lease>,
    revision: u64,
    retained: HashMap<Channel, Bytes>,
}

/// A [`Relay`] in memory (see the [`cluster`](crate::cluster) module). Clone-free: share it in an `Arc`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use market_feed::cluster::{Claim, MemoryRelay, Relay};
/// let relay = MemoryRelay::new(Duration::from_secs(10));
/// assert_eq!(relay.acquire("a").await.unwrap(), Claim::Won(1));
/// assert_eq!(relay.acquire("b").await.unwrap(), Claim::Held(Some("a".into())));
/// tokio::time::sleep(Duration::from_secs(10)).await; // a never renewed: the lease lapses
/// assert_eq!(relay.acquire("b").await.unwrap(), Claim::Won(2));
/// assert!(relay.renew("a", 1).await.is_err());
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryRelay {
    ttl: Duration,
    state: Mutex<State>,
    live: broadcast::Sender<(Channel, Bytes)>,
    connected: watch::Sender<bool>,
}

impl MemoryRelay {
    /// A bus whose lease lasts `ttl` after each write.
    ///
    /// See [`MemoryRelay`] for an example.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State::default()),
            live: broadcast::channel(1024).0,
            connected: watch::channel(true).0,
        }
    }

    /// Cuts the bus (every call fails, as with a partition) or heals it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use market_feed::cluster::{MemoryRelay, Relay};
    /// let relay = MemoryRelay::new(std::time::Duration::from_secs(10));
    /// relay.set_connected(false);
    /// assert!(relay.acquire("a").await.is_err());
    /// # }
    /// ```
    pub fn set_connected(&self, up: bool) {
        self.connected.send_replace(up);
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, RelayError> {
        if !*self.connected.borrow() {
            return Err(RelayError::Bus("the bus is cut".into()));
        }
        Ok(self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Writes the lease for `node` until `expires`, at the next revision.
fn grant(st: &mut State, node: &str, expires: Instant) -> u64 {
    st.revision += 1;
    st.lease = Some(Lease {
        holder: node.to_owned(),
        revision: st.revision,
        expires,
    });
    st.revision
}

#[async_trait]
impl Relay for MemoryRelay {
    async fn acquire(&self, node: &str) -> Result<Claim, RelayError> {
        let mut st = self.state()?;
        let now = Instant::now();
        if let Some(lease) = st.lease.as_ref().filter(|l| l.expires > now) {
            return Ok(Claim::Held(Some(lease.holder.clone())));
        }
        Ok(Claim::Won(grant(&mut st, node, now + self.ttl)))
    }

    async fn renew(&self, node: &str, revision: u64) -> Result<u64, RelayError> {
        let mut st = self.state()?;
        let now = Instant::now();
        let current = st
            .lease
            .as_ref()
            .filter(|l| l.expires > now && l.revision == revision && l.holder == node);
        if current.is_none() {
            return Err(RelayError::LeaseLost);
        }
        Ok(grant(&mut st, node, now + self.ttl))
    }

    async fn release(&self, revision: u64) -> Result<(), RelayError> {
        let mut st = self.state()?;
        if st.lease.as_ref().is_some_and(|l| l.revision == revision) {
            st.lease = None;
        }
        Ok(())
    }

    async fn publish(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError> {
        drop(self.state()?);
        let _ = self.live.send((channel, payload));
        Ok(())
    }

    async fn retain(&self, channel: Channel, payload: Bytes) -> Result<(), RelayError> {
        self.state()?.retained.insert(channel, payload);
        Ok(())
    }

    async fn retained(&self, channel: Channel) -> Result<Option<Bytes>, RelayError> {
        Ok(self.state()?.retained.get(&channel).cloned())
    }

    async fn subscribe(&self) -> Result<BoxStream<'static, (Channel, Bytes)>, RelayError> {
        drop(self.state()?);
        let connected = self.connected.subscribe();
        Ok(BroadcastStream::new(self.live.subscribe())
            // A cut bus delivers nothing, as a partition would.
            .filter_map(move |m| futures::future::ready(m.ok().filter(|_| *connected.borrow())))
            .boxed())
    }

    fn connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }
}
