//! Parsing Upstox's instrument file (`NSE.json.gz`): a gzip-compressed JSON array of rows,
//! read as a stream so the whole file (tens of MB inflated, mostly derivatives) is never held.
//!
//! A row is kept when its `segment` is `NSE_EQ` and its `instrument_type` is `EQ`. Every other
//! row (indices, derivatives, BE/BZ-series stocks, bonds) is passed over. A kept row whose key
//! is malformed, whose symbol is missing, or whose key repeats an earlier row is *skipped and
//! counted*, never fatal: one odd row does not cost the day's universe. Unknown fields are
//! ignored and every field we read may be missing or of another JSON type (`exchange_token`
//! is a string, `tick_size` a number in paise: neither is used). Only a file that is not
//! gzip/JSON at all, is cut off, or inflates past the cap is refused as a whole.

use std::{
    collections::HashSet,
    fmt,
    io::{self, BufReader, Read},
};

use flate2::read::GzDecoder;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::UpstoxFileError;
use crate::{model::InstrumentKey, universe::Instrument};

/// What a parse found: the kept stocks, in file order, and the rows passed over.
///
/// ```
/// use market_feed::universe::upstox::parse_instrument_file;
/// let json = br#"[{"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":"NSE_EQ|INE002A01018","trading_symbol":"RELIANCE","name":"RELIANCE INDUSTRIES LTD"}]"#;
/// let parsed = parse_instrument_file(json, 1 << 20)?;
/// assert_eq!(parsed.stocks[0].symbol.as_ref(), "RELIANCE");
/// assert_eq!((parsed.rows, parsed.bad_rows), (1, 0));
/// # Ok::<(), market_feed::universe::upstox::UpstoxFileError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFile {
    /// The `NSE_EQ` / `EQ` rows, as instruments, in file order.
    pub stocks: Vec<Instrument>,
    /// Every row of the file.
    pub rows: u64,
    /// Rows that should have been kept but could not be: a malformed or missing key, a
    /// missing symbol, a row that is not an object, a key seen before.
    pub bad_rows: u64,
    /// A few of the bad rows, described (for the log line).
    pub bad_examples: Vec<String>,
}

/// How many bad rows are described in [`ParsedFile::bad_examples`].
const EXAMPLES: usize = 3;

/// Parses an instrument file, gzip-compressed or plain JSON, inflating at most
/// `max_inflated` bytes. Blocking CPU work: call it inside `spawn_blocking`.
///
/// # Errors
///
/// [`UpstoxFileError::NotJson`] when the bytes are neither gzip nor a JSON array (an HTML error
/// page), [`UpstoxFileError::Corrupt`] for a truncated gzip stream or broken JSON,
/// [`UpstoxFileError::TooLarge`] past the inflation cap.
///
/// ```
/// use market_feed::universe::upstox::{parse_instrument_file, UpstoxFileError};
/// let err = parse_instrument_file(b"<html>502</html>", 1 << 20).unwrap_err();
/// assert!(matches!(err, UpstoxFileError::NotJson { .. }));
/// ```
pub fn parse_instrument_file(
    bytes: &[u8],
    max_inflated: u64,
) -> Result<ParsedFile, UpstoxFileError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let capped = Capped {
            inner: GzDecoder::new(bytes),
            left: max_inflated,
            limit: max_inflated,
        };
        parse_json(BufReader::with_capacity(64 * 1024, capped), max_inflated)
    } else {
        let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'[') {
            return Err(UpstoxFileError::NotJson {
                starts_with: String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
                    .trim()
                    .to_owned(),
            });
        }
        if bytes.len() as u64 > max_inflated {
            return Err(UpstoxFileError::TooLarge {
                limit: max_inflated,
            });
        }
        parse_json(bytes, max_inflated)
    }
}

fn parse_json(reader: impl Read, max_inflated: u64) -> Result<ParsedFile, UpstoxFileError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = de
        .deserialize_seq(FileVisitor)
        .and_then(|p| de.end().map(|()| p))
        .map_err(|e| {
            if e.is_io() && e.to_string().contains(CAP_MESSAGE) {
                UpstoxFileError::TooLarge {
                    limit: max_inflated,
                }
            } else if e.is_data() {
                UpstoxFileError::NotJson {
                    starts_with: "a JSON value that is not an array".to_owned(),
                }
            } else {
                UpstoxFileError::Corrupt {
                    message: e.to_string(),
                }
            }
        })?;
    Ok(parsed)
}

const CAP_MESSAGE: &str = "inflation cap reached";

/// A reader that fails once more than `limit` bytes came through (a gzip bomb is refused, not
/// inflated).
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a stream that ends exactly at the cap from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "{CAP_MESSAGE} ({} bytes)",
                    self.limit
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = ParsedFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of instrument rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParsedFile, A::Error> {
        let mut out = ParsedFile::default();
        let mut seen = HashSet::new();
        while let Some(row) = seq.next_element::<Row>()? {
            out.rows += 1;
            match keep(row, &mut seen) {
                Ok(Some(i)) => out.stocks.push(i),
                Ok(None) => {}
                Err(why) => {
                    out.bad_rows += 1;
                    if out.bad_examples.len() < EXAMPLES {
                        out.bad_examples.push(format!("row {}: {why}", out.rows));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The instrument a row stands for, `None` for a row of another kind, or why a row that should
/// be kept cannot be.
fn keep(row: Row, seen: &mut HashSet<InstrumentKey>) -> Result<Option<Instrument>, String> {
    let Row::Object(f) = row else {
        return Err("not a JSON object".to_owned());
    };
    if f.segment.as_deref() != Some("NSE_EQ") || f.instrument_type.as_deref() != Some("EQ") {
        return Ok(None);
    }
    let raw = f
        .instrument_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or("no instrument_key")?;
    let key = InstrumentKey::new(raw).map_err(|e| format!("instrument_key {raw:?}: {e}"))?;
    if key.segment() != "NSE_EQ" {
        return Err(format!("instrument_key {raw:?} is not an NSE_EQ key"));
    }
    let symbol = f
        .trading_symbol
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{raw}: no trading_symbol"))?
        .to_owned();
    if !seen.insert(key.clone()) {
        return Err(format!("{raw}: listed twice"));
    }
    let name = [f.name, f.short_name]
        .into_iter()
        .flatten()
        .map(|n| n.trim().to_owned())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| symbol.clone());
    // An NSE_EQ key is `NSE_EQ|<ISIN>`: the key says it when the row does not.
    let isin = f
        .isin
        .filter(|i| !i.trim().is_empty())
        .unwrap_or_else(|| key.as_str()["NSE_EQ|".len()..].to_owned());
    Ok(Some(Instrument::new(key, symbol, name, Some(isin.trim()))))
}

/// One element of the array: an object with the fields we read, or anything else.
enum Row {
    Object(Fields),
    Other,
}

#[derive(Default)]
struct Fields {
    segment: Option<String>,
    instrument_type: Option<String>,
    instrument_key: Option<String>,
    trading_symbol: Option<String>,
    name: Option<String>,
    short_name: Option<String>,
    isin: Option<String>,
}

impl<'de> de::Deserialize<'de> for Row {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an instrument row")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut f = Fields::default();
        while let Some(name) = map.next_key::<FieldName>()? {
            let slot = match name {
                FieldName::Segment => &mut f.segment,
                FieldName::InstrumentType => &mut f.instrument_type,
                FieldName::InstrumentKey => &mut f.instrument_key,
                FieldName::TradingSymbol => &mut f.trading_symbol,
                FieldName::Name => &mut f.name,
                FieldName::ShortName => &mut f.short_name,
                FieldName::Isin => &mut f.isin,
                FieldName::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Lenient>()?.0;
        }
        Ok(Row::Object(f))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Row::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Row, E> {
        Ok(Row::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Row, E> {
        Ok(Row::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Row, E> {
        Ok(Row::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Row, E> {
        Ok(Row::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Row, E> {
        Ok(Row::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Row, E> {
        Ok(Row::Other)
    }
}

/// The row fields we read; every other name is ignored without being stored.
enum FieldName {
    Segment,
    InstrumentType,
    InstrumentKey,
    TradingSymbol,
    Name,
    ShortName,
    Isin,
    Other,
}

impl<'de> de::Deserialize<'de> for FieldName {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FieldName, E> {
                Ok(match s {
                    "segment" => FieldName::Segment,
                    "instrument_type" => FieldName::InstrumentType,
                    "instrument_key" => FieldName::InstrumentKey,
                    "trading_symbol" => FieldName::TradingSymbol,
                    "name" => FieldName::Name,
                    "short_name" => FieldName::ShortName,
                    "isin" => FieldName::Isin,
                    _ => FieldName::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A field value as text: strings as they are, numbers written out, anything else (null,
/// objects, arrays, booleans) as missing.
struct Lenient(Option<String>);

impl<'de> de::Deserialize<'de> for Lenient {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(s.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Lenient, E> {
                Ok(Lenient(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Lenient, E> {
                Ok(Lenient(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Lenient, E> {
                Ok(Lenient(Some(n.to_string())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests;
