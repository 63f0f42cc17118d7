use std::io::Write;

use super::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Rows in the real file's shapes: an EQ stock (the documented row), an index, a future, an
/// option, a BE-series stock, a bond, and odd rows.
const FILE: &str = r#"[
 {"segment":"NSE_EQ","name":"JOCIL LIMITED","exchange":"NSE","isin":"INE839G01010","instrument_type":"EQ","instrument_key":"NSE_EQ|INE839G01010","lot_size":1,"freeze_quantity":100000.0,"exchange_token":"16927","tick_size":5.0,"trading_symbol":"JOCIL","short_name":"JOCIL","security_type":"NORMAL"},
 {"segment":"NSE_INDEX","name":"Nifty Bank","exchange":"NSE","instrument_type":"INDEX","instrument_key":"NSE_INDEX|Nifty Bank","exchange_token":"26009","trading_symbol":"BANKNIFTY"},
 {"segment":"NSE_FO","name":"NIFTY","exchange":"NSE","expiry":1769680800000,"instrument_type":"FUT","asset_symbol":"NIFTY","underlying_symbol":"NIFTY","instrument_key":"NSE_FO|43919","lot_size":75,"freeze_quantity":1800.0,"exchange_token":"43919","minimum_lot":75,"tick_size":10.0,"asset_type":"INDEX","underlying_type":"INDEX","trading_symbol":"NIFTY FUT 29 JAN 26","strike_price":0.0,"weekly":false},
 {"segment":"NSE_FO","name":"RELIANCE","instrument_type":"CE","instrument_key":"NSE_FO|51234","trading_symbol":"RELIANCE 1400 CE 29 JAN 26","strike_price":1400.0},
 {"segment":"NSE_EQ","name":"SOME BE STOCK","isin":"INE000B01011","instrument_type":"BE","instrument_key":"NSE_EQ|INE000B01011","trading_symbol":"SOMEBE"},
 {"segment":"NSE_EQ","name":"GOI LOAN 7.26% 2033","instrument_type":"GS","instrument_key":"NSE_EQ|IN0020220151","trading_symbol":"726GS2033"},
 {"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":"NSE_EQ|INE002A01018","trading_symbol":"RELIANCE","exchange_token":2885,"tick_size":"10","name":null,"lot_size":"1","extra":{"nested":[1,2]}},
 {"segment":"NSE_EQ","instrument_type":"EQ","trading_symbol":"NOKEY"},
 {"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":"INE999Z01019","trading_symbol":"BADKEY"},
 {"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":"NSE_EQ|INE111A01011"},
 {"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":"NSE_EQ|INE839G01010","trading_symbol":"JOCIL"},
 null,
 "text",
 {}
]"#;

#[test]
fn keeps_nse_eq_rows_and_counts_bad_ones() {
    let p = parse_instrument_file(&gzip(FILE.as_bytes()), 1 << 20).unwrap();
    assert_eq!(p.rows, 14);
    let symbols: Vec<&str> = p.stocks.iter().map(|i| i.symbol.as_ref()).collect();
    assert_eq!(symbols, ["JOCIL", "RELIANCE"]);
    assert_eq!(p.stocks[0].name.as_ref(), "JOCIL LIMITED");
    assert_eq!(p.stocks[0].isin.as_deref(), Some("INE839G01010"));
    // A missing name falls back to the symbol; a missing ISIN comes from the key.
    assert_eq!(p.stocks[1].name.as_ref(), "RELIANCE");
    assert_eq!(p.stocks[1].isin.as_deref(), Some("INE002A01018"));
    // No key, a malformed key, no symbol, a repeated key, null, a string: 6 bad rows. The
    // index, derivatives, BE and bond rows and the empty object are simply not stocks.
    assert_eq!(p.bad_rows, 6, "{:?}", p.bad_examples);
    assert_eq!(p.bad_examples.len(), 3);
    assert!(
        p.bad_examples[0].starts_with("row 8: no instrument_key"),
        "{:?}",
        p.bad_examples
    );
}

#[test]
fn plain_json_is_accepted_too() {
    let p = parse_instrument_file(FILE.as_bytes(), 1 << 20).unwrap();
    assert_eq!(p.stocks.len(), 2);
}

#[test]
fn broken_files_are_refused_as_a_whole() {
    let gz = gzip(FILE.as_bytes());
    // TC0: a truncated download.
    let e = parse_instrument_file(&gz[..gz.len() / 2], 1 << 20).unwrap_err();
    assert!(matches!(e, UpstoxFileError::Corrupt { .. }), "{e}");
    // TC1: an HTML error page.
    let e = parse_instrument_file(b"<!DOCTYPE html><html>502</html>", 1 << 20).unwrap_err();
    assert!(matches!(e, UpstoxFileError::NotJson { .. }), "{e}");
    assert!(e.to_string().contains("<!DOCTYPE html>"), "{e}");
    // TC2: JSON cut off inside the array.
    let e = parse_instrument_file(&gzip(&FILE.as_bytes()[..300]), 1 << 20).unwrap_err();
    assert!(matches!(e, UpstoxFileError::Corrupt { .. }), "{e}");
    // TC3: an object instead of an array.
    let e = parse_instrument_file(&gzip(b"{\"status\":\"error\"}"), 1 << 20).unwrap_err();
    assert!(matches!(e, UpstoxFileError::NotJson { .. }), "{e}");
    // TC4: trailing garbage after the array.
    let e = parse_instrument_file(&gzip(b"[] x"), 1 << 20).unwrap_err();
    assert!(matches!(e, UpstoxFileError::Corrupt { .. }), "{e}");
}

#[test]
fn inflation_is_capped() {
    // A small download that inflates far beyond the cap is refused, not inflated.
    let mut big = b"[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 4 << 20));
    big.extend(b"]");
    let gz = gzip(&big);
    assert!(gz.len() < 64 << 10);
    let e = parse_instrument_file(&gz, 1 << 20).unwrap_err();
    assert!(
        matches!(e, UpstoxFileError::TooLarge { limit } if limit == 1 << 20),
        "{e}"
    );
    // Exactly at the cap is fine.
    let exact = gzip(b"[]");
    assert!(parse_instrument_file(&exact, 2).is_ok());
    assert!(matches!(
        parse_instrument_file(FILE.as_bytes(), 10).unwrap_err(),
        UpstoxFileError::TooLarge { .. }
    ));
}

#[test]
fn the_bundled_universe_round_trips_through_the_file_shape() {
    // Every bundled stock written as a master-file row comes back with its key and symbol.
    let u = crate::universe::Universe::bundled();
    let rows: Vec<serde_json::Value> = u
        .prices()
        .iter()
        .map(|i| {
            serde_json::json!({"segment":"NSE_EQ","instrument_type":"EQ","instrument_key":i.key.as_str(),
                "trading_symbol":&*i.symbol,"name":&*i.name,"isin":i.isin.as_deref(),"exchange_token":"1","tick_size":5.0})
        })
        .collect();
    let body = gzip(serde_json::to_string(&rows).unwrap().as_bytes());
    let p = parse_instrument_file(&body, 64 << 20).unwrap();
    assert_eq!(p.bad_rows, 0);
    assert_eq!(p.stocks.as_slice(), u.prices());
}
