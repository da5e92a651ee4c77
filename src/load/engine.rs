//! Runs a load plan. One worker loop ([`exchange`] is the single request-and-record path)
//! is fed by the profile: in the open model a dispatcher task queues each arrival, at
//! its intended time, for a fixed set of keep-alive connections (beyond `max_in_flight`
//! outstanding, the arrival is dropped and counted); in the closed model each user is a
//! worker that sends again once answered. A supervisor closes a window every `base_window`, feeds
//! the rules, and stops the load when one fires.

use super::client::{Conn, Target, Ws};
use super::record::{Recorder, ScopeStats};
use super::result::*;
use super::rulebook::RuleBook;
use super::schedule::{level_at, Arrivals};
use super::shard::Shard;
use super::timer::PreciseTimer;
use super::window::{WindowSet, Windows};
use super::{LoadPlan, Profile};
use crate::check::HttpResponse as Response;
use crate::expect::Subject;
use crate::metrics::{Metrics, RequestMetrics};
use crate::rules::{RuleRun, RuleState};
use crate::tally::{Failure, FailureClass, Observations};
use crate::template::Endpoints;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A send later than this after its intended time counts as late.
const LATE: Duration = Duration::from_millis(1);

/// Live figures for progress displays.
pub enum LoadEvent<'a> {
    Window {
        elapsed_s: f64,
        planned_s: f64,
        window: &'a WindowSummary,
        in_flight: u64,
        rules: &'a [(String, RuleState)],
    },
    /// Every [`TICK`] between window ends: the run so far, for live progress.
    Tick {
        elapsed_s: f64,
        planned_s: f64,
        /// Requests completed since the start (warm-up included).
        completed: u64,
        in_flight: u64,
        /// The current window so far: requests, errors, p95 of its successes (ms).
        window_requests: u64,
        window_errors: u64,
        window_p95_ms: Option<f64>,
    },
}

/// How often live progress hears from a running load, whatever its window.
pub const TICK: Duration = Duration::from_secs(1);

/// A finished load run: the report figures and the observations criteria are judged on.
#[derive(Debug)]
pub struct LoadOutcome {
    pub result: LoadResult,
    pub overall: Observations,
    pub by_request: Vec<Observations>,
}

struct Prepared {
    /// WebSocket conversation: the URL and what it says; `None` for HTTP.
    ws: Option<(String, super::client::Conversation)>,
    method: http::Method,
    /// The upgrade request's headers (WebSocket).
    headers: http::HeaderMap,
    /// The HTTP request, built once.
    wire: super::http1::Wire,
    expect: Vec<crate::expect::Expectation>,
    wants_json: bool,
    /// An expectation reads a response header (only then are headers kept).
    wants_headers: bool,
}

struct Shared {
    target: Target,
    /// The running services, for texts a conversation renders with its captures.
    endpoints: Endpoints,
    requests: Vec<Prepared>,
    /// Cumulative weights for picking a request.
    cumulative: Vec<u64>,
    timeout: Duration,
    start: Instant,
    warm_up_end: Instant,
    windows: Windows,
    in_flight: AtomicU64,
    completed: AtomicU64,
    /// Set once the load must stop sending (planned end, rollback or interruption).
    stop: CancellationToken,
    metrics: Vec<Option<RequestMetrics>>,
    /// The recordings, a few per runtime thread rather than one per worker: a recorder's
    /// histograms take about 0.6 MB, which per user made 3,000 users 1.7 GB. Worker `k`
    /// records into `recorders[k % len]` after each exchange, a short uncontended lock.
    recorders: Vec<Mutex<Recorder>>,
    /// Open-model worker tasks, awaited before the recorders are collected.
    workers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    dropped: AtomicU64,
    /// Sends later than [`LATE`] after warm-up so far, for live metrics (the recorders'
    /// own counts are merged only at the end).
    late: AtomicU64,
    stopped_early: AtomicBool,
}

/// A worker's connections: one for HTTP, one per WebSocket request.
#[derive(Default)]
struct Conns {
    http: Option<Conn>,
    ws: Vec<Option<Ws>>,
    /// Requests sent again on a new connection since the recorder last took the count.
    reconnects: u64,
}

/// A ticket: one request to send, and when it was meant to be sent.
struct Ticket {
    intended: Instant,
}

pub async fn run(
    plan: &LoadPlan,
    endpoints: &Endpoints,
    cancel: &CancellationToken,
    metrics: Option<&Metrics>,
    on_event: &(dyn Fn(LoadEvent) + Sync),
) -> Result<LoadOutcome, String> {
    let shard = plan.shard.map_or(Shard { index: 0, count: 1 }, |s| s.shard);
    // Closed model: the global user numbers this process runs (all of them unsharded).
    let users: Vec<usize> = match &plan.profile {
        Profile::Open { .. } => Vec::new(),
        Profile::Closed { stages, .. } => {
            let most = stages
                .iter()
                .map(|s| s.from.max(s.to))
                .fold(0.0, f64::max)
                .ceil() as usize;
            (0..most).filter(|&k| shard.owns(k as u64)).collect()
        }
    };
    let workers = match &plan.profile {
        Profile::Open { connections, .. } => *connections as usize,
        Profile::Closed { .. } => users.len(),
    };
    // Each worker keeps one HTTP connection and one per WebSocket request.
    let sockets = plan
        .requests
        .iter()
        .filter(|r| r.websocket.is_some())
        .count()
        + 1;
    open_files_for(workers.saturating_mul(sockets))?;
    // A shard's schedule starts at the common instant; the recorders are built (in
    // `prepare`) before it, as they are before an unsharded start.
    let start = match &plan.shard {
        Some(s) => instant_of(s.start_at),
        None => Instant::now(),
    };
    let shared = Arc::new(prepare(plan, endpoints, metrics, workers, start)?);
    if plan.shard.is_some() {
        tokio::select! {
            _ = tokio::time::sleep_until(start.into()) => {}
            _ = cancel.cancelled() => {
                return Err("interrupted while waiting for the shards' start time".into())
            }
        }
    }
    let planned = plan.profile.duration().as_std();
    let stop = shared.stop.clone();
    let feeder = match &plan.profile {
        Profile::Open {
            stages,
            max_in_flight,
            connections,
        } => {
            // Arrivals queue for a fixed set of keep-alive connections: while all are busy
            // an arrival waits (sent late, its latency still running from its intended
            // time) instead of opening yet another connection to a stalled system.
            let (tx, rx) = async_channel::unbounded::<Ticket>();
            {
                let mut workers = shared.workers.lock().unwrap_or_else(|p| p.into_inner());
                for k in 0..*connections as usize {
                    workers.push(tokio::spawn(open_worker(shared.clone(), rx.clone(), k)));
                }
            }
            let arrivals = Arrivals::new(stages);
            let (shared, max_in_flight) = (shared.clone(), *max_in_flight);
            Feeder::Task(tokio::spawn(dispatch(
                shared,
                arrivals,
                shard,
                max_in_flight,
                tx,
            )))
        }
        Profile::Closed { stages, think_time } => {
            let tasks = users
                .iter()
                .map(|&k| {
                    tokio::spawn(user(shared.clone(), k, stages.clone(), think_time.as_std()))
                })
                .collect();
            Feeder::Users(tasks)
        }
    };

    // Supervise: windows, rules, progress; stop at the planned end, on rollback or cancel.
    let base = plan.base_window().as_std();
    let mut book = RuleBook::new(&plan.rules, plan.requests.len(), base);
    let mut timeline = Vec::new();
    let mut index: u64 = 0;
    let mut reported_dropped = 0;
    let mut reported_late = 0;
    let end = shared.start + planned;
    let mut next_tick = shared.start + TICK;
    loop {
        let boundary = shared.start + base.mul_f64((index + 1) as f64);
        let until = boundary.min(end);
        if next_tick < until {
            // A progress tick between window ends; an interruption falls through to the
            // window's end below, which sees it at once.
            let ticked = tokio::select! {
                _ = tokio::time::sleep_until(next_tick.into()) => true,
                _ = cancel.cancelled() => false,
            };
            if ticked {
                next_tick += TICK;
                let (window_requests, window_errors, p95) = shared.windows.so_far();
                on_event(LoadEvent::Tick {
                    elapsed_s: (Instant::now() - shared.start).as_secs_f64(),
                    planned_s: planned.as_secs_f64(),
                    completed: shared.completed.load(Ordering::Relaxed),
                    in_flight: shared.in_flight.load(Ordering::Relaxed),
                    window_requests,
                    window_errors,
                    window_p95_ms: p95.map(|us| us as f64 / 1e3),
                });
                continue;
            }
        }
        let interrupted = tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => false,
            _ = cancel.cancelled() => true,
        };
        let now = Instant::now();
        let start_s = base.as_secs_f64() * index as f64;
        let secs = (now - shared.start).as_secs_f64() - start_s;
        let set = shared.windows.take();
        let warm = now <= shared.warm_up_end;
        let summary = summarise(&set, start_s, secs, warm, plan.shard.is_some());
        // A shard sees only its part of the load: its rules are judged by `golive merge`
        // on the shards' windows added up, and it never stops the others' load.
        let judge = !warm && secs > 0.0 && plan.shard.is_none();
        let at_s = (now - shared.start).as_secs_f64();
        book.feed(index, set, start_s, secs, judge, now >= end, at_s);
        if let Some(mx) = metrics {
            for (rule, run) in plan.rules.iter().zip(&book.runs) {
                mx.set_rule_state(&rule.name, run.state);
            }
        }
        if let Some(mx) = metrics {
            let target = match &plan.profile {
                Profile::Open { stages, .. } => Some(level_at(stages, start_s + secs)),
                Profile::Closed { .. } => None,
            };
            mx.set_rates(&plan.name, target, summary.rps);
            mx.set_in_flight(&plan.name, shared.in_flight.load(Ordering::Relaxed) as i64);
            let dropped = shared.dropped.load(Ordering::Relaxed);
            mx.add_dropped(&plan.name, dropped - reported_dropped);
            reported_dropped = dropped;
            let late = shared.late.load(Ordering::Relaxed);
            mx.add_late(&plan.name, late - reported_late);
            reported_late = late;
        }
        let states: Vec<(String, RuleState)> = plan
            .rules
            .iter()
            .zip(&book.runs)
            .map(|(r, s)| (r.name.clone(), s.state))
            .collect();
        on_event(LoadEvent::Window {
            elapsed_s: (now - shared.start).as_secs_f64(),
            planned_s: planned.as_secs_f64(),
            window: &summary,
            in_flight: shared.in_flight.load(Ordering::Relaxed),
            rules: &states,
        });
        timeline.push(summary);
        index += 1;
        if interrupted || book.rollback.is_some() || now >= end {
            if now < end {
                shared.stopped_early.store(true, Ordering::Relaxed);
            }
            break;
        }
    }
    if let (Feeder::Task(_), false) = (&feeder, shared.stopped_early.load(Ordering::Relaxed)) {
        // At the planned end every arrival of the schedule is due: a dispatcher a little
        // behind sends (or drops) its last ones before the stop, so none goes uncounted
        // and shards add up to the schedule exactly. It ends with the schedule at once.
        feeder.join().await;
        stop.cancel();
    } else {
        stop.cancel();
        // Let requests in flight finish (each is bounded by the timeout), then collect.
        feeder.join().await;
    }
    // Workers finish their request in flight (each bounded by the timeout), then end.
    let workers = std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|p| p.into_inner()));
    for w in workers {
        let _ = w.await;
    }
    // Arrivals still queued at the end were never sent: they count as dropped.
    let unsent = shared.in_flight.swap(0, Ordering::AcqRel);
    shared.dropped.fetch_add(unsent, Ordering::Relaxed);
    let elapsed = shared.start.elapsed();
    let mut all = Recorder::new(plan.requests.len());
    for r in &shared.recorders {
        all.merge(&r.lock().unwrap_or_else(|p| p.into_inner()));
    }
    if let Some(mx) = metrics {
        mx.add_late(&plan.name, all.late.saturating_sub(reported_late));
        let dropped = shared.dropped.load(Ordering::Relaxed);
        mx.add_dropped(&plan.name, dropped.saturating_sub(reported_dropped));
    }
    let RuleBook { runs, rollback, .. } = book;
    Ok(finish(
        plan, &shared, all, elapsed, timeline, runs, rollback,
    ))
}

/// Files golive itself keeps open beside the load's sockets (logs, the run folder, the
/// runtime's own descriptors), with room to spare.
const OWN_FILES: u64 = 64;

/// Makes room for `sockets` connections under this process's open-file limit: the soft
/// limit is raised up to the hard one when it is too low (as servers do at start, and as a
/// 1,024 default needs for more than about a thousand users); past the hard limit the load
/// does not start, since every connection over it would fail as the target's error.
fn open_files_for(sockets: usize) -> Result<(), String> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let need = sockets as u64 + OWN_FILES;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
    if need <= soft {
        return Ok(());
    }
    if need > hard {
        return Err(format!(
            "the load keeps up to {sockets} connections open, which needs about {need} open \
             files, but this process may open at most {hard}: raise the hard limit (`ulimit -Hn \
             {need}` as root, LimitNOFILE= in a systemd unit, `--ulimit nofile={need}` for a \
             container) or lower users/connections"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
        .map_err(|e| format!("cannot raise the open-file limit from {soft} to {hard}: {e}"))
}

/// `at`, the instant every shard starts its schedule, on the monotonic clock (an instant
/// already past by less than the CLI allows is taken as it is: the arrivals due since are
/// sent at once, their latency running from their time).
fn instant_of(at: chrono::DateTime<chrono::Utc>) -> Instant {
    let now = Instant::now();
    let ahead = at - chrono::Utc::now();
    match ahead.to_std() {
        Ok(d) => now + d,
        Err(_) => now
            .checked_sub((-ahead).to_std().unwrap_or_default())
            .unwrap_or(now),
    }
}

fn summarise(
    set: &WindowSet,
    start_s: f64,
    secs: f64,
    warm_up: bool,
    sharded: bool,
) -> WindowSummary {
    let o = &set.overall;
    let q = |q: f64| {
        (!o.latency.is_empty())
            .then(|| (o.latency.value_at_quantile(q) as f64 / 1e3 * 1e3).round() / 1e3)
    };
    WindowSummary {
        start_s: (start_s * 1000.0).round() / 1000.0,
        secs: (secs * 1000.0).round() / 1000.0,
        requests: o.requests,
        errors: o.errors,
        rps: if secs > 0.0 {
            ((o.requests as f64 / secs) * 10.0).round() / 10.0
        } else {
            0.0
        },
        p50_ms: q(0.5),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        warm_up,
        scopes: if sharded {
            std::iter::once(o)
                .chain(&set.per_request)
                .map(|w| WindowScope {
                    requests: w.requests,
                    errors: w.errors,
                    latency_histogram: crate::tally::encode_histogram(&w.latency),
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

enum Feeder {
    Task(tokio::task::JoinHandle<()>),
    Users(Vec<tokio::task::JoinHandle<()>>),
}

impl Feeder {
    async fn join(self) {
        match self {
            Feeder::Task(h) => {
                let _ = h.await;
            }
            Feeder::Users(tasks) => {
                for t in tasks {
                    let _ = t.await;
                }
            }
        }
    }
}

fn prepare(
    plan: &LoadPlan,
    endpoints: &Endpoints,
    metrics: Option<&Metrics>,
    workers: usize,
    start: Instant,
) -> Result<Shared, String> {
    let url = plan.target.render(endpoints, None);
    let target = Target::parse(&url, &plan.tls)?;
    let mut requests = Vec::new();
    for r in &plan.requests {
        let path = format!("{}{}", target.base_path, r.path.render(endpoints, None));
        let _: http::Uri = path
            .parse()
            .map_err(|e| format!("request `{}`: `{path}` is not a valid path: {e}", r.name))?;
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            target
                .authority
                .parse()
                .map_err(|_| format!("`{}` is not a valid host", target.authority))?,
        );
        for (k, v) in &r.headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("`{k}` is not a valid header name"))?;
            let value = http::HeaderValue::from_str(&v.render(endpoints, None))
                .map_err(|_| format!("the value of header `{k}` is not valid"))?;
            headers.insert(name, value);
        }
        let ws = r
            .websocket
            .as_ref()
            .map(|c| (target.ws_url(&path), c.clone()));
        let body = r
            .body
            .as_ref()
            .map(|b| b.render(endpoints, None))
            .unwrap_or_default();
        requests.push(Prepared {
            ws,
            method: r.method.clone(),
            wire: super::http1::encode(&r.method, &path, &headers, body.as_bytes()),
            headers,
            wants_headers: r
                .expect
                .iter()
                .any(|e| matches!(e.subject, Subject::Header(_))),
            wants_json: r
                .expect
                .iter()
                .any(|e| matches!(e.subject, Subject::BodyJson(_))),
            expect: r.expect.clone(),
        });
    }
    let mut acc = 0u64;
    let cumulative = plan.requests.iter().map(|r| {
        acc += u64::from(r.weight);
        acc
    });
    Ok(Shared {
        target,
        cumulative: cumulative.collect(),
        timeout: plan.timeout.as_std(),
        start,
        warm_up_end: start + plan.warm_up.as_std(),
        windows: Windows::new(plan.requests.len()),
        in_flight: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        stop: CancellationToken::new(),
        metrics: plan
            .requests
            .iter()
            .map(|r| metrics.map(|m| m.request(&plan.name, &r.name)))
            .collect(),
        // Built before the clock starts: building one writes hundreds of kilobytes of
        // histogram counts, which at the start of the schedule showed up as tens of
        // milliseconds of send lag.
        recorders: (0..recorder_count(workers))
            .map(|_| Mutex::new(Recorder::new(plan.requests.len())))
            .collect(),
        workers: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
        late: AtomicU64::new(0),
        stopped_early: AtomicBool::new(false),
        requests,
        endpoints: endpoints.clone(),
    })
}

/// Recorders per runtime thread: enough that two workers on one thread rarely wait on
/// each other's lock, few enough that memory does not follow the number of users.
const RECORDERS_PER_THREAD: usize = 4;

/// How many recorders `workers` workers share: one each up to the cap.
fn recorder_count(workers: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    workers.clamp(1, RECORDERS_PER_THREAD * threads)
}

/// The open model's arrivals: a task that sleeps until the next arrival is due, on a
/// timer with microsecond precision ([`PreciseTimer`]), then sends every arrival whose time
/// has come, as wrk2 and oha do. Nothing spins (an early version yielded through the last
/// millisecond before each arrival and kept a core busy from about 1,000/s), and nothing
/// crosses threads per arrival (the next version slept on a thread of its own, which cost
/// two context switches per arrival: that thread's and the worker's it woke). Past
/// `max_in_flight` outstanding requests the arrival is dropped and counted. A long gap is
/// slept in slices, so a stop is seen within `STOP_CHECK`.
async fn dispatch(
    shared: Arc<Shared>,
    arrivals: Arrivals,
    shard: Shard,
    max_in_flight: u32,
    tx: async_channel::Sender<Ticket>,
) {
    const STOP_CHECK: Duration = Duration::from_millis(10);
    /// Arrivals sent in one go before the task lets the workers run.
    const BURST: u32 = 256;
    let timer = PreciseTimer::new();
    // A shard sends every `count`-th arrival of the one schedule, from its index on.
    let mut i = u64::from(shard.index);
    let mut burst = 0;
    while !shared.stop.is_cancelled() {
        let Some(t) = arrivals.time_of(i) else { break };
        let intended = shared.start + Duration::from_secs_f64(t);
        let now = Instant::now();
        if intended > now {
            burst = 0;
            timer.sleep((intended - now).min(STOP_CHECK)).await;
            continue;
        }
        i += u64::from(shard.count);
        burst += 1;
        if burst >= BURST {
            burst = 0;
            tokio::task::yield_now().await;
        }
        if shared.in_flight.load(Ordering::Acquire) >= u64::from(max_in_flight) {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let _ = tx.try_send(Ticket { intended });
    }
}

async fn open_worker(shared: Arc<Shared>, rx: async_channel::Receiver<Ticket>, k: usize) {
    let rec = &shared.recorders[k % shared.recorders.len()];
    let mut conn = Conns::default();
    let mut rng = fastrand::Rng::new();
    loop {
        let ticket = tokio::select! {
            t = rx.recv() => match t {
                Ok(t) => t,
                Err(_) => break,
            },
            _ = shared.stop.cancelled() => break,
        };
        exchange(&shared, &ticket, &mut conn, rec, &mut rng).await;
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A closed-model user: active while the profile wants more than `k` users.
async fn user(shared: Arc<Shared>, k: usize, stages: Vec<super::schedule::Stage>, think: Duration) {
    let rec = &shared.recorders[k % shared.recorders.len()];
    let mut conn = Conns::default();
    let mut rng = fastrand::Rng::new();
    loop {
        if shared.stop.is_cancelled() {
            break;
        }
        let t = shared.start.elapsed().as_secs_f64();
        if level_at(&stages, t) <= k as f64 {
            conn = Conns::default();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => continue,
                _ = shared.stop.cancelled() => break,
            }
        }
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        exchange(
            &shared,
            &Ticket {
                intended: Instant::now(),
            },
            &mut conn,
            rec,
            &mut rng,
        )
        .await;
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        if !think.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(think) => {}
                _ = shared.stop.cancelled() => break,
            }
        }
    }
}

/// The one request-and-record path both models share.
async fn exchange(
    shared: &Shared,
    ticket: &Ticket,
    conn: &mut Conns,
    rec: &Mutex<Recorder>,
    rng: &mut fastrand::Rng,
) {
    let pick = rng.u64(0..*shared.cumulative.last().unwrap_or(&1));
    let i = shared
        .cumulative
        .partition_point(|&c| c <= pick)
        .min(shared.requests.len() - 1);
    let req = &shared.requests[i];
    let sent = Instant::now();
    let lag = sent.saturating_duration_since(ticket.intended);
    let outcome = match tokio::time::timeout(shared.timeout, send(shared, i, conn)).await {
        Ok(r) => r,
        Err(_) => {
            // A connection with an abandoned exchange on it cannot be reused.
            match req.ws {
                Some(_) => conn.ws[i] = None,
                None => conn.http = None,
            }
            Err(Failure::new(
                FailureClass::Timeout,
                format!("no complete response within {:?}", shared.timeout),
            ))
        }
    };
    let done = Instant::now();
    let mut rec = rec.lock().unwrap_or_else(|p| p.into_inner());
    rec.reconnects += std::mem::take(&mut conn.reconnects);
    let latency_us = (done - ticket.intended).as_micros() as u64;
    let service_us = (done - sent).as_micros() as u64;
    shared.windows.record(i, outcome.is_ok(), latency_us);
    shared.completed.fetch_add(1, Ordering::Relaxed);
    if let Some(m) = &shared.metrics[i] {
        match &outcome {
            Ok(()) => m.ok(done - ticket.intended, done - sent),
            Err(f) => m.error(f.class.as_str(), done - ticket.intended),
        }
    }
    if ticket.intended < shared.warm_up_end {
        rec.warm_up += 1;
        return;
    }
    let _ = rec.send_lag.record((lag.as_micros() as u64).max(1));
    if lag > LATE {
        rec.late += 1;
        shared.late.fetch_add(1, Ordering::Relaxed);
    }
    rec.per_request[i].record(&outcome, latency_us, service_us);
}

/// Sends request `i` on the worker's connections and judges the answer.
///
/// A kept-alive connection the peer has closed (a restart, an idle timeout) fails the next
/// request sent on it. Where that is safe the request goes once more on a new connection
/// (counted in `reconnects`, not as an error), as browsers and pooling clients do, so an
/// outage costs the requests sent while the service was down, not one per connection.
async fn send(shared: &Shared, i: usize, conns: &mut Conns) -> Result<(), Failure> {
    let req = &shared.requests[i];
    if conns.ws.len() < shared.requests.len() {
        conns.ws.resize_with(shared.requests.len(), || None);
    }
    if let Some((url, conversation)) = &req.ws {
        loop {
            let reused = conns.ws[i].as_ref().is_some_and(Ws::reused);
            let ws = match &mut conns.ws[i] {
                Some(ws) => ws,
                slot => slot.insert(
                    Ws::open(
                        &shared.target,
                        url,
                        &req.headers,
                        conversation,
                        &shared.endpoints,
                    )
                    .await?,
                ),
            };
            let r = ws.round_trip(conversation, &shared.endpoints).await;
            let Err(f) = &r else { return r };
            if !matches!(f.class, FailureClass::Connect | FailureClass::Protocol) {
                return r;
            }
            conns.ws[i] = None;
            // Connect: the message could not be written, so it never left.
            if !(reused && f.class == FailureClass::Connect) {
                return r;
            }
            conns.reconnects += 1;
        }
    }
    let mut resp: Response = loop {
        let reused = conns.http.as_ref().is_some_and(Conn::reused);
        let conn = match &mut conns.http {
            Some(c) => c,
            slot => slot.insert(Conn::open(&shared.target).await?),
        };
        match conn.send(&req.wire, req.wants_headers).await {
            Ok(r) => {
                if conn.done() {
                    conns.http = None;
                }
                break r;
            }
            Err(e) => {
                conns.http = None;
                if !(reused && e.retry_safe(&req.method)) {
                    return Err(e.failure);
                }
                conns.reconnects += 1;
            }
        }
    };
    if req.wants_json {
        resp.json = serde_json::from_slice(&resp.body).ok();
    }
    crate::expect::judge_http_response(resp.status, &req.expect, &resp)
}

fn finish(
    plan: &LoadPlan,
    shared: &Shared,
    all: Recorder,
    elapsed: Duration,
    timeline: Vec<WindowSummary>,
    rule_runs: Vec<RuleRun>,
    rollback: Option<RollbackEvent>,
) -> LoadOutcome {
    let overall = all.overall();
    let judged = elapsed.saturating_sub(plan.warm_up.as_std());
    let achieved = if judged.as_secs_f64() > 0.0 {
        overall.requests as f64 / judged.as_secs_f64()
    } else {
        0.0
    };
    let planned = plan.profile.duration().as_secs_f64();
    let (target_rps, max_in_flight) = match &plan.profile {
        Profile::Open {
            stages,
            max_in_flight,
            ..
        } => {
            // The intended rate over the judged part of the run (after warm-up): this
            // shard's arrivals when sharded.
            let a = Arrivals::new(stages);
            let warm = plan.warm_up.as_secs_f64();
            let judged = (planned - warm).max(1e-9);
            let intended = match plan.shard {
                Some(s) => {
                    let owned = |n: f64| s.shard.owned_below(n.ceil() as u64) as f64;
                    owned(a.total()) - owned(a.count_until(warm))
                }
                None => a.total() - a.count_until(warm),
            };
            (Some(intended / judged), Some(*max_in_flight))
        }
        Profile::Closed { .. } => (None, None),
    };
    let dropped = shared.dropped.load(Ordering::Relaxed);
    let stopped_early = shared.stopped_early.load(Ordering::Relaxed);
    let shortfall = shortfall(target_rps, achieved, dropped, stopped_early);
    let scope = |s: &ScopeStats| s.observations(judged);
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let result = LoadResult {
        scenario: plan.name.clone(),
        model: plan.profile.model().into(),
        planned_s: round(planned),
        duration_s: round(elapsed.as_secs_f64()),
        warm_up_s: round(plan.warm_up.as_secs_f64()),
        target_rps: target_rps.map(round),
        achieved_rps: round(achieved),
        requests: overall.requests,
        errors: overall.errors,
        warm_up_requests: all.warm_up,
        dropped,
        late: all.late,
        reconnects: all.reconnects,
        max_in_flight,
        send_lag_ms: target_rps.and_then(|_| Percentiles::of(&all.send_lag)),
        shortfall,
        overall: ScopeResult::of("*", &overall),
        by_request: plan
            .requests
            .iter()
            .zip(&all.per_request)
            .map(|(r, s)| ScopeResult::of(&r.name, s))
            .collect(),
        timeline,
        rules: plan
            .rules
            .iter()
            .zip(rule_runs)
            .map(|(r, run)| RuleResult {
                name: r.name.clone(),
                when: r.when.clone(),
                for_s: r.for_.as_secs_f64(),
                window_s: r.window.as_secs_f64(),
                observe_only: r.observe_only,
                final_state: run.state,
                fired_at_s: run.fired_at_s,
                timeline: run.timeline,
                rule: plan.shard.map(|_| r.clone()),
            })
            .collect(),
        rollback,
        stopped_early,
        shard: plan.shard.map(|s| s.record()),
    };
    let mut overall_obs = scope(&overall);
    overall_obs.cut_short = stopped_early;
    LoadOutcome {
        result,
        overall: overall_obs,
        by_request: all.per_request.iter().map(scope).collect(),
    }
}

/// Why the run could not support claims at its intended load, if it could not: arrivals
/// dropped at the outstanding bound, or a rate well short of the intended one. Late sends
/// alone are reported, not judged: latency runs from the intended time, so lateness is
/// already inside every latency figure.
fn shortfall(
    target: Option<f64>,
    achieved: f64,
    dropped: u64,
    stopped_early: bool,
) -> Option<String> {
    let target = target?;
    if stopped_early {
        return None;
    }
    let mut why = Vec::new();
    if dropped > 0 {
        why.push(format!(
            "{dropped} arrivals were dropped at the in-flight bound"
        ));
    }
    if achieved < target * 0.95 {
        why.push(format!(
            "achieved {achieved:.1}/s of the intended {target:.1}/s"
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}
