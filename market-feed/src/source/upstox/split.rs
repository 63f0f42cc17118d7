//! Finding the keys a refused request was refused for: Upstox answers HTTP 400 (`UDAPI1087`)
//! for a whole batch when one of its keys is unknown, so the batch is split in halves, and
//! each half again, until every other key is answered and each unknown key stands alone.
//!
//! Every split request goes through [`request::fetch_batch`], so through the shared rate
//! limiter and within the refresh deadline. One unknown key in a batch of 500 costs about
//! 2 × log2(500) ≈ 18 extra requests, once: the key is then held back (see `quarantine`).

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{
    QuoteEndpoint, Shared, UpstoxConfig,
    request::{self, BatchError},
    response::Decoded,
};
use crate::{source::SourceError, universe::Instrument};

/// What the requests for one batch (and its halves) found.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The quotes and the keys answered without a price.
    pub(super) decoded: Decoded,
    /// Keys the broker refused on their own.
    pub(super) unknown: Vec<Instrument>,
    /// Parts that failed for another reason, with the error.
    pub(super) failed: Vec<(Vec<Instrument>, SourceError)>,
    /// Whether any request of the batch was answered (then the fetch is not a total failure).
    pub(super) answered: bool,
    /// How many requests were made.
    pub(super) requests: usize,
}

impl Resolved {
    fn merge(&mut self, other: Resolved) {
        self.decoded.quotes.extend(other.decoded.quotes);
        self.decoded.missing.extend(other.decoded.missing);
        self.unknown.extend(other.unknown);
        self.failed.extend(other.failed);
        self.answered |= other.answered;
        self.requests += other.requests;
    }
}

/// Requests `batch`, splitting it while the broker refuses it for a key. `Err` only for a
/// refused token (the caller stops everything).
pub(super) fn resolve<'a>(
    shared: &'a Shared,
    config: &'a UpstoxConfig,
    endpoint: QuoteEndpoint,
    mut batch: Vec<Instrument>,
    deadline: Instant,
) -> BoxFuture<'a, Result<Resolved, SourceError>> {
    Box::pin(async move {
        let result = request::fetch_batch(shared, config, endpoint, &batch, deadline).await;
        let mut resolved = Resolved {
            requests: 1,
            ..Resolved::default()
        };
        match result {
            Ok(decoded) => {
                resolved.decoded = decoded;
                resolved.answered = true;
            }
            Err(BatchError::Failed(e @ SourceError::Unauthorized(_))) => return Err(e),
            Err(BatchError::Failed(e)) => resolved.failed.push((batch, e)),
            Err(BatchError::KeysRefused(_)) if batch.len() == 1 => {
                resolved.unknown = batch;
                resolved.answered = true;
            }
            Err(BatchError::KeysRefused(detail)) => {
                tracing::debug!(keys = batch.len(), %detail, "Upstox refused a batch for a key; splitting it");
                let right = batch.split_off(batch.len() / 2);
                let (a, b) = futures::join!(
                    resolve(shared, config, endpoint, batch, deadline),
                    resolve(shared, config, endpoint, right, deadline)
                );
                resolved.answered = true;
                resolved.merge(a?);
                resolved.merge(b?);
            }
        }
        Ok(resolved)
    })
}
