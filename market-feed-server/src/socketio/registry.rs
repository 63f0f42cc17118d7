//! [`Sessions`]: the long-polling sessions by id, so a client's later `GET`, `POST` and
//! WebSocket upgrade reach the session its handshake opened.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use rand::RngCore;
use tokio::sync::mpsc;

use super::{inbound::Inbound, mailbox::Mailbox};

/// What a request needs to reach a session.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    /// The session's inbound channel.
    pub(crate) tx: mpsc::Sender<Inbound>,
    /// The packets waiting for the next poll.
    pub(crate) mailbox: Arc<Mailbox>,
}

/// The open sessions that a request can name by `sid`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sessions(Arc<Mutex<HashMap<String, Handle>>>);

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Handle>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, sid: &str, handle: Handle) {
        self.lock().insert(sid.to_owned(), handle);
    }

    pub(crate) fn get(&self, sid: &str) -> Option<Handle> {
        self.lock().get(sid).cloned()
    }

    pub(crate) fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }
}

/// A new session id: 128 random bits, base64url (22 characters). Whoever knows it can poll
/// the session, so it is not guessable.
pub(crate) fn new_sid() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let bits = u128::from_be_bytes(bytes);
    (0..22)
        .map(|i| char::from(ALPHABET[((bits >> (i * 6)) & 63) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_url_safe_and_distinct() {
        let a = new_sid();
        assert_eq!(a.len(), 22);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, new_sid());
    }
}
