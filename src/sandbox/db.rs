//! The PostgreSQL-backed routes, served when the sandbox is given `--postgres URL`:
//! `POST /api/db/orders` stores an order (executed like `POST /api/orders`) in the table
//! `golive_orders` and answers 201 with its `id`, `GET /api/db/orders/{id}` reads it back,
//! and `GET /api/db/health` runs `SELECT 1`. Connections come from a fixed pool of
//! [`POOL_SIZE`], made on demand and made again after an outage; the table is created
//! (if missing) on the first connection that works, and again if a query finds it gone.

use super::api::{error, parse_order};
use super::deps::{not_configured, within, DepError};
use super::quotes::now_ms;
use super::server::AppState;
use crate::check::{parse_postgres_url, postgres_server, Idle};
use crate::tally::error_chain;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Semaphore;
use tokio_postgres::{Client, Config, NoTls, Row};

/// Connections open at most: a load test's requests queue for one (within the routes'
/// timeout) rather than each opening its own, which PostgreSQL pays for per connection.
pub(crate) const POOL_SIZE: usize = 8;

/// Serialised by an advisory lock: two sandboxes starting on one database at once would
/// otherwise both try to create the table, and one fail on the catalogue's unique index.
const SCHEMA: &str = "BEGIN;
SELECT pg_advisory_xact_lock(7130013);
CREATE TABLE IF NOT EXISTS golive_orders (
    id bigserial PRIMARY KEY,
    symbol text NOT NULL,
    side text NOT NULL,
    quantity bigint NOT NULL,
    type text NOT NULL,
    limit_price double precision,
    status text NOT NULL,
    fill_price double precision,
    created_ts bigint NOT NULL
);
COMMIT;";

const COLUMNS: &str =
    "id, symbol, side, quantity, type, limit_price, status, fill_price, created_ts";

/// A PostgreSQL database and the sandbox's pool of connections to it.
pub(crate) struct Db {
    config: Config,
    /// `host:port`, and `postgres at host:port` for reasons and logs (never the URL: it
    /// may hold a password).
    server: String,
    label: String,
    idle: Idle<Client>,
    /// One permit per connection that may be open.
    slots: Semaphore,
    /// Whether the table is known to exist; cleared when a query finds it missing (a
    /// database replaced by an empty one), so the next connection creates it again.
    schema_ready: AtomicBool,
    /// One creation at a time within this sandbox.
    creating: tokio::sync::Mutex<()>,
}

/// A pooled connection; [`Conn::release`] puts it back, dropping it closes it.
struct Conn<'a> {
    client: Client,
    db: &'a Db,
    _slot: tokio::sync::SemaphorePermit<'a>,
}

impl Conn<'_> {
    fn release(self) {
        if !self.client.is_closed() {
            self.db.idle.put(self.client);
        }
    }
}

impl Db {
    pub fn new(url: &str) -> Result<Db, String> {
        let mut config = parse_postgres_url(url)?;
        config.application_name("golive-sandbox");
        config.connect_timeout(super::deps::TIMEOUT);
        let server = postgres_server(&config);
        Ok(Db {
            label: format!("postgres at {server}"),
            server,
            config,
            idle: Idle::default(),
            slots: Semaphore::new(POOL_SIZE),
            schema_ready: AtomicBool::new(false),
            creating: tokio::sync::Mutex::new(()),
        })
    }

    /// `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// A connection from the pool, made if none is idle, with the table in place.
    async fn conn(&self) -> Result<Conn<'_>, DepError> {
        let slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| DepError::Down("the connection pool is closed".into()))?;
        let client = match self.idle.take(|c| !c.is_closed()) {
            Some(c) => c,
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(|e| {
                    DepError::Down(format!(
                        "cannot connect to {}: {}",
                        self.label,
                        error_chain(&e)
                    ))
                })?;
                // Ends when the client is dropped or the server goes away; the client then
                // reports itself closed and is not put back.
                tokio::spawn(connection);
                client
            }
        };
        if !self.schema_ready.load(Ordering::Acquire) {
            let _one = self.creating.lock().await;
            if !self.schema_ready.load(Ordering::Acquire) {
                client
                    .batch_execute(SCHEMA)
                    .await
                    .map_err(|e| self.failure(&e))?;
                self.schema_ready.store(true, Ordering::Release);
            }
        }
        Ok(Conn {
            client,
            db: self,
            _slot: slot,
        })
    }

    /// A SQL error is the database answering (500); a closed connection is an outage (503).
    fn failure(&self, e: &tokio_postgres::Error) -> DepError {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
            self.schema_ready.store(false, Ordering::Release);
        }
        match e.as_db_error() {
            Some(db) => DepError::Failed(format!(
                "{} answered: {}: {} (SQLSTATE {})",
                self.label,
                db.severity(),
                db.message(),
                db.code().code()
            )),
            None => DepError::Down(format!("{} failed: {}", self.label, error_chain(e))),
        }
    }

    /// `SELECT 1` within the timeout.
    pub async fn ping(&self) -> Result<(), DepError> {
        within(&self.label, async {
            let conn = self.conn().await?;
            conn.client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| self.failure(&e))?;
            conn.release();
            Ok(())
        })
        .await
    }

    /// One statement with parameters on a pooled connection, within the timeout; the
    /// rows it returned.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, DepError> {
        within(&self.label, async {
            let conn = self.conn().await?;
            let rows = conn
                .client
                .query(sql, params)
                .await
                .map_err(|e| self.failure(&e))?;
            conn.release();
            Ok(rows)
        })
        .await
    }
}

/// An order row as JSON; the same shape `POST` answers and `GET` reads.
fn order_json(row: &Row) -> Value {
    json!({
        "id": row.get::<_, i64>("id"),
        "symbol": row.get::<_, String>("symbol"),
        "side": row.get::<_, String>("side"),
        "quantity": row.get::<_, i64>("quantity"),
        "type": row.get::<_, String>("type"),
        "limit_price": row.get::<_, Option<f64>>("limit_price"),
        "status": row.get::<_, String>("status"),
        "fill_price": row.get::<_, Option<f64>>("fill_price"),
        "created_ts": row.get::<_, i64>("created_ts"),
    })
}

/// A serde enum's wire name (`buy`, `FILLED`), as stored.
fn word(v: impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// The 404 of these routes when the option is absent.
fn missing() -> Response {
    not_configured("/api/db/* routes", "--postgres", "GOLIVE_SANDBOX_POSTGRES")
}

/// `POST /api/db/orders`: the body of `POST /api/orders`; 201 with the stored row.
pub(crate) async fn place_order(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(db) = state.deps.postgres.as_ref() else {
        return missing();
    };
    let order = match parse_order(&body) {
        Ok(v) => v.execute(0, now_ms()),
        Err(r) => return *r,
    };
    let sql = format!(
        "INSERT INTO golive_orders (symbol, side, quantity, type, limit_price, status, \
         fill_price, created_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    );
    // At most 1e9 (orders' MAX_QUANTITY), so it fits.
    let quantity = i64::try_from(order.quantity).unwrap_or(i64::MAX);
    let rows = db
        .query(
            &sql,
            &[
                &order.symbol,
                &word(order.side),
                &quantity,
                &word(order.kind),
                &order.limit_price,
                &word(order.status),
                &order.fill_price,
                &order.created_ts,
            ],
        )
        .await;
    match rows.as_deref() {
        Ok([row]) => (StatusCode::CREATED, Json(order_json(row))).into_response(),
        Ok(rows) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the insert returned {} rows, not 1", rows.len()),
        ),
        Err(e) => e.response(),
    }
}

/// `GET /api/db/orders/{id}`: the stored row, 404 if there is none.
pub(crate) async fn get_order(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(db) = state.deps.postgres.as_ref() else {
        return missing();
    };
    let Ok(key) = id.parse::<i64>() else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no order `{id}`: ids of stored orders are numbers"),
        );
    };
    let sql = format!("SELECT {COLUMNS} FROM golive_orders WHERE id = $1");
    match db.query(&sql, &[&key]).await.as_deref() {
        Ok([row, ..]) => Json(order_json(row)).into_response(),
        Ok([]) => error(StatusCode::NOT_FOUND, format!("no order {key}")),
        Err(e) => e.response(),
    }
}

/// `GET /api/db/health`: 200 when `SELECT 1` answers, else 503 with the reason.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let Some(db) = state.deps.postgres.as_ref() else {
        return missing();
    };
    super::deps::health_answer("postgres", db.server(), db.ping().await)
}
