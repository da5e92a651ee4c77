//! How the reference system applies its injected [`Faults`]: the per-request draw
//! ([`Faults::decide`]) that turns the settings into "wait this long, then answer, fail or
//! stall", and the leak rate. The vocabulary itself lives in [`crate::faults`], which the
//! compiler also reads; this behaviour is the sandbox's own.

use crate::faults::Faults;
use crate::units::{ByteSize, Duration, Percent};

impl Faults {
    /// Draws this request's fate. Stall is drawn before errors, so with both at 100% a
    /// request stalls: a hung server answers nothing, not even an error.
    pub(crate) fn decide(&self, rng: &mut fastrand::Rng) -> Decision {
        let mut delay = self.latency.map(Duration::as_std).unwrap_or_default();
        if let Some(jitter) = self.jitter {
            let max = jitter.as_micros();
            delay += std::time::Duration::from_micros(rng.u64(0..=max));
        }
        // `f64()` is in [0, 1), so 0% never fires and 100% always does.
        let hit = |p: Option<Percent>, rng: &mut fastrand::Rng| {
            p.is_some_and(|p| rng.f64() < p.fraction())
        };
        let verdict = if hit(self.stall, rng) {
            Verdict::Stall
        } else if hit(self.errors, rng) {
            Verdict::Fail
        } else {
            Verdict::Answer
        };
        Decision { delay, verdict }
    }

    /// Bytes per second the `leak` fault asks for (0 when unset).
    pub(crate) fn leak_per_second(&self) -> u64 {
        self.leak.map(ByteSize::bytes).unwrap_or(0)
    }
}

/// One request's draw: how long to wait, then what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub delay: std::time::Duration,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Answer,
    Fail,
    Stall,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn leak_rate_is_bytes_per_second() {
        let f = Faults::parse_flags(&flags(&["leak=1MB"])).unwrap();
        assert_eq!(f.leak_per_second(), 1_000_000);
        assert_eq!(Faults::default().leak_per_second(), 0);
    }

    #[test]
    fn decisions_follow_the_extremes() {
        let mut rng = fastrand::Rng::with_seed(7);
        let all = |f: &Faults, rng: &mut fastrand::Rng| {
            (0..500).map(|_| f.decide(rng).verdict).collect::<Vec<_>>()
        };
        let none = Faults::default();
        assert!(all(&none, &mut rng).iter().all(|v| *v == Verdict::Answer));
        let fail = Faults::parse_flags(&flags(&["errors=100%"])).unwrap();
        assert!(all(&fail, &mut rng).iter().all(|v| *v == Verdict::Fail));
        let zero = Faults::parse_flags(&flags(&["errors=0%", "stall=0%"])).unwrap();
        assert!(all(&zero, &mut rng).iter().all(|v| *v == Verdict::Answer));
        let both = Faults::parse_flags(&flags(&["errors=100%", "stall=100%"])).unwrap();
        assert!(all(&both, &mut rng).iter().all(|v| *v == Verdict::Stall));

        let slow = Faults::parse_flags(&flags(&["latency=100ms", "jitter=10ms"])).unwrap();
        for _ in 0..200 {
            let d = slow.decide(&mut rng).delay;
            assert!(d >= std::time::Duration::from_millis(100), "{d:?}");
            assert!(d <= std::time::Duration::from_millis(110), "{d:?}");
        }
    }
}
