//! One shard of a scenario run as N processes that together send exactly the load of one
//! run: in the open model shard `i` of `N` sends global arrivals `i, i+N, i+2N, …` of the
//! one schedule, in the closed model it runs global users `i, i+N, …` (each active while
//! the one user profile wants more than its number), and every shard starts its schedule
//! at one absolute instant, so window `k` of every shard covers the same wall-clock span
//! and `golive merge` can add them up.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The most shards one scenario may be split into.
pub const MAX_SHARDS: u32 = 1000;

/// `i/N`: this process is shard `index` (0-based, as a Kubernetes completion index) of
/// `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not a shard: write INDEX/COUNT with 0 <= INDEX < COUNT <= {MAX_SHARDS}, \
                 e.g. 0/4 (the index is 0-based, like a Kubernetes Job's completion index)"
            )
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether global arrival or user number `k` is this shard's.
    pub fn owns(&self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index)
    }

    /// This shard's part of `total` (connections, the in-flight bound): split as evenly
    /// as possible, the first `total % count` shards taking one more; at least 1.
    pub fn share(&self, total: u32) -> u32 {
        let base = total / self.count;
        let extra = u32::from(self.index < total % self.count);
        (base + extra).max(1)
    }

    /// How many of the global numbers `0..total` this shard owns.
    pub fn owned_below(&self, total: u64) -> u64 {
        let (i, n) = (u64::from(self.index), u64::from(self.count));
        if total <= i {
            0
        } else {
            (total - i).div_ceil(n)
        }
    }
}

/// A shard's run: which shard, and the instant every shard starts its schedule at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardRun {
    pub shard: Shard,
    pub start_at: chrono::DateTime<chrono::Utc>,
}

/// What a shard's evidence says about it, so `golive merge` can check that the shards
/// it is given belong together and are all there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardRecord {
    /// 0-based.
    pub index: u32,
    pub count: u32,
    /// When every shard started its schedule (RFC 3339, UTC); window starts are seconds
    /// from it.
    pub start_at: String,
}

impl ShardRun {
    pub fn record(&self) -> ShardRecord {
        ShardRecord {
            index: self.shard.index,
            count: self.shard.count,
            start_at: self
                .start_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// How far ahead a start time may be: a shard waiting longer was most likely given a
/// wrong time.
pub const MAX_AHEAD: std::time::Duration = std::time::Duration::from_secs(3600);
/// How far past a start time may be: a shard started this late still sends the arrivals
/// due since at once; later, it would start with a burst that the one run never had.
pub const MAX_LATE: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads `--start-at`: RFC 3339 (`2026-11-30T14:00:00Z`) or `now+DURATION` (`now+10s`),
/// refused when more than [`MAX_AHEAD`] ahead of `now` or more than [`MAX_LATE`] past.
pub fn start_at(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = text.trim();
    let at = if let Some(d) = t.strip_prefix("now+") {
        let d: crate::units::Duration = d.parse().map_err(|e| format!("--start-at `{t}`: {e}"))?;
        now + chrono::Duration::from_std(d.as_std())
            .map_err(|_| format!("--start-at `{t}`: too far ahead"))?
    } else {
        chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| {
                format!(
                    "--start-at `{t}`: {e}; write an RFC 3339 time such as \
                     2026-11-30T14:00:00Z, or now+10s"
                )
            })?
            .with_timezone(&chrono::Utc)
    };
    let ahead = at - now;
    if ahead > chrono::Duration::from_std(MAX_AHEAD).unwrap_or_default() {
        return Err(format!(
            "--start-at `{t}` is {} s ahead; at most {} s is accepted (is the time zone right?)",
            ahead.num_seconds(),
            MAX_AHEAD.as_secs()
        ));
    }
    if -ahead > chrono::Duration::from_std(MAX_LATE).unwrap_or_default() {
        return Err(format!(
            "--start-at `{t}` passed {:.1} s ago; the shards must be started before it \
             (give a later time to all of them)",
            (-ahead).num_milliseconds() as f64 / 1e3
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::{level_at, Arrivals, Stage};

    #[test]
    fn shards_parse_0_based_and_refuse_what_is_out_of_range() {
        assert_eq!("3/4".parse::<Shard>(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(
            "0/1".parse::<Shard>().map(|s| s.to_string()),
            Ok("0/1".into())
        );
        for bad in ["4/4", "0/0", "1", "-1/4", "a/b", "0/1001", "1/2/3"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("0-based"), "{bad}: {e}");
        }
    }

    #[test]
    fn start_times_are_rfc3339_or_now_plus_and_must_be_near() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T14:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |t: &str| start_at(t, now).map(|d| (d - now).num_milliseconds());
        assert_eq!(at("2026-11-30T14:00:05Z"), Ok(5_000));
        assert_eq!(at("2026-11-30T15:00:05+01:00"), Ok(5_000));
        assert_eq!(at("now+10s"), Ok(10_000));
        assert_eq!(at("2026-11-30T13:59:59.500Z"), Ok(-500));
        assert!(at("2026-11-30T13:59:58Z")
            .unwrap_err()
            .contains("passed 2.0 s ago"));
        assert!(at("2026-11-30T16:00:00Z")
            .unwrap_err()
            .contains("at most 3600 s"));
        assert!(at("14:00").unwrap_err().contains("RFC 3339"));
        assert!(at("now+ten").is_err());
    }

    #[test]
    fn the_shards_arrivals_are_the_one_schedule_exactly_once() {
        // A ramp, a plateau and a ramp down: 750 arrivals.
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
        let total = a.total() as u64;
        let mut seen = vec![0u32; total as usize];
        for index in 0..4 {
            let s = Shard { index, count: 4 };
            let mine: Vec<u64> = (0..total).filter(|&k| s.owns(k)).collect();
            assert_eq!(mine.len() as u64, s.owned_below(total));
            for k in mine {
                seen[k as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }

    #[test]
    fn the_closed_model_splits_users_and_their_ramp_as_evenly_as_it_can() {
        // 0 → 10 users over 10 s, then 10 for 10 s: shard i runs users i, i+3, …
        let stages = [
            Stage {
                secs: 10.0,
                from: 0.0,
                to: 10.0,
            },
            Stage {
                secs: 10.0,
                from: 10.0,
                to: 10.0,
            },
        ];
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        // At the plateau: 10 users as 4 + 3 + 3.
        let users: Vec<u64> = shards.iter().map(|s| s.owned_below(10)).collect();
        assert_eq!(users, [4, 3, 3]);
        // At every moment of the ramp the shards' active users add up to the one run's,
        // and no shard is ahead of another by more than one user.
        for t in 0..200 {
            let level = level_at(&stages, t as f64 / 10.0);
            let active = |s: &Shard| {
                (0..10u64)
                    .filter(|&k| s.owns(k) && level > k as f64)
                    .count()
            };
            let each: Vec<usize> = shards.iter().map(active).collect();
            let whole = (0..10u64).filter(|&k| level > k as f64).count();
            assert_eq!(each.iter().sum::<usize>(), whole, "t = {t}");
            assert!(each.iter().max().unwrap() - each.iter().min().unwrap() <= 1);
        }
        // Connections and the in-flight bound split the same way, never to zero.
        assert_eq!(
            shards.iter().map(|s| s.share(32)).collect::<Vec<_>>(),
            [11, 11, 10]
        );
        assert_eq!(shards[2].share(2), 1);
    }
}
