//! The trait's contract seen from a caller, with a mockall double.

use std::sync::Arc;

use super::*;
use crate::model::{InstrumentKey, Quote};

fn inst(key: &str) -> Instrument {
    Instrument::new(InstrumentKey::new(key).unwrap(), key, key, None)
}

/// What a caller (the feed) does with a fetch: publishes quotes, and counts a refresh with
/// errors as failed.
async fn refresh(source: &dyn PriceSource, instruments: &[Instrument]) -> (usize, bool) {
    match source.fetch(instruments).await {
        Ok(f) => (f.quotes.len(), !f.has_failures()),
        Err(_) => (0, false),
    }
}

#[tokio::test]
async fn a_mock_stands_in_for_any_source() {
    let mut mock = MockPriceSource::new();
    mock.expect_name().return_const("mock".to_owned());
    mock.expect_fetch()
        .withf(|i: &[Instrument]| i.len() == 2)
        .times(1)
        .returning(|i| {
            let mut f = Fetched {
                quotes: vec![Quote::new(i[0].key.clone(), i[0].symbol.clone(), 1.0, 0)],
                errors: vec![SourceError::Transient("HTTP 503".into())],
                ..Fetched::default()
            };
            f.fill_missing(i);
            Ok(f)
        });
    let source: Arc<dyn PriceSource> = Arc::new(mock);
    assert_eq!(source.name(), "mock");
    let r = refresh(source.as_ref(), &[inst("NSE_EQ|A1"), inst("NSE_EQ|B1")]).await;
    assert_eq!(r, (1, false));
}

#[tokio::test]
async fn unauthorized_is_an_err_not_a_partial_answer() {
    let mut mock = MockPriceSource::new();
    mock.expect_fetch()
        .returning(|_| Err(SourceError::Unauthorized("HTTP 401".into())));
    assert_eq!(refresh(&mock, &[inst("NSE_EQ|A1")]).await, (0, false));
}

#[test]
fn fill_missing_lists_each_unanswered_key_once() {
    let req = [
        inst("NSE_EQ|A1"),
        inst("NSE_EQ|B1"),
        inst("NSE_EQ|B1"),
        inst("NSE_EQ|C1"),
    ];
    let mut f = Fetched {
        quotes: vec![Quote::new(req[0].key.clone(), "A", 1.0, 0)],
        missing: vec![req[3].key.clone()],
        ..Fetched::default()
    };
    f.fill_missing(&req);
    let missing: Vec<&str> = f.missing.iter().map(|k| k.as_str()).collect();
    assert_eq!(missing, ["NSE_EQ|C1", "NSE_EQ|B1"]);
}
