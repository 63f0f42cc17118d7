//! JSON universes: an array of `{"topic","key","symbol","name","isin"}` objects (the shape of
//! `GET /api/v1/instruments`, with an optional `topic`), or Upstox's instruments master file (an
//! array of rows with `instrument_key`, `trading_symbol`, `segment`, `instrument_type`, `name`,
//! `isin`, ...).
//!
//! From the master file, rows of an `*_INDEX` segment (or `instrument_type` `INDEX`) become
//! indices, with the upper-cased `name` as symbol (`Nifty Bank` → `NIFTY BANK`, the way users
//! know it, where `trading_symbol` is `BANKNIFTY`); rows of an `*_EQ` segment whose
//! `instrument_type` is `EQ` (NSE) or the BSE groups `A`/`B` become stocks, with `trading_symbol`
//! as symbol; every other row (derivatives, bonds, ETFs of other types) is skipped.
//!
//! Errors carry the line where the offending array element starts.

use serde::Deserialize;

use super::{Entry, Instrument, Location, UniverseError, row};
use crate::model::Topic;

/// An element of our own JSON format. Unknown fields are refused (like unknown CSV columns).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnRow {
    topic: Option<String>,
    key: Option<String>,
    symbol: Option<String>,
    name: Option<String>,
    isin: Option<String>,
    /// Accepted so `/api/v1/instruments` output loads back; always derived from `key`.
    #[allow(dead_code)]
    segment: Option<String>,
}

/// The fields we use of an Upstox instruments master row (all others are ignored).
#[derive(Deserialize)]
struct UpstoxRow {
    instrument_key: Option<String>,
    trading_symbol: Option<String>,
    segment: Option<String>,
    instrument_type: Option<String>,
    name: Option<String>,
    isin: Option<String>,
}

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Entry>, UniverseError> {
    // Validate the whole document first so syntax errors carry serde_json's line.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(UniverseError::Invalid {
            at: Location::new(file, Some(e.line() as u64)),
            message: format!("invalid JSON ({e}): fix the syntax"),
        });
    }
    let elements = split_array(bytes).ok_or_else(|| UniverseError::Invalid {
        at: Location::new(file, Some(1)),
        message: "a JSON universe is an array of objects: [{\"key\":...,\"symbol\":...}, ...]"
            .to_owned(),
    })?;
    let mut entries = Vec::with_capacity(elements.len());
    let mut line = 1u64;
    let mut counted = 0usize;
    for (start, end) in elements {
        line += bytes[counted..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted = start;
        let element = &bytes[start..end];
        let invalid = |message: String| UniverseError::Invalid {
            at: Location::new(file, Some(line)),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_slice(element).map_err(|e| invalid(format!("{e}")))?;
        let is_upstox = value.get("instrument_key").is_some();
        let entry = if is_upstox {
            let row: UpstoxRow = serde_json::from_value(value)
                .map_err(|e| invalid(format!("not an Upstox instruments row: {e}")))?;
            upstox_entry(file, line, row)?
        } else {
            let row: OwnRow = serde_json::from_value(value).map_err(|e| {
                invalid(format!(
                    "{e}: the fields are topic, key, symbol, name, isin (and segment)"
                ))
            })?;
            Some(own_entry(file, line, row)?)
        };
        entries.extend(entry);
    }
    if entries.is_empty() {
        return Err(UniverseError::Empty(Location::new(file, None)));
    }
    Ok(entries)
}

fn own_entry(file: &str, line: u64, row: OwnRow) -> Result<Entry, UniverseError> {
    let missing = |what: &str| UniverseError::Missing {
        at: Location::new(file, Some(line)),
        what: what.to_owned(),
    };
    let key = row::key(
        file,
        line,
        row.key.as_deref().ok_or_else(|| missing("key"))?,
    )?;
    let symbol = row
        .symbol
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing("symbol"))?;
    let topic = row::topic(file, line, row.topic.as_deref(), &key)?;
    let name = row.name.filter(|n| !n.is_empty()).unwrap_or(symbol.clone());
    Ok(Entry {
        topic,
        instrument: Instrument::new(key, symbol.trim(), name, row.isin.as_deref()),
        line,
    })
}

fn upstox_entry(file: &str, line: u64, row: UpstoxRow) -> Result<Option<Entry>, UniverseError> {
    let Some(raw_key) = row.instrument_key.as_deref() else {
        return Ok(None);
    };
    let segment = row.segment.as_deref().unwrap_or("");
    let kind = row.instrument_type.as_deref().unwrap_or("");
    let topic = if segment.ends_with("_INDEX") || kind == "INDEX" {
        Topic::Indices
    } else if segment.ends_with("_EQ") && matches!(kind, "EQ" | "A" | "B") {
        Topic::Prices
    } else {
        return Ok(None);
    };
    let key = row::key(file, line, raw_key)?;
    let name = row.name.unwrap_or_default();
    let symbol = match topic {
        Topic::Indices if !name.is_empty() => name.to_uppercase(),
        _ => row.trading_symbol.unwrap_or_default(),
    };
    if symbol.is_empty() {
        return Err(UniverseError::Missing {
            at: Location::new(file, Some(line)),
            what: "trading_symbol".to_owned(),
        });
    }
    let name = if name.is_empty() {
        symbol.clone()
    } else {
        name
    };
    Ok(Some(Entry {
        topic,
        instrument: Instrument::new(key, symbol, name, row.isin.as_deref()),
        line,
    }))
}

/// The byte ranges of the elements of a top-level JSON array (the input is valid JSON).
/// `None` when the document is not an array.
fn split_array(bytes: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut i = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[i] != b'[' {
        return None;
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b']' {
            return Some(out);
        }
        let start = i;
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        while i < bytes.len() {
            let b = bytes[i];
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b']' | b',' if depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        out.push((start, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_nested_arrays_and_strings() {
        let s = br#" [ {"a":"x,]}"} , [1,[2]], "s\"]" ]"#;
        let parts: Vec<&str> = split_array(s)
            .unwrap()
            .into_iter()
            .map(|(a, b)| std::str::from_utf8(&s[a..b]).unwrap().trim())
            .collect();
        assert_eq!(parts, [r#"{"a":"x,]}"}"#, "[1,[2]]", r#""s\"]""#]);
        assert_eq!(split_array(b"{}"), None);
    }

    #[test]
    fn upstox_master_rows() {
        let master = r#"[
 {"segment":"NSE_EQ","name":"JOCIL LIMITED","exchange":"NSE","isin":"INE839G01010","instrument_type":"EQ","instrument_key":"NSE_EQ|INE839G01010","lot_size":1,"freeze_quantity":100000.0,"exchange_token":"16927","tick_size":5.0,"trading_symbol":"JOCIL","short_name":"JOCIL","security_type":"NORMAL"},
 {"segment":"NSE_INDEX","name":"Nifty Bank","exchange":"NSE","instrument_type":"INDEX","instrument_key":"NSE_INDEX|Nifty Bank","exchange_token":"26009","trading_symbol":"BANKNIFTY"},
 {"segment":"NSE_FO","name":"NIFTY","instrument_type":"CE","instrument_key":"NSE_FO|43919","trading_symbol":"NIFTY 25000 CE","expiry":1769680800000,"strike_price":25000.0},
 {"segment":"NSE_EQ","name":"SOME BOND","instrument_type":"GS","instrument_key":"NSE_EQ|IN0020200001","trading_symbol":"GS2030"}
]"#;
        let e = parse("NSE.json", master.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].instrument.symbol.as_ref(), "JOCIL");
        assert_eq!(e[0].instrument.isin.as_deref(), Some("INE839G01010"));
        assert_eq!(e[0].topic, Topic::Prices);
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].instrument.symbol.as_ref(), "NIFTY BANK");
        assert_eq!(e[1].topic, Topic::Indices);
        assert_eq!(e[1].line, 3);
    }

    #[test]
    fn own_format_errors_carry_lines() {
        // TC0: bad key on line 3.
        let j =
            "[\n {\"key\":\"NSE_EQ|A1\",\"symbol\":\"A\"},\n {\"key\":\"B1\",\"symbol\":\"B\"}\n]";
        let e = parse("u.json", j.as_bytes()).unwrap_err();
        assert!(matches!(e, UniverseError::BadKey { .. }));
        assert_eq!(e.location().line, Some(3));
        // TC1: an unknown field.
        let j = "[{\"key\":\"NSE_EQ|A1\",\"symbol\":\"A\",\"price\":1}]";
        let e = parse("u.json", j.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("price"), "{e}");
        // TC2: syntax error with serde's line.
        let e = parse("u.json", b"[\n{\"key\":}\n]").unwrap_err();
        assert_eq!(e.location().line, Some(2), "{e}");
        // TC3: not an array.
        assert!(parse("u.json", b"{\"key\":1}").is_err());
        // TC4: empty array.
        assert!(matches!(
            parse("u.json", b"[]").unwrap_err(),
            UniverseError::Empty(_)
        ));
    }
}
