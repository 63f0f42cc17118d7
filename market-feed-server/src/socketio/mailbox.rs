//! [`Mailbox`]: the packets a long-polling session holds for its client's next `GET`.
//!
//! The session puts packets in; a poll takes them all at once (or waits for some). The session
//! only takes a hub frame while the mailbox is empty, so a client that stops polling holds at
//! most one frame and a few small packets, and the hub replaces its backlog with a snapshot,
//! as for a WebSocket client that does not read.

use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use super::engine_packet::{CLOSE, NOOP};

/// Why a poll was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollRefusal {
    /// Another poll of the same session is waiting.
    Overlap,
    /// The session moved to WebSocket.
    Upgraded,
}

#[derive(Debug, Default)]
struct Inner {
    packets: Vec<Bytes>,
    closed: bool,
    upgrading: bool,
    upgraded: bool,
    polling: bool,
}

/// The packets waiting for a session's next poll.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    inner: Mutex<Inner>,
    /// Wakes the waiting poll.
    ready: Notify,
    /// Wakes the session when a poll took the packets.
    drained: Notify,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a packet for the next poll.
    pub(crate) fn push(&self, packet: Bytes) {
        self.lock().packets.push(packet);
        self.ready.notify_one();
    }

    /// Whether no packet waits (the session may take the next hub frame).
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().packets.is_empty()
    }

    /// Whether the session moved to WebSocket (a second upgrade is refused).
    pub(crate) fn upgraded(&self) -> bool {
        self.lock().upgraded
    }

    /// Resolves when a poll has taken the packets.
    pub(crate) async fn drained(&self) {
        self.drained.notified().await;
    }

    /// The session is over: the waiting or next poll gets the close packet.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The WebSocket probe succeeded: polls return at once (a noop when nothing waits), so
    /// the client can pause polling and finish the upgrade.
    pub(crate) fn start_upgrade(&self, on: bool) {
        self.lock().upgrading = on;
        self.ready.notify_one();
    }

    /// The upgrade is done: returns the packets still waiting, to go over the WebSocket; a
    /// poll still waiting gets a noop, later polls are refused.
    pub(crate) fn finish_upgrade(&self) -> Vec<Bytes> {
        let mut inner = self.lock();
        inner.upgraded = true;
        let left = std::mem::take(&mut inner.packets);
        drop(inner);
        self.ready.notify_one();
        left
    }

    /// Waits for packets and takes them: what the client's `GET` returns.
    pub(crate) async fn poll(&self) -> Result<Vec<Bytes>, PollRefusal> {
        {
            let mut inner = self.lock();
            if inner.upgraded {
                return Err(PollRefusal::Upgraded);
            }
            if inner.polling {
                return Err(PollRefusal::Overlap);
            }
            inner.polling = true;
        }
        // Clears `polling` however the poll ends (also when the client gives up on it).
        let _guard = PollGuard(self);
        loop {
            let ready = self.ready.notified();
            if let Some(packets) = self.take() {
                self.drained.notify_one();
                return Ok(packets);
            }
            ready.await;
        }
    }

    fn take(&self) -> Option<Vec<Bytes>> {
        let mut inner = self.lock();
        if !inner.packets.is_empty() {
            return Some(std::mem::take(&mut inner.packets));
        }
        if inner.closed {
            return Some(vec![CLOSE]);
        }
        (inner.upgrading || inner.upgraded).then(|| vec![NOOP])
    }
}

struct PollGuard<'a>(&'a Mailbox);

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().polling = false;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_poll_waits_for_packets_and_takes_them_all() {
        let mailbox = Arc::new(Mailbox::default());
        let m = mailbox.clone();
        let poll = tokio::spawn(async move { m.poll().await });
        tokio::task::yield_now().await;
        assert_eq!(mailbox.poll().await, Err(PollRefusal::Overlap));
        mailbox.push(Bytes::from_static(b"2"));
        mailbox.push(Bytes::from_static(b"3"));
        assert_eq!(
            poll.await.unwrap().unwrap(),
            vec![Bytes::from_static(b"2"), Bytes::from_static(b"3")]
        );
        assert!(mailbox.is_empty());
        mailbox.close();
        assert_eq!(mailbox.poll().await.unwrap(), vec![CLOSE]);
    }

    #[tokio::test]
    async fn an_upgrade_releases_the_poll_and_refuses_later_ones() {
        let mailbox = Mailbox::default();
        mailbox.start_upgrade(true);
        assert_eq!(mailbox.poll().await.unwrap(), vec![NOOP]);
        mailbox.push(Bytes::from_static(b"42[]"));
        assert_eq!(mailbox.finish_upgrade(), vec![Bytes::from_static(b"42[]")]);
        assert_eq!(mailbox.poll().await, Err(PollRefusal::Upgraded));
        assert!(mailbox.upgraded());
    }
}
