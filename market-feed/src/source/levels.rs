//! Realistic price levels for the offline sources: approximate index closes for late January
//! 2026, and each stock's real previous close from the recorded day where it is there.

use crate::{source::replay::Recording, universe::Instrument};

/// Approximate index closes around 28 January 2026, the previous closes the simulated source
/// starts from. They are plausible levels for a demo, not exchange data (the shipped recording
/// has stocks only).
///
/// ```
/// use market_feed::source::INDEX_LEVELS;
/// assert_eq!(INDEX_LEVELS.len(), 9);
/// assert!(INDEX_LEVELS.iter().any(|&(s, l)| s == "NIFTY 50" && l > 20_000.0));
/// ```
pub const INDEX_LEVELS: [(&str, f64); 9] = [
    ("NIFTY 50", 25_300.0),
    ("SENSEX", 82_300.0),
    ("NIFTY BANK", 59_000.0),
    ("NIFTY IT", 38_000.0),
    ("INDIA VIX", 13.5),
    ("NIFTY FIN SERVICE", 27_000.0),
    ("NIFTY NEXT 50", 68_000.0),
    ("NIFTY MIDCAP 100", 59_000.0),
    ("BANKEX", 66_000.0),
];

/// The previous close the offline sources use for an instrument: [`INDEX_LEVELS`] for the
/// bundled indices, the recorded previous close (2026-01-28) for the 1,402 recorded stocks, and
/// otherwise a deterministic plausible level derived from the key (20 to 3,000 for stocks,
/// 1,000 to 60,000 for other indices).
///
/// ```
/// use market_feed::{source::bundled_prev_close, universe::Universe};
/// let u = Universe::bundled();
/// assert_eq!(bundled_prev_close(u.by_symbol("NIFTY 50").unwrap()), 25_300.0);
/// assert_eq!(bundled_prev_close(u.by_symbol("20MICRONS").unwrap()), 178.24);
/// ```
pub fn bundled_prev_close(instrument: &Instrument) -> f64 {
    if instrument.is_index() {
        let symbol = instrument.symbol.to_uppercase();
        if let Some(&(_, level)) = INDEX_LEVELS.iter().find(|(s, _)| *s == symbol) {
            return level;
        }
        return round_tick(
            log_uniform(instrument.key.as_str(), 1_000.0, 60_000.0),
            0.05,
        );
    }
    if let Some(series) = Recording::bundled()
        .ok()
        .and_then(|r| r.series(&instrument.key))
    {
        return series.prev_close;
    }
    round_tick(log_uniform(instrument.key.as_str(), 20.0, 3_000.0), 0.05)
}

/// A stock's typical daily volume: the recorded day's total where it is there, else a
/// deterministic level between 10,000 and 2,000,000 shares.
pub(crate) fn bundled_daily_volume(instrument: &Instrument) -> u64 {
    if let Some(series) = Recording::bundled()
        .ok()
        .and_then(|r| r.series(&instrument.key))
    {
        let total: u64 = series.bars.iter().map(|b| b.volume).sum();
        if total > 0 {
            return total;
        }
    }
    log_uniform(&format!("vol:{}", instrument.key), 10_000.0, 2_000_000.0) as u64
}

/// A stable 64-bit hash (FNV-1a with a final mix): the same on every platform and run.
pub(crate) fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A deterministic number in `[0, 1)` from a string.
pub(crate) fn unit(s: &str) -> f64 {
    (stable_hash(s) >> 11) as f64 / (1u64 << 53) as f64
}

fn log_uniform(s: &str, lo: f64, hi: f64) -> f64 {
    (lo.ln() + unit(s) * (hi.ln() - lo.ln())).exp()
}

/// Rounds a price to a tick (0.05 for NSE stocks), then to 2 decimals.
pub(crate) fn round_tick(price: f64, tick: f64) -> f64 {
    crate::model::round2((price / tick).round() * tick)
}

/// How strongly an index follows the market factor (INDIA VIX moves against it).
pub(crate) fn index_beta(symbol: &str) -> f64 {
    match symbol.to_uppercase().as_str() {
        "INDIA VIX" => -4.0,
        "NIFTY BANK" | "BANKEX" => 1.15,
        "NIFTY IT" => 0.85,
        "NIFTY FIN SERVICE" => 1.1,
        "NIFTY NEXT 50" => 1.1,
        "NIFTY MIDCAP 100" | "NIFTY MID SELECT" => 1.2,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstrumentKey;

    #[test]
    fn unknown_stock_levels_are_deterministic_and_plausible() {
        let i = Instrument::new(
            InstrumentKey::new("NSE_EQ|INE999Z01010").unwrap(),
            "ZZZ",
            "Z",
            None,
        );
        let a = bundled_prev_close(&i);
        assert_eq!(a, bundled_prev_close(&i));
        assert!((20.0..=3_000.0).contains(&a), "{a}");
        assert_eq!(round_tick(a, 0.05), a);
        let v = bundled_daily_volume(&i);
        assert!((10_000..=2_000_000).contains(&v));
    }

    #[test]
    fn unit_spreads_over_the_interval() {
        let xs: Vec<f64> = (0..1000).map(|n| unit(&n.to_string())).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((0.45..0.55).contains(&mean), "{mean}");
    }
}
