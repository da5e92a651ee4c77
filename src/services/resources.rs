//! Resource sampling of the services golive started: CPU % and memory every second (every
//! quarter second while an item needs readings sooner, [`Sampler::hurry`]), read
//! from /proc for local processes (summed over every process of the service's session,
//! so a shell wrapper is measured with what it runs) and from the Docker stats API for
//! containers (the container's cgroup), into the same series. The series feed resource criteria (`memory < 200MB`,
//! `cpu < 25%`, `memory_growth < 50MB`, `restarts == 0`) and the report, which keeps a
//! bounded copy of each series ([`downsample`]) for its charts.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One reading of one service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSample {
    /// Seconds on the run's clock: since the run started (results.json's
    /// `run.started_at`), the clock a load item's `load_started_s` is on, so a reading
    /// lines up with load windows and drills (`load_started_s` + their seconds).
    pub t_s: f64,
    /// CPU over the last interval, percent of one core; `None` for the first reading
    /// (and the first after a restart).
    pub cpu_percent: Option<f64>,
    pub memory_bytes: u64,
}

/// What a service used over the run so far.
#[derive(Debug, Clone, Default)]
pub struct ResourceSeries {
    pub samples: Vec<ResourceSample>,
    /// Times a fault drill started the service again.
    pub restarts: u64,
    pub exited: bool,
}

/// A summary for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSummary {
    pub samples: usize,
    pub duration_s: f64,
    pub cpu_mean_percent: Option<f64>,
    pub cpu_max_percent: Option<f64>,
    pub memory_max_bytes: u64,
    pub memory_first_bytes: u64,
    pub memory_last_bytes: u64,
    /// Least-squares slope of memory over time, bytes per minute.
    pub memory_slope_bytes_per_min: Option<f64>,
    /// The slope times the observed duration: how much memory grew over the run.
    pub memory_growth_bytes: Option<f64>,
    pub restarts: u64,
    /// Set when the readings are those of one item's span (`during:`), e.g. "during
    /// `fifty-users` after its warm-up (12.0 s to 72.0 s)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ResourceSeries {
    /// The readings taken from `from_s` to `to_s` on the run's clock.
    pub fn within(&self, from_s: f64, to_s: f64) -> ResourceSeries {
        ResourceSeries {
            samples: self
                .samples
                .iter()
                .filter(|s| s.t_s >= from_s && s.t_s <= to_s)
                .copied()
                .collect(),
            restarts: self.restarts,
            exited: self.exited,
        }
    }

    pub fn summary(&self) -> Option<ResourceSummary> {
        let first = self.samples.first()?;
        let last = self.samples.last()?;
        let cpu: Vec<f64> = self.samples.iter().filter_map(|s| s.cpu_percent).collect();
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let slope = slope(&self.samples);
        let duration = last.t_s - first.t_s;
        Some(ResourceSummary {
            samples: self.samples.len(),
            duration_s: round(duration),
            cpu_mean_percent: (!cpu.is_empty())
                .then(|| round(cpu.iter().sum::<f64>() / cpu.len() as f64)),
            cpu_max_percent: cpu.iter().copied().reduce(f64::max).map(round),
            memory_max_bytes: self
                .samples
                .iter()
                .map(|s| s.memory_bytes)
                .max()
                .unwrap_or(0),
            memory_first_bytes: first.memory_bytes,
            memory_last_bytes: last.memory_bytes,
            memory_slope_bytes_per_min: slope.map(|b| (b * 60.0).round()),
            memory_growth_bytes: slope.map(|b| (b * duration).round()),
            restarts: self.restarts,
            scope: None,
        })
    }
}

/// At most `max` readings standing for `samples`, for a chart: consecutive readings are
/// grouped into buckets of equal count, and each bucket becomes one reading at the middle
/// of its time span with the bucket's highest CPU and highest memory, so a spike or a
/// leak's peak survives the thinning (a mean would halve a one-second spike in a bucket of
/// two). Fewer than `max` readings come back as they are, rounded for the report
/// (ms, 0.01 %).
pub fn downsample(samples: &[ResourceSample], max: usize) -> Vec<ResourceSample> {
    let round = |v: f64, scale: f64| (v * scale).round() / scale;
    let per_bucket = samples.len().div_ceil(max.max(1)).max(1);
    samples
        .chunks(per_bucket)
        .filter_map(|bucket| {
            let (first, last) = (bucket.first()?, bucket.last()?);
            Some(ResourceSample {
                t_s: round((first.t_s + last.t_s) / 2.0, 1e3),
                cpu_percent: bucket
                    .iter()
                    .filter_map(|s| s.cpu_percent)
                    .reduce(f64::max)
                    .map(|c| round(c, 1e2)),
                memory_bytes: bucket.iter().map(|s| s.memory_bytes).max().unwrap_or(0),
            })
        })
        .collect()
}

/// Least-squares slope of memory (bytes) over time (s); `None` with fewer than 3 samples.
fn slope(samples: &[ResourceSample]) -> Option<f64> {
    if samples.len() < 3 {
        return None;
    }
    let n = samples.len() as f64;
    let mt = samples.iter().map(|s| s.t_s).sum::<f64>() / n;
    let mm = samples.iter().map(|s| s.memory_bytes as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for s in samples {
        num += (s.t_s - mt) * (s.memory_bytes as f64 - mm);
        den += (s.t_s - mt) * (s.t_s - mt);
    }
    (den > 0.0).then(|| num / den)
}

/// Where a service's figures come from.
#[derive(Clone)]
pub enum Source {
    /// A local process's session id (its leader's PID); it changes when a drill starts
    /// the service again (0: not running).
    Process(Arc<AtomicU32>),
    /// A container, read from its Docker stats stream.
    Container(super::docker::StatsFeed),
}

impl Source {
    /// (CPU time in nanoseconds, memory in bytes, when it was read), or `None` when
    /// not running.
    fn read(&self, ns_per_tick: f64) -> Option<(u64, u64, Instant)> {
        match self {
            Source::Process(pid) => {
                let pid = pid.load(Ordering::Relaxed);
                if pid == 0 {
                    return None;
                }
                super::session::usage(pid as i32).map(|(ticks, memory)| {
                    ((ticks as f64 * ns_per_tick) as u64, memory, Instant::now())
                })
            }
            Source::Container(feed) => feed.latest(),
        }
    }
}

/// One service to sample: its name, where its figures come from, and how many times a
/// drill has started it again.
pub struct Watched {
    pub name: String,
    pub source: Source,
    pub restarts: Arc<AtomicU64>,
}

/// Told of every reading: the service, the reading, and its restarts so far (for live
/// metrics; the sampler itself knows nothing of Prometheus).
pub type OnSample = Arc<dyn Fn(&str, &ResourceSample, u64) + Send + Sync>;

/// Samples a set of services every `every` until stopped, timing each reading from
/// `origin` (the run's start).
pub struct Sampler {
    series: Arc<Mutex<HashMap<String, ResourceSeries>>>,
    restarts: HashMap<String, Arc<AtomicU64>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    /// The interval between readings now: `every`, or [`FAST`] while a [`Hurry`] lives.
    pace: Arc<tokio::sync::watch::Sender<Duration>>,
    hurried: Arc<AtomicU32>,
    every: Duration,
}

/// The interval while an item needs readings sooner than one a second (an item that
/// `during:` scopes to, or a resource item reached with too few readings). A process
/// tree's figures are read from /proc in well under a millisecond; CPU time comes in
/// clock ticks (10 ms), so a quarter second keeps a reading's CPU within 4% of a core.
pub const FAST: Duration = Duration::from_millis(250);

/// Sampling at [`FAST`] while it lives; the usual pace returns when the last one drops.
pub struct Hurry {
    pace: Arc<tokio::sync::watch::Sender<Duration>>,
    hurried: Arc<AtomicU32>,
    every: Duration,
}

impl Drop for Hurry {
    fn drop(&mut self) {
        if self.hurried.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.pace.send_replace(self.every);
        }
    }
}

impl Sampler {
    pub fn start(
        watched: Vec<Watched>,
        every: Duration,
        origin: Instant,
        on_sample: Option<OnSample>,
    ) -> Sampler {
        let series: Arc<Mutex<HashMap<String, ResourceSeries>>> = Arc::default();
        let stop = CancellationToken::new();
        let restarts = watched
            .iter()
            .map(|w| (w.name.clone(), w.restarts.clone()))
            .collect();
        let (s, st) = (series.clone(), stop.clone());
        let pace = Arc::new(tokio::sync::watch::Sender::new(every));
        let mut paced = pace.subscribe();
        let task = tokio::spawn(async move {
            let ns_per_tick = 1e9 / ticks_per_second();
            // Last reading per service: (time, CPU ns, restarts seen then).
            let mut last: HashMap<String, (f64, u64, u64)> = HashMap::new();
            let mut read_at = tokio::time::Instant::now();
            loop {
                let now_every = *paced.borrow_and_update();
                tokio::select! {
                    _ = tokio::time::sleep_until(read_at) => {}
                    // A new pace counts from the last reading: hurrying reads at once
                    // when a quarter second has passed since it.
                    _ = paced.changed() => {
                        let every = *paced.borrow();
                        let now = tokio::time::Instant::now();
                        read_at = read_at
                            .checked_sub(now_every)
                            .map_or(now, |last| (last + every).max(now));
                        continue;
                    }
                    _ = st.cancelled() => break,
                }
                read_at = tokio::time::Instant::now() + now_every;
                for w in &watched {
                    // /proc is read off the async workers: a session's figures take a
                    // scan of every process, which probes timed meanwhile must not wait on.
                    let source = w.source.clone();
                    let reading = tokio::task::spawn_blocking(move || source.read(ns_per_tick))
                        .await
                        .ok()
                        .flatten();
                    let gen = w.restarts.load(Ordering::Relaxed);
                    let mut all = s.lock().unwrap_or_else(|p| p.into_inner());
                    let entry = all.entry(w.name.clone()).or_default();
                    let Some((cpu_ns, memory_bytes, at)) = reading else {
                        entry.exited = true;
                        last.remove(&w.name);
                        continue;
                    };
                    entry.exited = false;
                    // When the figures were read, not when this tick ran: a container's
                    // stats arrive on their own clock, and one not yet renewed is skipped.
                    let t_s = at.saturating_duration_since(origin).as_secs_f64();
                    if last.get(&w.name).is_some_and(|(t0, ..)| *t0 >= t_s) {
                        continue;
                    }
                    // A restarted service's CPU counter starts again from zero.
                    let cpu_percent = last
                        .get(&w.name)
                        .filter(|(_, c0, g0)| *g0 == gen && cpu_ns >= *c0)
                        .and_then(|(t0, c0, _)| {
                            let wall = t_s - t0;
                            (wall > 0.0).then(|| (cpu_ns - c0) as f64 / 1e9 / wall * 100.0)
                        });
                    last.insert(w.name.clone(), (t_s, cpu_ns, gen));
                    let sample = ResourceSample {
                        t_s,
                        cpu_percent,
                        memory_bytes,
                    };
                    if let Some(f) = &on_sample {
                        f(&w.name, &sample, gen);
                    }
                    entry.samples.push(sample);
                }
            }
        });
        Sampler {
            series,
            restarts,
            stop,
            task,
            pace,
            hurried: Arc::default(),
            every,
        }
    }

    /// Samples at [`FAST`] until the returned guard (and every other) is dropped.
    pub fn hurry(&self) -> Hurry {
        if self.hurried.fetch_add(1, Ordering::AcqRel) == 0 {
            self.pace.send_replace(FAST.min(self.every));
        }
        Hurry {
            pace: self.pace.clone(),
            hurried: self.hurried.clone(),
            every: self.every,
        }
    }

    /// Waits, sampling at [`FAST`], until `service` has `readings` readings or `bound`
    /// has passed (a container's stats come about once a second whatever the pace).
    /// Returns at once when it already has them or golive does not sample it.
    pub async fn top_up(&self, service: &str, readings: usize, bound: Duration) {
        let count = || {
            self.series
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(service)
                .map(|s| (s.samples.len(), s.exited))
        };
        if !self.restarts.contains_key(service) || count().is_some_and(|(n, _)| n >= readings) {
            return;
        }
        let _hurry = self.hurry();
        let until = Instant::now() + bound;
        while Instant::now() < until && !self.stop.is_cancelled() {
            match count() {
                Some((n, _)) if n >= readings => return,
                // A service that is not running gives no reading to wait for.
                Some((_, true)) => return,
                _ => tokio::time::sleep(FAST / 5).await,
            }
        }
    }

    /// The series of `service` so far.
    pub fn snapshot(&self, service: &str) -> Option<ResourceSeries> {
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
            .cloned()?;
        s.restarts = self.restarts.get(service)?.load(Ordering::Relaxed);
        Some(s)
    }

    pub async fn stop(self) -> HashMap<String, ResourceSeries> {
        self.stop.cancel();
        let _ = self.task.await;
        let mut all = std::mem::take(&mut *self.series.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, s) in all.iter_mut() {
            if let Some(r) = self.restarts.get(name) {
                s.restarts = r.load(Ordering::Relaxed);
            }
        }
        all
    }
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map(|v| v as f64)
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, mb: f64) -> ResourceSample {
        ResourceSample {
            t_s,
            cpu_percent: Some(10.0),
            memory_bytes: (mb * 1e6) as u64,
        }
    }

    #[test]
    fn growth_is_the_least_squares_slope_over_the_run() {
        // 2 MB/s with noise over 30 s: about 60 MB of growth.
        let samples: Vec<_> = (0..=30)
            .map(|t| {
                sample(
                    t as f64,
                    20.0 + 2.0 * t as f64 + if t % 2 == 0 { 0.5 } else { -0.5 },
                )
            })
            .collect();
        let s = ResourceSeries {
            samples,
            restarts: 0,
            exited: false,
        }
        .summary()
        .unwrap();
        let growth = s.memory_growth_bytes.unwrap();
        assert!((growth - 60e6).abs() < 1e6, "{growth}");
        assert!((s.memory_slope_bytes_per_min.unwrap() - 120e6).abs() < 2e6);
        assert_eq!(s.memory_max_bytes, 80_500_000);
        assert_eq!(s.cpu_mean_percent, Some(10.0));
    }

    #[test]
    fn downsampling_keeps_the_peaks_within_the_bound() {
        // An hour at one reading a second: a one-second CPU spike and a memory peak, each
        // in a single reading, must both survive thinning to 300 points.
        let samples: Vec<_> = (0..3600)
            .map(|t| ResourceSample {
                t_s: t as f64,
                cpu_percent: (t > 0).then_some(if t == 1234 { 97.5 } else { 5.0 }),
                memory_bytes: if t == 2999 { 900_000_000 } else { 50_000_000 },
            })
            .collect();
        for max in [300, 7, 1] {
            let thin = downsample(&samples, max);
            assert!(
                thin.len() <= max && !thin.is_empty(),
                "{max}: {}",
                thin.len()
            );
            let cpu = thin
                .iter()
                .filter_map(|s| s.cpu_percent)
                .fold(0.0, f64::max);
            assert_eq!(cpu, 97.5, "{max}");
            let memory = thin.iter().map(|s| s.memory_bytes).max();
            assert_eq!(memory, Some(900_000_000), "{max}");
            assert!(
                thin.windows(2).all(|w| w[0].t_s < w[1].t_s),
                "{max}: in time order"
            );
            assert!(thin[0].t_s >= 0.0 && thin[thin.len() - 1].t_s <= 3599.0);
        }
        // 3600 readings into buckets of 12: the spike's bucket, 1224..=1235, is centred
        // at 1229.5 s.
        let thin = downsample(&samples, 300);
        assert_eq!(thin.len(), 300);
        let spike = thin.iter().find(|s| s.cpu_percent == Some(97.5)).unwrap();
        assert_eq!(spike.t_s, 1229.5);
        // Few readings pass through unchanged, and none stays none.
        assert_eq!(downsample(&samples[..5], 300), samples[..5].to_vec());
        assert!(downsample(&[], 300).is_empty());
    }
}
