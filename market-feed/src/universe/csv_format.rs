//! The universe CSV format.
//!
//! ```text
//! # comment lines start with '#'
//! topic,key,symbol,name,isin
//! indices,NSE_INDEX|Nifty 50,NIFTY 50,Nifty 50,
//! prices,NSE_EQ|INE002A01018,RELIANCE,Reliance Industries Limited,INE002A01018
//! ```
//!
//! - The header is required; its columns may come in any order. `key` and `symbol` are
//!   required; `topic` (`indices` or `prices`; default: `indices` for `*_INDEX` keys, else
//!   `prices`), `name` (default: the symbol) and `isin` (default: none) are optional.
//! - A column not in this list is an error on the header's line.
//! - Fields may be quoted (`"Bajaj Finance, Ltd."`); blank lines are skipped.
//!
//! ```
//! use market_feed::universe::Universe;
//!
//! let csv = "symbol,key\nRELIANCE,NSE_EQ|INE002A01018\nNIFTY 50,NSE_INDEX|Nifty 50\n";
//! let u = Universe::from_bytes("mine.csv", csv.as_bytes())?;
//! assert_eq!((u.indices().len(), u.prices().len()), (1, 1));
//! assert_eq!(u.prices()[0].name.as_ref(), "RELIANCE");
//! # Ok::<(), market_feed::universe::UniverseError>(())
//! ```

use super::{Entry, Instrument, Location, UniverseError, row};

/// The columns of the format, in the canonical order.
///
/// ```
/// assert_eq!(market_feed::universe::csv_format::COLUMNS[1], "key");
/// ```
pub const COLUMNS: [&str; 5] = ["topic", "key", "symbol", "name", "isin"];

#[derive(Default)]
struct Columns {
    topic: Option<usize>,
    key: Option<usize>,
    symbol: Option<usize>,
    name: Option<usize>,
    isin: Option<usize>,
}

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Entry>, UniverseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(UniverseError::Empty(Location::new(file, None))),
        Some(r) => r.map_err(|e| csv_error(file, bytes, &e))?,
    };
    // The csv crate's own line numbers skip blank lines: count newlines up to each record.
    let mut lines = LineCounter::new(bytes);
    let header_line = lines.line_of(&header);
    let mut cols = Columns::default();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        let slot = match name.as_str() {
            "topic" => &mut cols.topic,
            "key" => &mut cols.key,
            "symbol" => &mut cols.symbol,
            "name" => &mut cols.name,
            "isin" => &mut cols.isin,
            _ => {
                return Err(UniverseError::UnknownColumn {
                    at: Location::new(file, Some(header_line)),
                    column: name,
                });
            }
        };
        *slot = Some(i);
    }
    let (Some(key_col), Some(symbol_col)) = (cols.key, cols.symbol) else {
        let what = if cols.key.is_none() { "key" } else { "symbol" };
        return Err(UniverseError::Missing {
            at: Location::new(file, Some(header_line)),
            what: format!("column {what:?}"),
        });
    };
    let mut entries = Vec::new();
    for record in records {
        let record = record.map_err(|e| csv_error(file, bytes, &e))?;
        let line = lines.line_of(&record);
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).filter(|s| !s.is_empty());
        let raw_key = field(Some(key_col)).ok_or_else(|| missing(file, line, "key"))?;
        let symbol = field(Some(symbol_col)).ok_or_else(|| missing(file, line, "symbol"))?;
        let key = row::key(file, line, raw_key)?;
        let topic = row::topic(file, line, field(cols.topic), &key)?;
        let name = field(cols.name).unwrap_or(symbol);
        let instrument = Instrument::new(key, symbol, name, field(cols.isin));
        entries.push(Entry {
            topic,
            instrument,
            line,
        });
    }
    if entries.is_empty() {
        return Err(UniverseError::Empty(Location::new(file, Some(header_line))));
    }
    Ok(entries)
}

/// Maps records to 1-based line numbers through their byte offsets (records come in order).
/// A record's offset may point at blank or comment lines skipped before it: those are
/// stepped over, so the line is the record's own.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, record: &csv::StringRecord) -> u64 {
        let at = record.position().map_or(self.offset, |p| p.byte() as usize);
        self.line_at(at)
    }

    fn line_at(&mut self, at: usize) -> u64 {
        let mut at = at.min(self.bytes.len());
        if at < self.offset {
            at = self.offset;
        }
        self.line += count_newlines(&self.bytes[self.offset..at]);
        // Step over the blank and comment lines the reader skipped.
        while at < self.bytes.len() {
            match self.bytes[at] {
                b'\n' => self.line += 1,
                b'\r' => {}
                b'#' => {
                    while at + 1 < self.bytes.len() && self.bytes[at + 1] != b'\n' {
                        at += 1;
                    }
                }
                _ => break,
            }
            at += 1;
        }
        self.offset = at;
        self.line
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn missing(file: &str, line: u64, what: &str) -> UniverseError {
    UniverseError::Missing {
        at: Location::new(file, Some(line)),
        what: what.to_owned(),
    }
}

fn csv_error(file: &str, bytes: &[u8], e: &csv::Error) -> UniverseError {
    let line = e
        .position()
        .map(|p| LineCounter::new(bytes).line_at(p.byte() as usize));
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} fields where the header has {expected_len}: quote fields that contain commas"
        ),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8: save the file as UTF-8".to_owned(),
        _ => format!("unreadable CSV ({e}): see docs/sources.md for the format"),
    };
    UniverseError::Invalid {
        at: Location::new(file, line),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Topic;

    fn err(csv: &str) -> UniverseError {
        parse("u.csv", csv.as_bytes()).unwrap_err()
    }

    #[test]
    fn full_format_with_comments_and_quotes() {
        let csv = "# mine\ntopic,key,symbol,name,isin\n\
                   indices,NSE_INDEX|Nifty 50,NIFTY 50,Nifty 50,\n\
                   prices,NSE_EQ|INE296A01032,BAJFINANCE,\"Bajaj Finance, Ltd.\",INE296A01032\n";
        let e = parse("u.csv", csv.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].topic, Topic::Indices);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[1].instrument.name.as_ref(), "Bajaj Finance, Ltd.");
        assert_eq!(e[1].instrument.isin.as_deref(), Some("INE296A01032"));
        assert_eq!(e[1].line, 4);
    }

    #[test]
    fn errors_name_file_and_line() {
        // TC0: unknown column, on the header line.
        assert_eq!(
            err("key,symbol,price\n").location(),
            Location::new("u.csv", Some(1))
        );
        // TC1: malformed key on line 3.
        let e = err("key,symbol\nNSE_EQ|INE002A01018,RELIANCE\nRELIANCE,RELIANCE\n");
        assert!(matches!(e, UniverseError::BadKey { .. }));
        assert_eq!(e.to_string().split(": ").next(), Some("u.csv:3"));
        // TC2: a missing symbol.
        let e = err("key,symbol\nNSE_EQ|INE002A01018,\n");
        assert!(matches!(e, UniverseError::Missing { .. }), "{e}");
        // TC3: header without key.
        assert!(matches!(
            err("symbol,name\n"),
            UniverseError::Missing { .. }
        ));
        // TC4: header only.
        assert!(matches!(err("key,symbol\n"), UniverseError::Empty(_)));
        // TC5: unequal field count, with its line.
        let e = err("key,symbol\nNSE_EQ|A1,A\n\nNSE_EQ|B1,B,extra\n");
        assert_eq!(e.location().line, Some(4), "{e}");
        // TC7: blank lines and comments count as lines.
        let e = err("# c\nkey,symbol\n\n\nNSE_EQ|A1,A\n\n# c\nBAD,B\n");
        assert_eq!(e.location().line, Some(8), "{e}");
        // TC6: a bad topic.
        let e = err("topic,key,symbol\nstocks,NSE_EQ|A1,A\n");
        assert!(e.to_string().contains("unknown topic"), "{e}");
    }
}
