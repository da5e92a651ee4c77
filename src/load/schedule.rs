//! The load profile as time functions: for the open model, when the i-th arrival is due
//! (the inverse of the cumulative arrival count over linearly ramping stages); for the
//! closed model, how many users should be active at time t.

/// One stage of a rate or user ramp: `from` → `to` linearly over `secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub secs: f64,
    pub from: f64,
    pub to: f64,
}

/// Arrivals of the open model.
#[derive(Debug, Clone)]
pub struct Arrivals {
    stages: Vec<Stage>,
    /// Arrivals due before each stage starts.
    before: Vec<f64>,
    total: f64,
}

impl Arrivals {
    pub fn new(stages: &[Stage]) -> Self {
        let mut before = Vec::with_capacity(stages.len());
        let mut acc = 0.0;
        for s in stages {
            before.push(acc);
            acc += (s.from + s.to) / 2.0 * s.secs;
        }
        Arrivals {
            stages: stages.to_vec(),
            before,
            total: acc,
        }
    }

    /// Arrivals the whole profile asks for.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Seconds from the start at which arrival `i` (0-based) is due; `None` past the end.
    pub fn time_of(&self, i: u64) -> Option<f64> {
        let n = i as f64;
        if n >= self.total {
            return None;
        }
        let k = self.before.partition_point(|&b| b <= n).saturating_sub(1);
        let start: f64 = self.stages[..k].iter().map(|s| s.secs).sum();
        let s = self.stages[k];
        let m = n - self.before[k];
        // Within the stage the count grows as from*t + (to-from)/(2*secs)*t².
        let a = (s.to - s.from) / (2.0 * s.secs);
        let t = if a.abs() < 1e-12 {
            if s.from <= 0.0 {
                return None;
            }
            m / s.from
        } else {
            let disc = (s.from * s.from + 4.0 * a * m).max(0.0);
            (-s.from + disc.sqrt()) / (2.0 * a)
        };
        Some(start + t.clamp(0.0, s.secs))
    }

    /// Arrivals due before `t` seconds.
    pub fn count_until(&self, t: f64) -> f64 {
        let mut start = 0.0;
        for (s, before) in self.stages.iter().zip(&self.before) {
            if t < start + s.secs {
                let x = (t - start).max(0.0);
                return before + s.from * x + (s.to - s.from) * x * x / (2.0 * s.secs);
            }
            start += s.secs;
        }
        self.total
    }

    /// The target rate at `t` seconds.
    pub fn rate_at(&self, t: f64) -> f64 {
        level_at(&self.stages, t)
    }
}

/// The linearly interpolated level of `stages` at `t` seconds (0 past the end).
pub fn level_at(stages: &[Stage], t: f64) -> f64 {
    let mut start = 0.0;
    for s in stages {
        if t < start + s.secs {
            return s.from + (s.to - s.from) * (t - start) / s.secs;
        }
        start += s.secs;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let a = Arrivals::new(&[Stage {
            secs: 10.0,
            from: 100.0,
            to: 100.0,
        }]);
        assert_eq!(a.total(), 1000.0);
        assert_eq!(a.time_of(0), Some(0.0));
        assert!((a.time_of(1).unwrap() - 0.01).abs() < 1e-12);
        assert!((a.time_of(999).unwrap() - 9.99).abs() < 1e-9);
        assert_eq!(a.time_of(1000), None);
    }

    #[test]
    fn a_ramp_follows_the_integral_of_its_rate() {
        // 0 → 100/s over 10 s: 500 arrivals; arrival n is due at t = sqrt(2*n*10/100).
        let a = Arrivals::new(&[Stage {
            secs: 10.0,
            from: 0.0,
            to: 100.0,
        }]);
        assert_eq!(a.total(), 500.0);
        for n in [1u64, 50, 125, 499] {
            let expected = (2.0 * n as f64 * 10.0 / 100.0).sqrt();
            assert!((a.time_of(n).unwrap() - expected).abs() < 1e-9, "{n}");
        }
        // Ramping down mirrors it.
        let d = Arrivals::new(&[Stage {
            secs: 10.0,
            from: 100.0,
            to: 0.0,
        }]);
        assert!((d.time_of(250).unwrap() - (10.0 - 50f64.sqrt())).abs() < 1e-9);
    }

    #[test]
    fn stages_chain_and_times_only_grow() {
        let a = Arrivals::new(&[
            Stage {
                secs: 5.0,
                from: 0.0,
                to: 50.0,
            },
            Stage {
                secs: 10.0,
                from: 50.0,
                to: 50.0,
            },
            Stage {
                secs: 5.0,
                from: 50.0,
                to: 0.0,
            },
        ]);
        assert_eq!(a.total(), 125.0 + 500.0 + 125.0);
        let mut last = -1.0;
        for i in 0..750 {
            let t = a.time_of(i).unwrap();
            assert!(t >= last && t <= 20.0, "{i}: {t}");
            last = t;
        }
        assert!((a.time_of(125).unwrap() - 5.0).abs() < 1e-9);
        assert!((a.rate_at(2.5) - 25.0).abs() < 1e-9);
        assert!((a.count_until(5.0) - 125.0).abs() < 1e-9);
        assert!((a.count_until(2.5) - 31.25).abs() < 1e-9);
        assert_eq!(a.count_until(99.0), 750.0);
        assert_eq!(a.rate_at(25.0), 0.0);
    }
}
