//! Carrying out a `subscribe` on a hub [`Subscription`]: the symbol list resolved, resume and
//! rate applied (`docs/protocol.md` §3, §7, §8), shared by `/ws` and `/socket.io/`.

use std::time::Duration;

use market_feed::{
    hub::{ResumeFrom, Subscription},
    model::Topic,
};

use super::protocol::{ErrorCode, Refusal};
use crate::state::AppState;

/// Subscribes `sub` to `topics` (narrowing `prices` to `symbols` when given), resuming and
/// rate-limiting as asked. Unknown symbols are reported as an `unknown_symbol` refusal; the
/// known ones are subscribed all the same.
pub(crate) fn apply(
    state: &AppState,
    sub: &mut Subscription,
    topics: &[Topic],
    symbols: Option<Vec<String>>,
    resume: &[ResumeFrom],
    max_rate_ms: Option<u64>,
) -> Result<(), Refusal> {
    let mut unknown = Vec::new();
    let filter = match symbols {
        Some(list) if topics.contains(&Topic::Prices) => {
            let resolved = state.hub().resolve_filter(&list);
            unknown = resolved.unknown;
            Some(resolved.filter)
        }
        _ => None,
    };
    sub.subscribe_resuming(topics, filter, resume);
    sub.set_max_rate(topics, max_rate_ms.map(Duration::from_millis));
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::UnknownSymbol,
        format!(
            "unknown symbols or keys: {}; the others are subscribed (GET /api/v1/instruments lists them)",
            unknown.join(", ")
        ),
    ))
}
