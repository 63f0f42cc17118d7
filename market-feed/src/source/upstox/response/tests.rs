use super::*;

fn inst(key: &str, symbol: &str) -> Instrument {
    Instrument::new(InstrumentKey::new(key).unwrap(), symbol, symbol, None)
}

/// The full-quote example of the Upstox docs, verbatim (whitespace compacted).
const DOC_FULL_QUOTE: &str = r#"{"status":"success","data":{"NSE_EQ:NHPC":{
 "ohlc":{"open":53.4,"high":53.8,"low":51.75,"close":52.05},
 "depth":{"buy":[{"quantity":6917,"price":52.05,"orders":20},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0}],
          "sell":[{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0},{"quantity":0,"price":0,"orders":0}]},
 "timestamp":"2023-10-19T05:21:51.099+05:30","instrument_token":"NSE_EQ|INE848E01016","symbol":"NHPC",
 "last_price":52.04999923706055,"volume":24123697,"average_price":52.56,"oi":0,"net_change":-1.0500000000000043,
 "total_buy_quantity":6917,"total_sell_quantity":0,"lower_circuit_limit":42.5,"upper_circuit_limit":63.7,
 "last_trade_time":"1697624972130","oi_day_high":0,"oi_day_low":0}}}"#;

#[test]
fn full_quote_prev_close_comes_from_net_change_not_ohlc_close() {
    let d = decode_quotes(
        QuoteEndpoint::FullQuoteV2,
        DOC_FULL_QUOTE.as_bytes(),
        &[inst("NSE_EQ|INE848E01016", "NHPC")],
        7,
    )
    .unwrap();
    let q = &d.quotes[0];
    assert_eq!(q.ltp, 52.05);
    assert_eq!(q.prev_close, Some(53.1)); // not ohlc.close (52.05)
    assert_eq!(q.change, Some(-1.05));
    assert_eq!(q.change_pct, Some(-1.98));
    assert_eq!(
        (q.open, q.high, q.low),
        (Some(53.4), Some(53.8), Some(51.75))
    );
    assert_eq!(q.volume, Some(24_123_697));
    assert_eq!((q.ts, &*q.symbol), (7, "NHPC"));
}

#[test]
fn index_symbols_come_from_the_universe_and_have_no_volume() {
    let body = br#"{"status":"success","data":{"NSE_INDEX:Nifty 50":{"last_price":25010.55,"instrument_token":"NSE_INDEX|Nifty 50","ltq":0,"volume":0,"cp":25300.0}}}"#;
    let d = decode_quotes(
        QuoteEndpoint::LtpV3,
        body,
        &[inst("NSE_INDEX|Nifty 50", "NIFTY 50")],
        0,
    )
    .unwrap();
    assert_eq!(&*d.quotes[0].symbol, "NIFTY 50");
    assert_eq!(d.quotes[0].volume, None);
    assert_eq!(d.quotes[0].change, Some(-289.45));
}

#[test]
fn tolerates_missing_null_extra_and_duplicate_entries() {
    let body = br#"{"status":"success","data":{
        "NSE_EQ:A":{"last_price":10.0,"instrument_token":"NSE_EQ|A1","cp":null,"volume":null},
        "NSE_EQ:B":null,
        "NSE_EQ:C":{"last_price":null,"instrument_token":"NSE_EQ|C1"},
        "NSE_EQ:Z":{"last_price":5.0,"instrument_token":"NSE_EQ|Z9","cp":4.0},
        "NSE_EQ:A2":{"last_price":11.0,"instrument_token":"NSE_EQ|A1","cp":9.0},
        "NSE_EQ:E":{"instrument_token":"NSE_EQ|E1"}
    }}"#;
    let req = [
        inst("NSE_EQ|A1", "A"),
        inst("NSE_EQ|B1", "B"),
        inst("NSE_EQ|C1", "C"),
        inst("NSE_EQ|D1", "D"),
        inst("NSE_EQ|E1", "E"),
    ];
    let d = decode_quotes(QuoteEndpoint::LtpV3, body, &req, 0).unwrap();
    assert_eq!(d.quotes.len(), 1);
    assert_eq!(d.quotes[0].ltp, 10.0); // the first entry for A1 wins
    assert_eq!(d.quotes[0].prev_close, None);
    let missing: Vec<&str> = d.missing.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        missing,
        ["NSE_EQ|B1", "NSE_EQ|C1", "NSE_EQ|D1", "NSE_EQ|E1"]
    );
}

#[test]
fn bodies_that_are_not_success_are_bad_responses() {
    let req = [inst("NSE_EQ|A1", "A")];
    let cases: [&[u8]; 5] = [
        b"{\"status\":\"success\",\"data\":{\"NSE_EQ:A\":{\"last_price\":1.0,",
        b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        br#"{"status":"error","errors":[{"error_code":"UDAPI100500","message":"Something went wrong"}]}"#,
        br#"{"status":"success","data":null}"#,
        b"",
    ];
    for body in cases {
        let e = decode_quotes(QuoteEndpoint::LtpV3, body, &req, 0).unwrap_err();
        assert!(matches!(e, SourceError::BadResponse { .. }), "{e}");
    }
    let e = decode_quotes(QuoteEndpoint::LtpV3, cases[1], &req, 0).unwrap_err();
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
}

#[test]
fn error_codes_in_both_spellings() {
    assert_eq!(
        error_code(br#"{"status":"error","errors":[{"error_code":"UDAPI10005","message":"Too Many Request Sent","property_path":null,"invalid_value":null}]}"#),
        Some(("UDAPI10005".into(), "Too Many Request Sent".into()))
    );
    assert_eq!(
        error_code(br#"{"errors":[{"errorCode":"UDAPI100060","message":"Resource not Found"}]}"#)
            .map(|c| c.0),
        Some("UDAPI100060".into())
    );
    assert_eq!(error_code(b"<html></html>"), None);
    assert_eq!(error_code(br#"{"errors":[]}"#), None);
}

#[test]
fn partial_success_is_a_success_for_the_keys_it_answers() {
    let body = br#"{"status":"partial_success","data":{"NSE_EQ:NHPC":{"last_price":52.05,"instrument_token":"NSE_EQ|INE848E01016","cp":53.1}}}"#;
    let d = decode_quotes(
        QuoteEndpoint::LtpV3,
        body,
        &[
            inst("NSE_EQ|INE848E01016", "NHPC"),
            inst("NSE_EQ|INE000X01010", "GONE"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(d.quotes.len(), 1);
    assert_eq!(d.missing[0].as_str(), "NSE_EQ|INE000X01010");
    let e = decode_quotes(
        QuoteEndpoint::LtpV3,
        br#"{"status":"error","data":{}}"#,
        &[],
        0,
    );
    assert_eq!(e.unwrap_err().kind(), "bad_response");
}
