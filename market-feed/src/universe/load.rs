//! Format detection for universe files: gzip or plain, then JSON (starts with `[`) or CSV.

use std::io::Read;

use flate2::read::GzDecoder;

use super::{Entry, Location, UniverseError, csv_format, json_format};

/// Parses a universe file's bytes into entries, detecting gzip and the format from the content.
pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Entry>, UniverseError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::with_capacity(bytes.len() * 8);
        GzDecoder::new(bytes)
            .read_to_end(&mut plain)
            .map_err(|e| UniverseError::Invalid {
                at: Location::new(file, None),
                message: format!("the file looks gzip-compressed but cannot be decompressed ({e}): re-download or gunzip it"),
            })?;
        return parse_plain(file, &plain);
    }
    parse_plain(file, bytes)
}

fn parse_plain(file: &str, bytes: &[u8]) -> Result<Vec<Entry>, UniverseError> {
    let first = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    match first.map(|i| bytes[i]) {
        None => Err(UniverseError::Empty(Location::new(file, None))),
        Some(b'[') | Some(b'{') => json_format::parse(file, bytes),
        Some(_) => csv_format::parse(file, bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Topic;
    use std::io::Write;

    #[test]
    fn gzip_is_detected_from_the_content() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"key,symbol\nNSE_EQ|INE002A01018,RELIANCE\n")
            .unwrap();
        let bytes = gz.finish().unwrap();
        let entries = parse("u.csv.gz", &bytes).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].topic, Topic::Prices);
    }

    #[test]
    fn broken_gzip_names_the_file() {
        let err = parse("u.gz", &[0x1f, 0x8b, 1, 2, 3]).unwrap_err();
        assert!(err.to_string().starts_with("u.gz: "), "{err}");
    }

    #[test]
    fn whitespace_only_is_empty() {
        assert!(matches!(
            parse("u", b"  \n\n").unwrap_err(),
            UniverseError::Empty(_)
        ));
    }
}
