//! Decoding Upstox market-quote responses and error bodies.
//!
//! Success bodies are `{"status":"success","data":{"NSE_EQ:RELIANCE":{...},...}}`: the map is
//! keyed by `SEGMENT:trading_symbol`, so entries are matched to the requested instruments
//! through each entry's `instrument_token` (the requested `SEGMENT|ID` key), never through the
//! map key. Missing entries, `null` entries and fields, and entries for keys nobody asked for
//! are tolerated.

use std::{borrow::Cow, collections::HashMap, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, Visitor},
};

use super::QuoteEndpoint;
use crate::{
    model::{InstrumentKey, Quote},
    source::SourceError,
    universe::Instrument,
};

/// The quotes decoded from one response, and the requested keys it did not answer.
#[derive(Debug, Clone, Default, PartialEq)]
///
/// ```
/// let d = market_feed::source::upstox::Decoded::default();
/// assert!(d.quotes.is_empty() && d.missing.is_empty());
/// ```
pub struct Decoded {
    /// One quote per answered instrument, in request order.
    pub quotes: Vec<Quote>,
    /// Requested keys without a usable entry (unknown to Upstox, or `last_price` null).
    pub missing: Vec<InstrumentKey>,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Entries<'a>>,
}

/// The values of the `data` map; its keys (`NSE_EQ:RELIANCE`) are skipped unread.
struct Entries<'a>(Vec<Option<Entry<'a>>>);

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    instrument_token: Option<Cow<'a, str>>,
    last_price: Option<f64>,
    /// Previous close (v3 LTP).
    cp: Option<f64>,
    volume: Option<f64>,
    /// `last_price - previous close` (v2 full quote).
    net_change: Option<f64>,
    ohlc: Option<Ohlc>,
}

#[derive(Deserialize)]
struct Ohlc {
    open: Option<f64>,
    high: Option<f64>,
    low: Option<f64>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of instrument entries")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(64));
                while let Some((IgnoredAny, entry)) =
                    map.next_entry::<IgnoredAny, Option<Entry<'a>>>()?
                {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Decodes a successful (HTTP 200) response of `endpoint` for the instruments of one request,
/// stamping quotes with `ts`.
///
/// - v3 LTP: `ltp = last_price`, `prev_close = cp`, `volume`.
/// - v2 full quote: `ltp = last_price`, `prev_close = last_price - net_change` (its
///   `ohlc.close` is *not* the previous close), `open/high/low` from `ohlc`, `volume`.
///
/// Indices never get a volume. `status: partial_success` counts as a success for the keys it
/// answers. A body that is not JSON, or not `status: success` (or `partial_success`) with a
/// `data` object, is a [`SourceError::BadResponse`] with an excerpt.
///
/// ```
/// use market_feed::{model::InstrumentKey, source::upstox::{decode_quotes, QuoteEndpoint}, universe::Instrument};
///
/// let nhpc = Instrument::new(InstrumentKey::new("NSE_EQ|INE848E01016")?, "NHPC", "NHPC Ltd", None);
/// let body = br#"{"status":"success","data":{"NSE_EQ:NHPC":{"last_price":52.04999923706055,
///   "instrument_token":"NSE_EQ|INE848E01016","ltq":75,"volume":24123697,"cp":53.1}}}"#;
/// let d = decode_quotes(QuoteEndpoint::LtpV3, body, &[nhpc], 0)?;
/// assert_eq!(d.quotes[0].ltp, 52.05);
/// assert_eq!(d.quotes[0].change, Some(-1.05));
/// assert_eq!(d.quotes[0].volume, Some(24123697));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_quotes(
    endpoint: QuoteEndpoint,
    body: &[u8],
    requested: &[Instrument],
    ts: i64,
) -> Result<Decoded, SourceError> {
    let parsed: Body<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::undecodable("not the expected JSON", body, e))?;
    // `partial_success` answers some keys: a success for those (the rest are missing).
    if !matches!(
        parsed.status.as_deref(),
        Some("success" | "partial_success")
    ) {
        return Err(SourceError::bad_response(
            "HTTP 200 without \"status\":\"success\"",
            body,
        ));
    }
    let Some(Entries(entries)) = parsed.data else {
        return Err(SourceError::bad_response("no \"data\" object", body));
    };
    let index: HashMap<&str, usize> = requested
        .iter()
        .enumerate()
        .map(|(n, i)| (i.key.as_str(), n))
        .collect();
    let mut answers: Vec<Option<Quote>> = vec![None; requested.len()];
    for entry in entries.into_iter().flatten() {
        let (Some(token), Some(ltp)) = (entry.instrument_token.as_deref(), entry.last_price) else {
            continue;
        };
        let Some(&n) = index.get(token) else {
            continue; // an entry nobody asked for
        };
        if answers[n].is_some() || !ltp.is_finite() {
            continue;
        }
        let instrument = &requested[n];
        let prev_close = match endpoint {
            QuoteEndpoint::LtpV3 => entry.cp,
            QuoteEndpoint::FullQuoteV2 => entry.net_change.map(|c| ltp - c),
        };
        let mut quote = Quote::new(instrument.key.clone(), instrument.symbol.clone(), ltp, ts)
            .with_prev_close(prev_close.filter(|p| *p > 0.0));
        if let (QuoteEndpoint::FullQuoteV2, Some(o)) = (endpoint, entry.ohlc) {
            quote = quote.with_ohlc(o.open, o.high, o.low);
        }
        if !instrument.is_index() {
            let volume = entry.volume.filter(|v| v.is_finite() && *v >= 0.0);
            quote = quote.with_volume(volume.map(|v| v as u64));
        }
        answers[n] = Some(quote);
    }
    let mut decoded = Decoded::default();
    for (n, answer) in answers.into_iter().enumerate() {
        match answer {
            Some(q) => decoded.quotes.push(q),
            None => decoded.missing.push(requested[n].key.clone()),
        }
    }
    Ok(decoded)
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Option<Vec<ErrorItem>>,
}

#[derive(Deserialize)]
struct ErrorItem {
    error_code: Option<String>,
    #[serde(rename = "errorCode")]
    error_code_camel: Option<String>,
    message: Option<String>,
}

/// The first `(error_code, message)` of an Upstox error body, reading both `error_code` and
/// the deprecated `errorCode`. `None` when the body is not such a body.
///
/// ```
/// use market_feed::source::upstox::error_code;
/// let body = br#"{"status":"error","errors":[{"errorCode":"UDAPI100050","message":"Invalid token used to access API"}]}"#;
/// assert_eq!(error_code(body), Some(("UDAPI100050".into(), "Invalid token used to access API".into())));
/// ```
pub fn error_code(body: &[u8]) -> Option<(String, String)> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let first = parsed.errors?.into_iter().next()?;
    let code = first.error_code.or(first.error_code_camel)?;
    Some((code, first.message.unwrap_or_default()))
}

#[cfg(test)]
mod tests;
