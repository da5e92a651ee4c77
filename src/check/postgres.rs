//! The `postgres` kind: one simple query per sample (text protocol, one round trip) over
//! plain TCP. By default each concurrent sampler keeps its connection, so the latency is
//! the query's round trip; with `reuse_connection: false` every sample connects, and the
//! latency is connect plus query. TLS to Postgres is not supported yet.

use super::idle::Idle;
use crate::expect::{Expectation, Subject};
use crate::expect::{Observe, Observed};
use crate::tally::{error_chain, Failure, FailureClass, Sample};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Instant;
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

/// A validated Postgres check.
#[derive(Debug, Clone)]
pub struct PostgresCheck {
    pub url: Template,
    pub query: Template,
    pub timeout: Duration,
    pub reuse_connection: bool,
    pub expect: Vec<Expectation>,
}

/// A [`PostgresCheck`] with its URL parsed, ready to sample.
pub struct PostgresProbe {
    check: PostgresCheck,
    config: Config,
    query: String,
    /// `host:port`, for reasons.
    server: String,
    /// Connections between samples.
    idle: Idle<Client>,
}

/// What one query answered.
struct Answer {
    /// The count the server reported for the last statement.
    rows: u64,
    /// The first column of the first row; `None` when no row came back, `Some(None)` for NULL.
    value: Option<Option<String>>,
    micros: u64,
}

static NULL: serde_json::Value = serde_json::Value::Null;

impl Observe for Answer {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Rows => Observed::Int(i64::try_from(self.rows).unwrap_or(i64::MAX)),
            Subject::Value => match &self.value {
                Some(Some(text)) => Observed::Text(Cow::Borrowed(text)),
                Some(None) => Observed::Json(&NULL),
                None => Observed::Missing("the query returned no rows".into()),
            },
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a postgres check".into()),
        }
    }
}

/// Parses a `postgres://` or `postgresql://` URL into a connection config; refuses what
/// golive cannot honour (a `key=value` string, `sslmode=require`). Used at plan time for
/// URLs without service placeholders, and when a probe is prepared.
pub fn parse_url(url: &str) -> Result<Config, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "`{}` is not a postgres:// or postgresql:// URL",
            super::without_password(url)
        ));
    }
    let mut config = Config::from_str(url).map_err(|e| {
        format!(
            "`{}` is not a valid Postgres URL: {}",
            super::without_password(url),
            error_chain(&e)
        )
    })?;
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(
            "TLS to Postgres is not supported yet; drop `sslmode=require` (or use `sslmode=disable`)"
                .into(),
        );
    }
    if config.get_application_name().is_none() {
        // So the probe's sessions are recognisable in pg_stat_activity.
        config.application_name("golive");
    }
    Ok(config)
}

impl PostgresCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<PostgresProbe, Failure> {
        let url = self.url.render(endpoints, None);
        let config = parse_url(&url).map_err(|m| Failure::new(FailureClass::Setup, m))?;
        Ok(PostgresProbe {
            check: self.clone(),
            server: server(&config),
            config,
            query: self.query.render(endpoints, None),
            idle: Idle::default(),
        })
    }
}

/// The first host and port of `config`, as `host:port`.
pub fn server(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

impl PostgresProbe {
    pub async fn sample(&self) -> Sample {
        // A connection taken here and not put back (timeout, cancellation, a closed
        // connection) is dropped, which closes it; the next sample connects afresh. A SQL
        // error leaves the session usable, so that connection is kept.
        super::within(self.check.timeout, self.exchange(), || {
            format!("postgres at {}", self.server)
        })
        .await
    }

    async fn exchange(&self) -> Sample {
        let start = Instant::now();
        let kept = if self.check.reuse_connection {
            self.idle.take(|c| !c.is_closed())
        } else {
            None
        };
        let client = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        // With a kept connection the latency is the query alone, even on the sample that
        // opened it; without, it is connect plus query.
        let query_start = if self.check.reuse_connection {
            Instant::now()
        } else {
            start
        };
        let messages = client
            .simple_query(&self.query)
            .await
            .map_err(|e| self.query_failure(&e));
        let micros = u64::try_from(query_start.elapsed().as_micros()).unwrap_or(u64::MAX);
        if self.check.reuse_connection && !client.is_closed() {
            self.idle.put(client);
        }
        let seen = answer(messages?, micros);
        for e in &self.check.expect {
            e.check(&seen)
                .map_err(|r| Failure::new(FailureClass::Expectation, r))?;
        }
        Ok(seen.micros)
    }

    async fn connect(&self) -> Result<Client, Failure> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.connect_failure(&e))?;
        // The connection task ends when its client is dropped (or the server goes away);
        // errors it meets surface on the client's next query as a closed connection.
        tokio::spawn(connection);
        Ok(client)
    }

    /// Refused or unreachable is `connect`; a server that rejects the login (bad role or
    /// password, no such database) is `setup`: the check's credentials need fixing, and the
    /// server's own message says how.
    fn connect_failure(&self, e: &tokio_postgres::Error) -> Failure {
        let server = &self.server;
        match e.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let class = if code.starts_with("28") || code == "3D000" {
                    FailureClass::Setup
                } else {
                    FailureClass::Connect
                };
                Failure::new(
                    class,
                    format!(
                        "postgres at {server} refused the session: {} (SQLSTATE {code})",
                        db.message()
                    ),
                )
            }
            None => Failure::new(
                FailureClass::Connect,
                format!("cannot connect to postgres at {server}: {}", error_chain(e)),
            ),
        }
    }

    fn query_failure(&self, e: &tokio_postgres::Error) -> Failure {
        match e.as_db_error() {
            Some(db) => Failure::new(
                FailureClass::Protocol,
                format!(
                    "the query failed: {}: {} (SQLSTATE {})",
                    db.severity(),
                    db.message(),
                    db.code().code()
                ),
            ),
            None if e.is_closed() => Failure::new(
                FailureClass::Connect,
                format!(
                    "the connection to postgres at {} closed: {}",
                    self.server,
                    error_chain(e)
                ),
            ),
            None => Failure::new(
                FailureClass::Protocol,
                format!("the query failed: {}", error_chain(e)),
            ),
        }
    }
}

fn answer(messages: Vec<SimpleQueryMessage>, micros: u64) -> Answer {
    let mut rows = 0;
    let mut value = None;
    for m in &messages {
        match m {
            SimpleQueryMessage::Row(row) if value.is_none() => {
                value = Some(row.get(0).map(str::to_string));
            }
            SimpleQueryMessage::CommandComplete(n) => rows = *n,
            _ => {}
        }
    }
    Answer {
        rows,
        value,
        micros,
    }
}

#[cfg(test)]
mod tests;
