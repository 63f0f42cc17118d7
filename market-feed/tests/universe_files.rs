//! Loading universes from files on disk: the documented CSV and JSON formats, Upstox's
//! instruments master (gzipped), and errors that name the file and the line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{io::Write, path::PathBuf};

use market_feed::{
    model::Topic,
    universe::{Universe, UniverseError},
};

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn csv_json_and_upstox_master_load_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    // TC0: the bundled file itself, written out, loads to the same universe.
    let bundled = write(
        &dir,
        "bundled.csv",
        market_feed::universe::BUNDLED_UNIVERSE.as_bytes(),
    );
    let u = Universe::from_path(&bundled).unwrap();
    assert_eq!(u.len(), Universe::bundled().len());

    // TC1: our JSON format, as /api/v1/instruments serves it (with segment), round-trips.
    let json = serde_json::to_vec(&u.instruments(Topic::Indices)).unwrap();
    let path = write(&dir, "indices.json", &json);
    let back = Universe::from_path(&path).unwrap();
    assert_eq!(back.indices(), u.indices());
    assert!(back.prices().is_empty());

    // TC2: an Upstox master file, gzipped, with a derivative row that is skipped.
    let master = br#"[
{"segment":"NSE_EQ","name":"RELIANCE INDUSTRIES LTD","exchange":"NSE","isin":"INE002A01018","instrument_type":"EQ","instrument_key":"NSE_EQ|INE002A01018","lot_size":1,"freeze_quantity":100000.0,"exchange_token":"2885","tick_size":10.0,"trading_symbol":"RELIANCE","short_name":"RELIANCE","security_type":"NORMAL"},
{"segment":"NSE_INDEX","name":"Nifty 50","exchange":"NSE","instrument_type":"INDEX","instrument_key":"NSE_INDEX|Nifty 50","exchange_token":"26000","trading_symbol":"NIFTY"},
{"segment":"BSE_INDEX","name":"SENSEX","exchange":"BSE","instrument_type":"INDEX","instrument_key":"BSE_INDEX|SENSEX","exchange_token":"1","trading_symbol":"SENSEX"},
{"segment":"NSE_FO","name":"NIFTY","exchange":"NSE","instrument_type":"FUT","instrument_key":"NSE_FO|51834","trading_symbol":"NIFTY26JANFUT","expiry":1769680800000}
]"#;
    let path = write(&dir, "NSE.json.gz", &gzip(master));
    let u = Universe::from_path(&path).unwrap();
    assert_eq!(u.prices().len(), 1);
    assert_eq!(u.indices().len(), 2);
    assert_eq!(
        u.by_symbol("nifty 50").unwrap().key.as_str(),
        "NSE_INDEX|Nifty 50"
    );
    assert_eq!(
        u.by_symbol("RELIANCE").unwrap().isin.as_deref(),
        Some("INE002A01018")
    );
}

#[test]
fn bad_files_name_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], Option<u64>, &str); 6] = [
        ("malformed-key.csv", b"topic,key,symbol\nprices,NSE_EQ|INE002A01018,RELIANCE\nprices,INE040A01034,HDFCBANK\n", Some(3), "has no '|'"),
        ("duplicate.csv", b"key,symbol\nNSE_EQ|A1,A\n\nNSE_EQ|A1,B\n", Some(4), "duplicate key"),
        ("empty.csv", b"", None, "empty"),
        ("unknown-column.csv", b"key,symbol,sector\nNSE_EQ|A1,A,IT\n", Some(1), "unknown column \"sector\""),
        ("malformed-key.json", b"[\n{\"key\":\"NSE_EQ|A1\",\"symbol\":\"A\"},\n{\"key\":\"nse_eq|b1\",\"symbol\":\"B\"}\n]", Some(3), "invalid segment"),
        ("duplicate.json", b"[{\"key\":\"NSE_EQ|A1\",\"symbol\":\"A\"},\n {\"key\":\"NSE_EQ|A1\",\"symbol\":\"A\"}]", Some(2), "duplicate key"),
    ];
    for (name, content, line, words) in cases {
        let path = write(&dir, name, content);
        let e = Universe::from_path(&path).unwrap_err();
        let text = e.to_string();
        let shown = path.display().to_string();
        let prefix = match line {
            Some(l) => format!("{shown}:{l}: "),
            None => format!("{shown}: "),
        };
        assert!(text.starts_with(&prefix), "{name}: {text}");
        assert!(text.contains(words), "{name}: {text}");
        assert_eq!(e.location().line, line, "{name}");
    }
    // A gzipped empty file is empty too.
    let path = write(&dir, "empty.json.gz", &gzip(b"   "));
    assert!(matches!(
        Universe::from_path(&path),
        Err(UniverseError::Empty(_))
    ));
}
