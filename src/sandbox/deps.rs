//! The reference system's optional backing services, given by URL (`--postgres`,
//! `--redis`): what the sandbox holds of each, the bound every call to them keeps, and
//! their states for `GET /health`.
//!
//! A dependency that does not answer at start does not stop the sandbox, as a service
//! behind a readiness probe would not stop: it starts, `/health` answers 503 naming the
//! dependency until it answers, and each request connects again (a PostgreSQL connection
//! from the pool, the one multiplexed Redis connection), so it recovers by itself when
//! the dependency comes back. Only a URL that is not one refuses the start.

use super::api::error;
use super::cache::Cache;
use super::db::Db;
use axum::http::StatusCode;
use axum::response::Response;
use std::time::Duration;

/// Longest a route waits for a dependency (a pooled connection, connecting, the
/// command), so an outage answers 503 instead of holding the request.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);

/// The backing services this sandbox was given; both absent by default.
#[derive(Default)]
pub struct Deps {
    pub(crate) postgres: Option<Db>,
    pub(crate) redis: Option<Cache>,
}

impl std::fmt::Debug for Deps {
    /// Servers only: a URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("postgres", &self.postgres.as_ref().map(Db::server))
            .field("redis", &self.redis.as_ref().map(Cache::server))
            .finish()
    }
}

impl Deps {
    /// Parses the URLs (an invalid one is an error that shows no password); connects
    /// nowhere yet. `cache_ttl` is how long a quote stays in Redis.
    pub fn new(
        postgres: Option<&str>,
        redis: Option<&str>,
        cache_ttl: Duration,
    ) -> Result<Deps, String> {
        Ok(Deps {
            postgres: postgres
                .map(|u| Db::new(u).map_err(|e| format!("--postgres: {e}")))
                .transpose()?,
            redis: redis
                .map(|u| Cache::new(u, cache_ttl).map_err(|e| format!("--redis: {e}")))
                .transpose()?,
        })
    }

    /// Each configured dependency by name (`postgres`, `redis`), and whether it answers
    /// now; asked at once, each within [`TIMEOUT`].
    pub(crate) async fn states(&self) -> Vec<(&'static str, Result<(), DepError>)> {
        let postgres = async {
            match &self.postgres {
                Some(db) => Some(("postgres", db.ping().await)),
                None => None,
            }
        };
        let redis = async {
            match &self.redis {
                Some(cache) => Some(("redis", cache.ping().await)),
                None => None,
            }
        };
        let (p, r) = tokio::join!(postgres, redis);
        p.into_iter().chain(r).collect()
    }

    /// Says in the log, once at start, whether each dependency answers; never blocks the
    /// start (see the module's comment).
    pub(crate) async fn report_at_start(&self) {
        for (name, state) in self.states().await {
            match state {
                Ok(()) => tracing::info!(dependency = name, "Sandbox dependency answers."),
                Err(e) => tracing::warn!(
                    dependency = name,
                    reason = %e.reason(),
                    "Sandbox dependency does not answer yet; /health answers 503 until it does."
                ),
            }
        }
    }
}

/// Why a call to a dependency failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DepError {
    /// Unreachable, dropped, or no answer in time: 503, the request may be retried.
    Down(String),
    /// The dependency answered with an error: 500.
    Failed(String),
}

impl DepError {
    pub fn reason(&self) -> &str {
        match self {
            DepError::Down(r) | DepError::Failed(r) => r,
        }
    }

    pub fn response(&self) -> Response {
        let status = match self {
            DepError::Down(_) => StatusCode::SERVICE_UNAVAILABLE,
            DepError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error(status, self.reason())
    }
}

/// A dependency's own health route: 200 naming `server` under `name` when `ping` passed,
/// else 503 with the reason.
pub(crate) fn health_answer(name: &str, server: &str, ping: Result<(), DepError>) -> Response {
    use axum::response::IntoResponse;
    use axum::Json;
    match ping {
        Ok(()) => Json(serde_json::json!({ "status": "UP", name: server })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "DOWN", "error": e.reason() })),
        )
            .into_response(),
    }
}

/// Runs a call to `server` within [`TIMEOUT`]; past it the call is dropped (and with it
/// any connection it held) and the dependency counts as down.
pub(crate) async fn within<T>(
    server: &str,
    call: impl std::future::Future<Output = Result<T, DepError>>,
) -> Result<T, DepError> {
    tokio::time::timeout(TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(DepError::Down(format!(
                "no answer from {server} within {}",
                crate::units::Duration::from_std(TIMEOUT)
            )))
        })
}

/// The 404 of a route whose dependency was not given.
pub(crate) fn not_configured(routes: &str, option: &str, env: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "{routes} are served only when the sandbox is given {option} URL (or {env}); \
             it was started without"
        ),
    )
}
