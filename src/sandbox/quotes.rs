//! The sandbox's market: a small fixed universe of symbols whose prices drift as a pure
//! function of wall-clock time, so two sandboxes (or a test and its sandbox) agree on a
//! price at a given instant and nothing needs a random walk's hidden state.

use serde::Serialize;
use std::f64::consts::TAU;

/// One tradable symbol with its reference price and a phase that keeps the curves apart.
#[derive(Debug, PartialEq)]
pub(crate) struct Instrument {
    pub symbol: &'static str,
    base: f64,
    phase: f64,
}

pub(crate) const UNIVERSE: [Instrument; 8] = [
    inst("AAPL", 189.50, 0.0),
    inst("MSFT", 415.20, 0.7),
    inst("GOOG", 164.80, 1.4),
    inst("AMZN", 181.30, 2.1),
    inst("TSLA", 242.10, 2.8),
    inst("NVDA", 121.40, 3.5),
    inst("META", 497.60, 4.2),
    inst("NFLX", 622.90, 4.9),
];

const fn inst(symbol: &'static str, base: f64, phase: f64) -> Instrument {
    Instrument {
        symbol,
        base,
        phase,
    }
}

/// A symbol's price at one instant; `ts` is Unix time in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Quote {
    pub symbol: &'static str,
    pub price: f64,
    pub ts: i64,
}

/// Finds a symbol, ignoring ASCII case so `aapl` and `AAPL` name the same instrument.
pub(crate) fn lookup(symbol: &str) -> Option<&'static Instrument> {
    UNIVERSE
        .iter()
        .find(|i| i.symbol.eq_ignore_ascii_case(symbol.trim()))
}

/// All symbols, for error messages that list what exists.
pub(crate) fn symbols() -> String {
    UNIVERSE
        .iter()
        .map(|i| i.symbol)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Instrument {
    /// The price at `unix_ms`, in cents: three sine waves (hourly, five-minute and a fast
    /// wobble) keep it moving visibly within about ±4% of the reference price.
    pub fn price_at(&self, unix_ms: i64) -> f64 {
        let t = unix_ms as f64 / 1000.0;
        let wave = |period_s: f64, k: f64| (TAU * t / period_s + k * self.phase).sin();
        let drift = 0.03 * wave(3600.0, 1.0) + 0.008 * wave(300.0, 2.0) + 0.002 * wave(17.0, 3.0);
        (self.base * (1.0 + drift) * 100.0).round() / 100.0
    }

    pub fn quote_at(&self, unix_ms: i64) -> Quote {
        Quote {
            symbol: self.symbol,
            price: self.price_at(unix_ms),
            ts: unix_ms,
        }
    }
}

/// Wall-clock now, in Unix milliseconds: the only clock the market reads.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_deterministic_and_stay_near_the_reference() {
        for inst in &UNIVERSE {
            let mut seen = Vec::new();
            for step in 0..2000 {
                let t = 1_700_000_000_000 + step * 7_919_000;
                let p = inst.price_at(t);
                assert_eq!(p, inst.price_at(t), "{} is a function of time", inst.symbol);
                assert!(
                    (p / inst.base - 1.0).abs() < 0.05,
                    "{} at {t}: {p}",
                    inst.symbol
                );
                assert_eq!((p * 100.0).round() / 100.0, p, "whole cents");
                seen.push(p);
            }
            seen.dedup();
            assert!(seen.len() > 100, "{} drifts", inst.symbol);
        }
    }

    #[test]
    fn looks_up_symbols_ignoring_case() {
        assert_eq!(lookup("aapl").map(|i| i.symbol), Some("AAPL"));
        assert_eq!(lookup("TSLA").map(|i| i.symbol), Some("TSLA"));
        assert!(lookup("NOPE").is_none());
        assert!(lookup("").is_none());
        assert!(symbols().starts_with("AAPL, MSFT"));
    }
}
