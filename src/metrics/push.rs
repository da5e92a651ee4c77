//! Pushing the exposition to a Prometheus Pushgateway, for runs too short to be scraped
//! (a CI gate that ends between two scrapes). Each push is a `PUT` of the whole
//! exposition to the run's group, `{url}/metrics/job/{job}/run_id/{run_id}`: `PUT`
//! replaces the group, so the final flush after the verdict leaves exactly the run's
//! final state, and runs never overwrite each other.

use super::{Metrics, CONTENT_TYPE};
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one push may take; a Pushgateway that hangs must not hold up the verdict.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an error answer's body to keep in [`PushError::Status`].
const BODY_LIMIT: usize = 512;
/// The shortest interval [`push_periodically`] accepts, so a zero cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Why a push failed; each names the URL pushed to, with its user-info password masked
/// (a Pushgateway behind basic auth is given as `https://user:password@host`, and these
/// errors reach stderr and the logs).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot push metrics to {url}: {reason}")]
    Setup { url: String, reason: String },
    #[error("cannot push metrics to {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the Pushgateway refused the metrics pushed to {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

/// Where a run's metrics are pushed: the Pushgateway at `url` (`http://` or `https://`,
/// with or without a trailing `/`), group `job/{job}/run_id/{run id}` by default, or
/// `job/{job}/group/{name}` with a stable group (`--push-group`), which each run replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    url: String,
}

impl PushTarget {
    pub fn new(url: &str, job: &str, run_id: &str, group: Option<&str>) -> PushTarget {
        let key = match group {
            Some(name) => ("group", name),
            None => ("run_id", run_id),
        };
        PushTarget {
            url: format!(
                "{}/metrics/{}/{}",
                url.trim_end_matches('/'),
                segment("job", job),
                segment(key.0, key.1),
            ),
        }
    }

    /// The group's URL, as errors may show it (user-info password masked).
    pub fn shown(&self) -> String {
        shown(&self.url)
    }
}

/// Pushes the current exposition to `target`.
pub async fn push(metrics: &Metrics, target: &PushTarget) -> Result<(), PushError> {
    let client = client(&target.url)?;
    push_with(&client, metrics, &target.url).await
}

/// Deletes `target`'s group from the Pushgateway, so a finished run's last values stop
/// feeding alerts and panels (`--push-delete-after`).
pub async fn delete(target: &PushTarget) -> Result<(), PushError> {
    let client = client(&target.url)?;
    let answer = client
        .delete(&target.url)
        .send()
        .await
        .map_err(|source| PushError::Request {
            url: target.shown(),
            source: source.without_url(),
        })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let body = answer.text().await.unwrap_or_default();
    Err(PushError::Status {
        url: target.shown(),
        status: status.as_u16(),
        body: truncate(body.trim(), BODY_LIMIT),
    })
}

/// Pushes every `every` until `cancel` fires, logging (not returning) failures: a
/// Pushgateway that is briefly away must not end the run. It does not push on
/// cancellation: the caller makes the final [`push`] once the verdict is set, so the
/// last state pushed is the decided one.
pub async fn push_periodically(
    metrics: Arc<Metrics>,
    target: PushTarget,
    every: Duration,
    cancel: CancellationToken,
) -> Result<(), PushError> {
    let client = client(&target.url)?;
    let mut tick = tokio::time::interval(every.max(MIN_INTERVAL));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the run has recorded nothing yet
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        if let Err(e) = push_with(&client, &metrics, &target.url).await {
            tracing::warn!(error = %e, "Cannot push metrics; will retry.");
        }
    }
}

fn client(target: &str) -> Result<reqwest::Client, PushError> {
    let setup = |reason: String| PushError::Setup {
        url: shown(target),
        reason,
    };
    let tls = crate::net::TlsClient::default()
        .config(&[b"http/1.1"])
        .map_err(setup)?;
    reqwest::Client::builder()
        // Like golive's other clients: the address is the one given, never a proxy's.
        .no_proxy()
        .timeout(PUSH_TIMEOUT)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| setup(e.to_string()))
}

async fn push_with(
    client: &reqwest::Client,
    metrics: &Metrics,
    target: &str,
) -> Result<(), PushError> {
    let request_error = |source: reqwest::Error| PushError::Request {
        url: shown(target),
        // The error's own copy of the URL would show the password.
        source: source.without_url(),
    };
    let answer = client
        .put(target)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(metrics.render())
        .send()
        .await
        .map_err(request_error)?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let body = answer.text().await.unwrap_or_default();
    Err(PushError::Status {
        url: shown(target),
        status: status.as_u16(),
        body: truncate(body.trim(), BODY_LIMIT),
    })
}

/// `name/value`, or the Pushgateway's `name@base64/…` form when the value is empty or
/// holds anything but a safe character: a `/` would otherwise split the path and
/// percent-decoding differs between proxies.
fn segment(name: &str, value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !value.is_empty() && value.chars().all(safe) {
        format!("{name}/{value}")
    } else if value.is_empty() {
        // The Pushgateway's spelling of an empty value.
        format!("{name}@base64/=")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(value);
        format!("{name}@base64/{encoded}")
    }
}

/// `url` as errors may show it.
fn shown(url: &str) -> String {
    crate::redact::structural(url).into_owned()
}

fn truncate(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_url(url: &str, job: &str, run_id: &str, group: Option<&str>) -> String {
        PushTarget::new(url, job, run_id, group).url
    }

    #[test]
    fn the_group_is_the_run_or_a_stable_name() {
        assert_eq!(
            group_url(
                "http://127.0.0.1:9091/",
                "golive",
                "20261121T223554Z-3f9a",
                None
            ),
            "http://127.0.0.1:9091/metrics/job/golive/run_id/20261121T223554Z-3f9a"
        );
        assert_eq!(
            group_url("http://h", "golive", "r", Some("portfolio-gate")),
            "http://h/metrics/job/golive/group/portfolio-gate"
        );
    }

    #[test]
    fn unsafe_values_are_base64_encoded() {
        assert_eq!(
            group_url("http://h", "ci/gate", "", None),
            "http://h/metrics/job@base64/Y2kvZ2F0ZQ==/run_id@base64/="
        );
    }

    #[tokio::test]
    async fn errors_do_not_show_the_password() {
        // Nothing listens on port 9 of 127.0.0.1 (discard), so the push fails at once.
        let metrics = Metrics::new(&super::super::RunLabels {
            run_id: "r".into(),
            system: "s".into(),
            checklist: "c".into(),
        });
        let target = PushTarget::new("http://ada:hunter22@127.0.0.1:9", "golive", "r", None);
        let e = push(&metrics, &target).await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("http://ada:***@127.0.0.1:9/"), "{text}");
    }

    #[test]
    fn long_bodies_are_cut() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
