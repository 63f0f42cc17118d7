use super::*;

#[test]
fn bundled_has_the_nine_indices_and_the_eq_stocks() {
    let u = Universe::bundled();
    let symbols: Vec<&str> = u.indices().iter().map(|i| i.symbol.as_ref()).collect();
    assert_eq!(
        symbols,
        [
            "NIFTY 50",
            "SENSEX",
            "NIFTY BANK",
            "NIFTY IT",
            "INDIA VIX",
            "NIFTY FIN SERVICE",
            "NIFTY NEXT 50",
            "NIFTY MIDCAP 100",
            "BANKEX"
        ]
    );
    assert_eq!(u.prices().len(), 2099);
    assert!(
        u.prices()
            .iter()
            .all(|i| i.key.segment() == "NSE_EQ" && i.isin.as_deref() == Some(i.key.id()))
    );
    let hdfc = u.by_symbol("HDFCBANK").unwrap();
    assert_eq!(hdfc.key.as_str(), "NSE_EQ|INE040A01034");
    assert_eq!(&*hdfc.segment, "NSE_EQ");
}

#[test]
fn lookups_by_key_symbol_and_either() {
    let u = Universe::bundled();
    // TC0: case-insensitive symbol.
    assert_eq!(
        u.by_symbol("india vix").map(|i| i.key.as_str()),
        Some("NSE_INDEX|India VIX")
    );
    // TC1: key through resolve.
    assert_eq!(
        u.resolve("NSE_EQ|INE002A01018").map(|i| i.symbol.as_ref()),
        Some("RELIANCE")
    );
    // TC2: unknown key and symbol.
    assert!(u.resolve("NSE_EQ|INE000000000").is_none());
    assert!(u.by_symbol("NOPE").is_none());
    // TC3: topic_of.
    assert_eq!(
        u.topic_of(&InstrumentKey::new("NSE_EQ|INE002A01018").unwrap()),
        Some(Topic::Prices)
    );
}

#[test]
fn duplicate_key_names_both_lines() {
    let csv = "key,symbol\nNSE_EQ|A1,A\nNSE_EQ|B1,B\nNSE_EQ|A1,C\n";
    let e = Universe::from_bytes("dup.csv", csv.as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "dup.csv:4: duplicate key \"NSE_EQ|A1\" (first on line 2): list each instrument once"
    );
}

#[test]
fn from_path_reports_missing_file() {
    let e = Universe::from_path("/nonexistent/universe.csv").unwrap_err();
    assert!(matches!(e, UniverseError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/universe.csv: "));
}

#[test]
fn bse_indices_carry_their_exchange_names() {
    // BSE renamed them in 2024: "BSE SENSEX", "BSE BANKEX" (no longer "S&P BSE ...").
    let u = Universe::bundled();
    assert_eq!(&*u.by_symbol("SENSEX").unwrap().name, "BSE SENSEX");
    assert_eq!(&*u.by_symbol("BANKEX").unwrap().name, "BSE BANKEX");
}
