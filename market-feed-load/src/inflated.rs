//! [`Inflated`]: the text of recently inflated messages, shared by every `--deflate` connection
//! of a run.
//!
//! A server that compresses each message once sends every client the same compressed bytes.
//! Real clients each inflate their one copy on their own CPU; this tool runs thousands of
//! clients on the cores it shares with the server, and inflating 5,000 copies of a 90 KB
//! `prices_batch` costs it seconds of CPU per batch, which then shows up as latency of every
//! server measured. So a connection whose message is byte for byte one inflated a moment ago
//! (compared in full, not by hash) reuses that text. Only messages compressed without context
//! takeover can be reused (their text depends on nothing else); `--inflate-each` turns the
//! sharing off.

use std::{collections::VecDeque, sync::Mutex};

use bytes::Bytes;

/// How many distinct messages are kept: a run's connections read within a few batches of
/// each other.
const KEPT: usize = 8;

/// Recently inflated messages: (compressed bytes, text), newest last.
#[derive(Debug, Default)]
pub(crate) struct Inflated {
    kept: Mutex<VecDeque<(Bytes, Bytes)>>,
}

impl Inflated {
    /// The text of `compressed`: a kept one when the same bytes were inflated before, else
    /// `inflate(compressed)`, kept for the next connections.
    pub(crate) fn get_or_inflate(
        &self,
        compressed: &[u8],
        inflate: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<Bytes, String> {
        if let Some(text) = self.find(compressed) {
            return Ok(text);
        }
        let text = Bytes::from(inflate(compressed)?);
        let mut kept = self.lock();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((Bytes::copy_from_slice(compressed), text.clone()));
        Ok(text)
    }

    fn find(&self, compressed: &[u8]) -> Option<Bytes> {
        let kept = self.lock();
        kept.iter()
            .rev()
            .find(|(z, _)| z.len() == compressed.len() && z[..] == compressed[..])
            .map(|(_, text)| text.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Bytes, Bytes)>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn equal_bytes_are_inflated_once_and_different_bytes_each_time() {
        let shared = Inflated::default();
        let calls = std::cell::Cell::new(0);
        let inflate = |z: &[u8]| {
            calls.set(calls.get() + 1);
            Ok(z.iter().rev().copied().collect())
        };
        assert_eq!(&shared.get_or_inflate(b"abc", inflate).unwrap()[..], b"cba");
        assert_eq!(&shared.get_or_inflate(b"abc", inflate).unwrap()[..], b"cba");
        // Same length, one byte different: inflated on its own.
        assert_eq!(&shared.get_or_inflate(b"abd", inflate).unwrap()[..], b"dba");
        assert_eq!(calls.get(), 2);
        // The oldest is forgotten after KEPT newer ones.
        for i in 0..KEPT {
            shared.get_or_inflate(&[b'x', i as u8], inflate).unwrap();
        }
        shared.get_or_inflate(b"abc", inflate).unwrap();
        assert_eq!(calls.get(), 2 + KEPT + 1);
    }

    #[test]
    fn a_failed_inflate_is_not_kept() {
        let shared = Inflated::default();
        assert!(shared.get_or_inflate(b"zz", |_| Err("bad".into())).is_err());
        assert_eq!(
            &shared
                .get_or_inflate(b"zz", |_| Ok(b"ok".to_vec()))
                .unwrap()[..],
            b"ok"
        );
    }
}
