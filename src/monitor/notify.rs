//! Delivery of the outbox: every queued notification is sent until its receiver takes
//! it (2xx), with exponential backoff between attempts, so a receiver that is down
//! delays a notification and never loses it; a row is marked delivered only after the
//! receiver answered, so a crash can at worst send it again (receivers dedupe on the
//! webhook's `dedup_key`; Alertmanager on the alert's labels). Firing alerts are also
//! re-sent to Alertmanager every `resend`, as Prometheus does, so they do not expire
//! there while they still fire.

use super::store::{Incident, Store, StoreError};
use crate::metrics::MonitorMetrics;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A receiver, rendered.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub headers: reqwest::header::HeaderMap,
}

pub struct Notifier {
    pub store: Store,
    pub client: reqwest::Client,
    pub alertmanager: Option<Target>,
    pub webhook: Option<Target>,
    pub metrics: Arc<MonitorMetrics>,
    pub system: String,
    pub resend: Duration,
    /// Where the status page is, for Alertmanager's generator URL.
    pub page: Option<String>,
    /// Whether notifications are held back now (maintenance).
    pub quiet: Arc<dyn Fn(i64) -> bool + Send + Sync>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Wait before attempt `attempts + 1`: 1 s, 2 s, 4 s … up to [`MAX_BACKOFF`], ±20%.
pub fn backoff(attempts: i64) -> Duration {
    let base = Duration::from_secs(1u64 << attempts.clamp(0, 16)).min(MAX_BACKOFF);
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

impl Notifier {
    /// Delivers until `cancel` fires; then one last pass, bounded by the send timeout.
    pub async fn run(mut self, cancel: CancellationToken, wake: Arc<tokio::sync::Notify>) {
        let mut last_resend = std::time::Instant::now();
        loop {
            if let Err(e) = self.deliver_due(&cancel).await {
                tracing::warn!(error = %e, "The notification outbox cannot be read.");
            }
            if last_resend.elapsed() >= self.resend {
                last_resend = std::time::Instant::now();
                self.resend_firing().await;
            }
            if let Ok(n) = self.store.pending() {
                self.metrics.set_pending(n);
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        // One last pass for what the stop's own step queued, bounded as a whole.
        let last = CancellationToken::new();
        let _ = tokio::time::timeout(SEND_TIMEOUT, self.deliver_due(&last)).await;
    }

    /// Sends what is due, oldest first, until done or `cancel` fires (a send in flight is
    /// dropped then, and its row stays due).
    async fn deliver_due(&mut self, cancel: &CancellationToken) -> Result<(), StoreError> {
        let now = now_ms();
        for out in self.store.due(now, 100)? {
            if cancel.is_cancelled() {
                break;
            }
            let Some(incident) = self.store.incident(out.incident)? else {
                self.store.delivered(out.id, now)?;
                continue;
            };
            let firing = out.kind == "firing";
            // Built before the send, so the future holds no borrow of the store.
            let request = match out.receiver.as_str() {
                "alertmanager" => self.alertmanager.clone().map(|t| {
                    let body = serde_json::json!([self.am_alert(&incident, firing, now)]);
                    (t, "/api/v2/alerts", body)
                }),
                "webhook" => self
                    .webhook
                    .clone()
                    .map(|t| (t, "", self.webhook_body(&incident, &out.kind, out.id))),
                _ => None,
            };
            let sent = match request {
                None => Ok(()),
                Some((target, path, body)) => {
                    let client = self.client.clone();
                    tokio::select! {
                        s = send(&client, &target, path, &body) => s,
                        _ = cancel.cancelled() => break,
                    }
                }
            };
            match sent {
                Ok(()) => {
                    self.store.delivered(out.id, now_ms())?;
                    self.metrics.notified(&out.receiver, &out.kind);
                    tracing::info!(receiver = %out.receiver, alert = %incident.alert, kind = %out.kind, "Notified.");
                }
                Err(e) => {
                    let wait = backoff(out.attempts);
                    self.store
                        .failed(out.id, now_ms() + wait.as_millis() as i64, &e)?;
                    self.metrics.notification_failed(&out.receiver);
                    tracing::warn!(receiver = %out.receiver, alert = %incident.alert, attempt = out.attempts + 1, retry_in_s = wait.as_secs_f64(), error = %e, "A notification could not be delivered; it is kept and retried.");
                }
            }
        }
        Ok(())
    }

    /// Firing alerts again to Alertmanager (their `endsAt` pushed forward).
    async fn resend_firing(&mut self) {
        let Some(t) = &self.alertmanager else {
            return;
        };
        let now = now_ms();
        if (self.quiet)(now) {
            return;
        }
        let open = match self.store.incidents(0) {
            Ok((open, _)) => open,
            Err(e) => {
                tracing::warn!(error = %e, "Open incidents cannot be read.");
                return;
            }
        };
        if open.is_empty() {
            return;
        }
        let body: Vec<serde_json::Value> =
            open.iter().map(|i| self.am_alert(i, true, now)).collect();
        if let Err(e) = send(&self.client, t, "/api/v2/alerts", &body).await {
            self.metrics.notification_failed("alertmanager");
            tracing::warn!(error = %e, "Firing alerts could not be re-sent to Alertmanager.");
        }
    }

    /// One alert in Alertmanager's v2 `postableAlert` form.
    fn am_alert(&self, i: &Incident, firing: bool, now: i64) -> serde_json::Value {
        let labels: BTreeMap<String, String> = serde_json::from_str(&i.labels).unwrap_or_default();
        let annotations: BTreeMap<String, String> =
            serde_json::from_str(&i.annotations).unwrap_or_default();
        // Firing: valid for four resend periods unless sent again; resolved: ended.
        let ends = if firing {
            now + 4 * self.resend.as_millis() as i64
        } else {
            i.ended_ms.unwrap_or(now)
        };
        let mut alert = serde_json::json!({
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(i.started_ms),
            "endsAt": rfc3339(ends),
        });
        if let Some(page) = &self.page {
            alert["generatorURL"] = serde_json::Value::String(format!("{page}#incident-{}", i.id));
        }
        alert
    }

    fn webhook_body(&self, i: &Incident, kind: &str, id: i64) -> serde_json::Value {
        let labels: BTreeMap<String, String> = serde_json::from_str(&i.labels).unwrap_or_default();
        let annotations: BTreeMap<String, String> =
            serde_json::from_str(&i.annotations).unwrap_or_default();
        serde_json::json!({
            "version": "1",
            "notification": id,
            "dedup_key": format!("{}:{}", i.id, kind),
            "status": kind,
            "system": self.system,
            "alert": i.alert,
            "incident": i.id,
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(i.started_ms),
            "endsAt": i.ended_ms.map(rfc3339),
        })
    }
}

async fn send<T: serde::Serialize>(
    client: &reqwest::Client,
    t: &Target,
    path: &str,
    body: &T,
) -> Result<(), String> {
    let url = format!("{}{path}", t.url.trim_end_matches('/'));
    let url = if path.is_empty() { t.url.clone() } else { url };
    // What errors say of the URL: no credentials, no query (tokens live there).
    let shown = match url::Url::parse(&url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "the receiver".to_string(),
    };
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let r = client
        .post(&url)
        .headers(t.headers.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(SEND_TIMEOUT)
        .body(bytes)
        .send()
        .await
        .map_err(|e| crate::tally::error_chain(&e.without_url()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        Err(format!("{shown} answered {status}: {}", text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_and_stops_at_five_minutes() {
        for (attempts, base) in [(0, 1.0), (1, 2.0), (3, 8.0), (20, 300.0)] {
            let w = backoff(attempts).as_secs_f64();
            assert!(
                w >= base * 0.8 - 1e-9 && w <= base * 1.2 + 1e-9,
                "{attempts}: {w}"
            );
        }
    }
}
