//! How numbers are written in every verdict line (evidence.md, "How numbers are written"):
//! counts with thousands separators, proportions as percentages with sensible digits,
//! latencies in the unit a person would say. One place, so every report reads the same.

/// Significant digits for a measured proportion or latency: enough to compare, few enough
/// to read.
const SIGNIFICANT: u32 = 3;
/// Digits for a number somebody wrote (a limit, a confidence level): shown as written.
const STATED_SIGNIFICANT: u32 = 6;
/// The most digits a bound is ever given while looking for a rounding that keeps its
/// comparison with the limit visible.
const MAX_SIGNIFICANT: u32 = 12;

/// `1200` → `"1,200"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A fraction as a percentage with three significant digits: 0.0025 → `"0.25%"`,
/// 0.125 → `"12.5%"`, 0.000998 → `"0.0998%"`, 0.04 → `"4%"`.
pub fn percent(fraction: f64) -> String {
    percent_with(fraction, SIGNIFICANT, Rounding::Nearest)
}

/// A microsecond count as a latency with three significant digits in the unit a person
/// would use: `850 µs`, `1.32 ms`, `212 ms`, `2.5 s`.
pub fn latency(us: u64) -> String {
    // Round first, then pick the unit, so 999,999 µs reads "1 s" rather than "1000 ms".
    let rounded = round_u64_significant(us, SIGNIFICANT);
    if rounded < 1_000 {
        format!("{rounded} µs")
    } else if rounded < 1_000_000 {
        format!("{} ms", trim(&format!("{:.3}", rounded as f64 / 1e3)))
    } else if rounded < 1_000_000_000 {
        format!("{} s", trim(&format!("{:.3}", rounded as f64 / 1e6)))
    } else {
        format!("{} s", thousands(rounded / 1_000_000))
    }
}

/// The usual name of a quantile: 0.95 → `"p95"`, 0.999 → `"p99.9"`, 0.5 → `"p50"`.
pub fn quantile_name(q: f64) -> String {
    format!("p{}", trim(&format!("{:.4}", q * 100.0)))
}

/// A stated fraction (a limit, a confidence level) as written: 0.01 → `"1%"`, 0.0005 →
/// `"0.05%"`, without the float noise of `1 - 0.9995`.
pub(super) fn percent_exact(fraction: f64) -> String {
    percent_with(fraction, STATED_SIGNIFICANT, Rounding::Nearest)
}

/// A one-sided bound as a percentage read beside `limit`, rounded outward (an upper bound
/// up, a lower bound down), exactly as the verdict lines write it.
pub fn percent_bound(value: f64, limit: f64, upper: bool) -> String {
    let rounding = if upper { Rounding::Up } else { Rounding::Down };
    percent_beside(value, limit, rounding)
}

/// How a value beside a limit is rounded for display: bounds round outward (an upper bound
/// up, a lower bound down) so a line never claims more than was shown; observations round
/// to nearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rounding {
    Nearest,
    Up,
    Down,
}

/// `value` as a percentage to be read beside `limit` ("upper bound 1.0003% ... is not below
/// 1%"): at least three significant digits, and more until rounding either way can no
/// longer change how the value compares with the limit nor make it look equal to it.
pub(super) fn percent_beside(value: f64, limit: f64, rounding: Rounding) -> String {
    if !value.is_finite() || !limit.is_finite() {
        return percent(value);
    }
    let (v, l) = (value * 100.0, limit * 100.0);
    let below = v < l;
    for sig in SIGNIFICANT..=MAX_SIGNIFICANT {
        let (down, _) = round_significant(v, sig, Rounding::Down);
        let (up, _) = round_significant(v, sig, Rounding::Up);
        let same_side = (down < l) == below && (up < l) == below;
        let distinct = v == l || (down != l && up != l);
        if same_side && distinct {
            return percent_with(value, sig, rounding);
        }
    }
    percent_with(value, MAX_SIGNIFICANT, rounding)
}

/// `"1 failure"`, `"12 failures"`, `"1,200 samples"`.
pub fn count_of(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n))
    }
}

fn percent_with(fraction: f64, sig: u32, rounding: Rounding) -> String {
    if !fraction.is_finite() {
        return "n/a".to_owned();
    }
    let (value, decimals) = round_significant(fraction * 100.0, sig, rounding);
    format!("{}%", trim(&format!("{value:.decimals$}")))
}

/// `x` rounded to `sig` significant digits (never past the units digit, so 1234 stays
/// 1234), with the number of decimals that shows them.
fn round_significant(x: f64, sig: u32, rounding: Rounding) -> (f64, usize) {
    if x == 0.0 || !x.is_finite() {
        return (0.0, 0);
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (sig as i32 - 1 - magnitude).clamp(0, 17);
    let scale = 10f64.powi(decimals);
    let scaled = x * scale;
    // The slack absorbs float noise such as 0.25 * 100 = 25.000000000000004, which would
    // otherwise round up to a digit the value does not have.
    let slack = 1e-9;
    let rounded = match rounding {
        Rounding::Nearest => scaled.round(),
        Rounding::Up => (scaled - slack).ceil(),
        Rounding::Down => (scaled + slack).floor(),
    };
    (rounded / scale, decimals as usize)
}

fn round_u64_significant(n: u64, sig: u32) -> u64 {
    let digits = n.checked_ilog10().map_or(1, |d| d + 1);
    if digits <= sig {
        return n;
    }
    let step = 10u64.pow(digits - sig);
    (n / step)
        .saturating_add(u64::from(n % step >= step / 2))
        .saturating_mul(step)
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing follows.
fn trim(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        for (n, want) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (1_200, "1,200"),
            (4_800, "4,800"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(thousands(n), want, "{n}");
        }
    }

    #[test]
    fn percentages() {
        for (fraction, want) in [
            (0.0, "0%"),
            (0.0025, "0.25%"),
            (0.125, "12.5%"),
            (0.000998, "0.0998%"),
            (0.04, "4%"),
            (0.01, "1%"),
            (0.0099969, "1%"),
            (0.0075, "0.75%"),
            (0.18103627, "18.1%"),
            (1.0, "100%"),
            (0.99995, "100%"),
            (0.5, "50%"),
            (1.0 / 3.0, "33.3%"),
            (f64::NAN, "n/a"),
        ] {
            assert_eq!(percent(fraction), want, "{fraction}");
        }
        assert_eq!(percent_exact(1.0 - 0.9995), "0.05%");
        assert_eq!(percent_exact(0.95), "95%");
    }

    #[test]
    fn percent_beside_a_limit_keeps_the_comparison_visible() {
        for (value, limit, rounding, want) in [
            // Upper bound for 0 in 298, against 1%: three digits would read "1%".
            (0.010002432437677733, 0.01, Rounding::Up, "1.0003%"),
            // Upper bound for 0 in 1,200: rounded up, comfortably below.
            (0.002493330037518726, 0.01, Rounding::Up, "0.25%"),
            // Upper bound for 0 in 2,995 against 0.1%: "0.1%" would look equal.
            (0.0009997444209011164, 0.001, Rounding::Up, "0.09998%"),
            (0.04, 0.01, Rounding::Nearest, "4%"),
            (0.01, 0.01, Rounding::Nearest, "1%"),
            // Against the float `1 - 0.99`, which is a hair above 1%.
            (0.010002432437677733, 1.0 - 0.99, Rounding::Up, "1.0003%"),
            (0.0123, 0.05, Rounding::Down, "1.23%"),
        ] {
            assert_eq!(
                percent_beside(value, limit, rounding),
                want,
                "{value} vs {limit}"
            );
        }
    }

    #[test]
    fn latencies() {
        for (us, want) in [
            (0, "0 µs"),
            (850, "850 µs"),
            (999, "999 µs"),
            (1_000, "1 ms"),
            (1_320, "1.32 ms"),
            (1_324, "1.32 ms"),
            (12_345, "12.3 ms"),
            (212_000, "212 ms"),
            (212_400, "212 ms"),
            (300_000, "300 ms"),
            (999_999, "1 s"),
            (2_500_000, "2.5 s"),
            (61_000_000, "61 s"),
            (1_250_000_000, "1,250 s"),
        ] {
            assert_eq!(latency(us), want, "{us}");
        }
    }

    #[test]
    fn quantile_names() {
        for (q, want) in [
            (0.5, "p50"),
            (0.9, "p90"),
            (0.95, "p95"),
            (0.99, "p99"),
            (0.999, "p99.9"),
            (0.9999, "p99.99"),
        ] {
            assert_eq!(quantile_name(q), want);
        }
    }

    #[test]
    fn counts_with_nouns() {
        assert_eq!(count_of(1, "failure"), "1 failure");
        assert_eq!(count_of(0, "failure"), "0 failures");
        assert_eq!(count_of(1_200, "sample"), "1,200 samples");
    }
}
