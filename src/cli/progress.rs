//! Progress on stderr: a live bar on a terminal (elapsed/remaining, rps, p95, errors,
//! rule states), a plain line every few seconds otherwise (CI logs). Every line passes
//! through the plan's redactor and has its control characters escaped: service names,
//! URLs and errors are the user's and the services' text.

use crate::evidence::latency;
use crate::load::{LoadEvent, LoadResult, RuleState};
use crate::redact::{printable, Redactor};
use crate::run::Event;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// `--quiet`: nothing but errors on the terminal.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

pub struct Progress {
    bar: Mutex<Option<indicatif::ProgressBar>>,
    tty: bool,
    last_plain: Mutex<Option<Instant>>,
    redactor: Redactor,
    /// The rules' states as the last window left them, shown with every tick.
    rules: Mutex<String>,
}

impl Progress {
    pub fn new(redactor: Redactor) -> Self {
        Progress {
            redactor,
            bar: Mutex::new(None),
            tty: std::io::stderr().is_terminal(),
            last_plain: Mutex::new(None),
            rules: Mutex::new(String::new()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    /// `text` as it may be shown: secrets masked, control characters escaped.
    pub fn shown(&self, text: &str) -> String {
        printable(&self.redactor.redact(text)).into_owned()
    }

    fn say(&self, line: &str) {
        if !quiet() {
            eprintln!("{}", self.shown(line));
        }
    }

    pub fn event(&self, e: Event) {
        if quiet() {
            return;
        }
        match e {
            Event::ServiceReady {
                name,
                url,
                provider,
                ms,
            } => self.say(&format!(
                "  service {name} ready ({provider}) at {url} after {ms} ms"
            )),
            Event::ServiceFailed { name, error } => {
                self.say(&format!("  service {name} FAILED: {error}"))
            }
            Event::ItemStarted { id, title, samples } => self.say(&format!(
                "  → {id}: {title} ({samples} sample{})",
                if samples == 1 { "" } else { "s" }
            )),
            Event::ItemSampled { obs, .. } => {
                let mut line = format!("    {} samples, {} failed", obs.samples, obs.failures);
                if !obs.latency.is_empty() {
                    line.push_str(&format!(
                        ", p95 {}",
                        latency(obs.latency.value_at_quantile(0.95))
                    ));
                }
                if obs.stopped_early {
                    line.push_str(", stopped early: a supported FAIL was certain");
                }
                if let Some(e) = &obs.setup_error {
                    line.push_str(&format!(", could not run: {e}"));
                }
                self.say(&line);
            }
            Event::LoadStarted { id, title, plan } => {
                self.say(&format!(
                    "  → {id}: {title} ({} model, {})",
                    plan.profile.model(),
                    plan.profile.duration()
                ));
                if self.tty {
                    let bar = indicatif::ProgressBar::new(
                        plan.profile.duration().as_secs_f64().ceil() as u64,
                    );
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "    [{elapsed_precise}] {bar:30} {pos}/{len}s {msg}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
                }
            }
            Event::Load(LoadEvent::Window {
                elapsed_s,
                planned_s,
                window,
                in_flight,
                rules,
            }) => {
                let p95 = window
                    .p95_ms
                    .map(|v| format!("{v:.1} ms"))
                    .unwrap_or_else(|| "—".into());
                let states: Vec<String> = rules
                    .iter()
                    .filter(|(_, s)| *s != RuleState::Ok)
                    .map(|(n, s)| {
                        format!(
                            "{n}: {}",
                            if *s == RuleState::Firing {
                                "FIRING"
                            } else {
                                "pending"
                            }
                        )
                    })
                    .collect();
                let rules_shown = if states.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", states.join(", "))
                };
                rules_shown.clone_into(&mut self.rules.lock().unwrap_or_else(|p| p.into_inner()));
                let msg = format!(
                    "rps {:.1} | p95 {p95} | errors {} | in flight {in_flight}{rules_shown}",
                    window.rps, window.errors,
                );
                if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    bar.set_position(elapsed_s.floor() as u64);
                    bar.set_message(self.shown(&msg));
                    return;
                }
                let mut last = self.last_plain.lock().unwrap_or_else(|p| p.into_inner());
                if last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) || !states.is_empty() {
                    *last = Some(Instant::now());
                    self.say(&format!("    {elapsed_s:.0}/{planned_s:.0}s {msg}"));
                }
            }
            Event::Load(LoadEvent::Tick {
                elapsed_s,
                planned_s,
                completed,
                in_flight,
                window_requests,
                window_errors,
                window_p95_ms,
            }) => {
                let p95 = window_p95_ms
                    .map(|v| format!("{v:.1} ms"))
                    .unwrap_or_else(|| "—".into());
                let rate = if elapsed_s > 0.0 {
                    completed as f64 / elapsed_s
                } else {
                    0.0
                };
                let rules = self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let msg = format!(
                    "{completed} requests ({rate:.1}/s) | this window: p95 {p95}, errors {window_errors} of {window_requests} | in flight {in_flight}{rules}"
                );
                if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    bar.set_position(elapsed_s.floor() as u64);
                    bar.set_message(self.shown(&msg));
                    return;
                }
                let mut last = self.last_plain.lock().unwrap_or_else(|p| p.into_inner());
                if last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
                    *last = Some(Instant::now());
                    self.say(&format!("    {elapsed_s:.0}/{planned_s:.0}s {msg}"));
                }
            }
            Event::LoadDone { result, .. } => {
                self.finish();
                self.say(&load_summary(result));
            }
        }
    }
}

/// A few lines on what a load run achieved.
pub fn load_summary(r: &LoadResult) -> String {
    let mut s = format!(
        "    {} requests in {:.1} s ({} in warm-up), {} errors; achieved {:.1}/s",
        r.requests, r.duration_s, r.warm_up_requests, r.errors, r.achieved_rps
    );
    if let Some(t) = r.target_rps {
        s.push_str(&format!(
            " of {t:.1}/s intended; {} dropped, {} late",
            r.dropped, r.late
        ));
    }
    if let Some(l) = &r.overall.latency_ms {
        s.push_str(&format!(
            "\n    latency p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            l.p50, l.p95, l.p99, l.max
        ));
    }
    if let Some(l) = &r.overall.service_time_ms {
        s.push_str(&format!(
            "\n    service time p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            l.p50, l.p95, l.p99, l.max
        ));
    }
    if let Some(why) = &r.shortfall {
        s.push_str(&format!("\n    the intended load was not produced: {why}"));
    }
    if let Some(rb) = &r.rollback {
        s.push_str(&format!(
            "\n    ROLLBACK: rule `{}` fired at {:.1} s: {}",
            rb.rule, rb.at_s, rb.why
        ));
    }
    s
}
