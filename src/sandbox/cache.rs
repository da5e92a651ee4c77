//! The Redis-backed routes, served when the sandbox is given `--redis URL`:
//! `GET /api/cache/quote/{symbol}` reads the quote through Redis (a miss computes it and
//! stores it for `--cache-ttl`; the header `x-cache` says `hit` or `miss`),
//! `POST /api/cache/publish/{channel}` publishes the body and answers how many
//! subscribers received it, and `GET /api/cache/health` sends `PING`. All requests share
//! one multiplexed connection, made on demand and made again once it has failed.

use super::api::error;
use super::deps::{not_configured, within, DepError, TIMEOUT};
use super::quotes::{self, now_ms};
use super::server::AppState;
use crate::check::{parse_redis_url, redis_reason};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError};
use serde_json::json;
use std::time::Duration;

/// Prefix of the keys the sandbox stores quotes under: `golive:quote:AAPL`.
const QUOTE_KEY: &str = "golive:quote:";

/// A Redis server and the sandbox's connection to it.
pub(crate) struct Cache {
    client: Client,
    /// `host:port`, and `redis at host:port` for reasons and logs.
    server: String,
    label: String,
    /// The shared connection; `None` until made, and again after it failed.
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    ttl: Duration,
}

impl Cache {
    pub fn new(url: &str, ttl: Duration) -> Result<Cache, String> {
        let client = parse_redis_url(url)?;
        let server = client.get_connection_info().addr().to_string();
        Ok(Cache {
            client,
            label: format!("redis at {server}"),
            server,
            conn: tokio::sync::Mutex::new(None),
            ttl,
        })
    }

    /// `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The shared connection, made if there is none. Callers wait for one attempt at a
    /// time, so an outage is not met with a connection per request.
    async fn connection(&self) -> Result<MultiplexedConnection, DepError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                DepError::Down(format!(
                    "cannot connect to {}: {}",
                    self.label,
                    redis_reason(&e)
                ))
            })?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// One command within the timeout. A failed connection is forgotten, so the next
    /// request connects again; an error reply leaves it in use.
    async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, DepError> {
        let outcome = within(&self.label, async {
            let mut conn = self.connection().await?;
            cmd.query_async::<T>(&mut conn)
                .await
                .map_err(|e| self.failure(&e))
        })
        .await;
        if matches!(outcome, Err(DepError::Down(_))) {
            // Not waited for: whoever holds the slot is making a new connection anyway,
            // and waiting would stretch this request past its timeout.
            if let Ok(mut slot) = self.conn.try_lock() {
                *slot = None;
            }
        }
        outcome
    }

    fn failure(&self, e: &RedisError) -> DepError {
        let reason = format!("{} failed: {}", self.label, redis_reason(e));
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            DepError::Down(reason)
        } else {
            DepError::Failed(reason)
        }
    }

    pub async fn ping(&self) -> Result<(), DepError> {
        self.run::<String>(&redis::cmd("PING")).await.map(drop)
    }
}

/// The 404 of these routes when the option is absent.
fn missing() -> Response {
    not_configured("/api/cache/* routes", "--redis", "GOLIVE_SANDBOX_REDIS")
}

/// `GET /api/cache/quote/{symbol}`: the quote as Redis holds it (`x-cache: hit`), or
/// computed now and stored for the TTL (`x-cache: miss`). An unknown symbol is a 404
/// without asking Redis.
pub(crate) async fn quote(State(state): State<AppState>, Path(symbol): Path<String>) -> Response {
    let Some(cache) = state.deps.redis.as_ref() else {
        return missing();
    };
    let Some(instrument) = quotes::lookup(&symbol) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown symbol `{symbol}`; known symbols: {}",
                quotes::symbols()
            ),
        );
    };
    let key = format!("{QUOTE_KEY}{}", instrument.symbol);
    let mut get = redis::cmd("GET");
    get.arg(&key);
    let (body, outcome) = match cache.run::<Option<String>>(&get).await {
        Ok(Some(cached)) => (cached, "hit"),
        Ok(None) => {
            let fresh = json!(instrument.quote_at(now_ms())).to_string();
            let mut set = redis::cmd("SET");
            let ttl_ms = u64::try_from(cache.ttl.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            set.arg(&key).arg(&fresh).arg("PX").arg(ttl_ms);
            if let Err(e) = cache.run::<()>(&set).await {
                return e.response();
            }
            (fresh, "miss")
        }
        Err(e) => return e.response(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-cache"), outcome),
        ],
        body,
    )
        .into_response()
}

/// `POST /api/cache/publish/{channel}`: publishes the body; 200 with how many
/// subscribers Redis delivered it to.
pub(crate) async fn publish(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    let Some(cache) = state.deps.redis.as_ref() else {
        return missing();
    };
    let mut publish = redis::cmd("PUBLISH");
    publish.arg(&channel).arg(body.as_ref());
    match cache.run::<i64>(&publish).await {
        Ok(receivers) => {
            Json(json!({ "channel": channel, "receivers": receivers })).into_response()
        }
        Err(e) => e.response(),
    }
}

/// `GET /api/cache/health`: 200 when `PING` answers, else 503 with the reason.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let Some(cache) = state.deps.redis.as_ref() else {
        return missing();
    };
    super::deps::health_answer("redis", cache.server(), cache.ping().await)
}
