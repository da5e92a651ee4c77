//! The built-in reference portfolio system: a small HTTP + WebSocket server shaped like
//! the systems go-live checklists describe (portfolio, quotes, order entry, a market-data
//! feed, a health endpoint), with faults that can be injected at start or switched at run
//! time. golive's demo and tests probe and load-test it; it is a target, not part of the
//! gate.
//!
//! Routes: `GET /health`, `GET /api/portfolio`, `GET /api/quotes/{symbol}`,
//! `POST /api/orders`, `POST /api/orders/execute` (log-normal execution time, see
//! `execution`), `GET /api/orders/{id}`, `GET /ws/market` (WebSocket), the
//! SignalR-style hubs `POST /hubs/{hub}/negotiate` and `GET /hubs/{hub}` (WebSocket; hubs
//! `market-data`, `trading`, `portfolio`, see `hubs`), and the fault-free admin routes
//! `GET|PUT|POST /admin/faults`, `GET /admin/stats` and `GET /metrics` (requests by route
//! and status code, for a Prometheus to scrape).
//!
//! One route is broken on purpose: `GET /api/market/volume-leaders` always answers 500
//! with `{"error": ..}`, the known issue of the MyTrader checklist (a trading dashboard
//! whose volume-leaders endpoint fails), which `checks/mytrader-known-issue.yaml` carries
//! as a waiver. It is a fixture for that example, not an injected fault: it answers 500
//! with or without `--fault` (whose faults apply to it as to every API route).
//!
//! With `--postgres URL`, orders can also be kept in PostgreSQL (`POST /api/db/orders`,
//! `GET /api/db/orders/{id}`, `GET /api/db/health`, see `db`); with `--redis URL`, quotes
//! are read through Redis and messages published on it (`GET /api/cache/quote/{symbol}`,
//! `POST /api/cache/publish/{channel}`, `GET /api/cache/health`, see `cache`). Without
//! the option those routes answer 404 saying which option serves them. An unreachable
//! dependency does not stop the sandbox from starting; `/health` lists it and answers 503
//! until it answers (see `deps`).
//!
//! With `--web-listen`, a web frontend (a static page at `/` and `GET /health`) answers on
//! a second address, so one process serves two ports like MyTrader's API and web app.

mod admin;
mod api;
mod cache;
mod db;
mod deps;
mod execution;
mod exposition;
mod faults;
mod hubs;
mod inject;
mod leak;
mod lock;
mod market;
mod orders;
mod quotes;
mod server;
#[cfg(test)]
mod tests;
mod web;

pub use deps::Deps;
pub use lock::{LockError, REFUSED_EXIT};
pub use server::{Sandbox, MIN_TICK};

use crate::faults::StartFaults;
use anyhow::Context;
use std::io::Write;
use tokio_util::sync::CancellationToken;

/// Runs the built-in reference portfolio system (HTTP + WebSocket) for demos and drills.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// A fault to inject from the start, repeatable: latency=300ms, jitter=50ms, errors=30%,
    /// stall=10%, leak=1MB (per second), hub_down=market-data, exec_median=250ms,
    /// exec_spread=0.5, and, at start only, stale_lock=PATH: take PATH as a lock file
    /// (created new, with the PID in it), remove it on SIGTERM or SIGINT, and refuse to
    /// start (exit 1) while it exists, so a killed sandbox does not come back under a
    /// restarting supervisor. Without the flag, GOLIVE_SANDBOX_FAULTS (comma-separated) is
    /// read, so a shipped checklist's sandbox can be broken without editing it.
    #[arg(
        long = "fault",
        value_name = "NAME=VALUE",
        env = "GOLIVE_SANDBOX_FAULTS",
        value_delimiter = ','
    )]
    pub faults: Vec<String>,
    /// Period between market-data ticks pushed to WebSocket subscribers.
    #[arg(long, default_value = "1s")]
    pub tick: crate::units::Duration,
    /// Also serve the web frontend (a static page at `/`, `/health`) on this address.
    #[arg(long, value_name = "ADDR")]
    pub web_listen: Option<std::net::SocketAddr>,
    /// PostgreSQL to keep orders in (postgres://USER[:PASSWORD]@HOST:PORT/DB): serves
    /// POST /api/db/orders, GET /api/db/orders/{id} and GET /api/db/health, and adds
    /// `postgres` to /health. The table golive_orders is created if missing. The sandbox
    /// starts even if the database does not answer yet: /health answers 503 until it does,
    /// and the routes answer 503 within 2s during an outage and recover after it.
    #[arg(
        long,
        value_name = "URL",
        env = "GOLIVE_SANDBOX_POSTGRES",
        hide_env_values = true
    )]
    pub postgres: Option<String>,
    /// Redis to cache quotes and publish on (redis://[:PASSWORD@]HOST:PORT): serves
    /// GET /api/cache/quote/{symbol} (header x-cache: hit or miss),
    /// POST /api/cache/publish/{channel} (answers the receivers count) and
    /// GET /api/cache/health, and adds `redis` to /health. Unreachable Redis is handled as
    /// for --postgres.
    #[arg(
        long,
        value_name = "URL",
        env = "GOLIVE_SANDBOX_REDIS",
        hide_env_values = true
    )]
    pub redis: Option<String>,
    /// How long GET /api/cache/quote/{symbol} keeps a quote in Redis.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub cache_ttl: crate::units::Duration,
}

/// `golive sandbox` entry point: parse faults (bad flag → Err), start, print exactly one
/// line `golive sandbox listening on http://ADDR` to stdout (and, with `--web-listen`, a
/// second line `golive sandbox web on http://ADDR2`), then serve until SIGTERM or SIGINT
/// and shut down cleanly.
pub async fn run_cli(args: SandboxArgs) -> anyhow::Result<()> {
    // An empty GOLIVE_SANDBOX_FAULTS (or `a,,b`) names no fault.
    let flags: Vec<String> = args
        .faults
        .iter()
        .filter(|f| !f.trim().is_empty())
        .cloned()
        .collect();
    let StartFaults { faults, stale_lock } = StartFaults::parse_flags(&flags)?;
    // Taken before anything else, as a service guarding against a second instance does;
    // dropped (the file removed) when this function returns after a clean shutdown.
    let _lock = stale_lock
        .as_deref()
        .map(lock::LockFile::take)
        .transpose()?;
    // Listen for signals before announcing the address, so a supervisor that sends
    // SIGTERM as soon as it reads the line still gets a clean shutdown.
    // An empty variable (GOLIVE_SANDBOX_REDIS=) gives no dependency, as for the faults.
    let url = |u: &Option<String>| u.clone().filter(|u| !u.trim().is_empty());
    let deps = Deps::new(
        url(&args.postgres).as_deref(),
        url(&args.redis).as_deref(),
        args.cache_ttl.as_std(),
    )
    .map_err(anyhow::Error::msg)?;
    let signalled = shutdown_signal().context("cannot listen for shutdown signals")?;
    let shutdown = CancellationToken::new();
    let sandbox = Sandbox::start(
        args.listen,
        faults,
        args.tick.as_std(),
        deps,
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("cannot start the sandbox on {}", args.listen))?;
    let web = match args.web_listen {
        None => None,
        Some(addr) => Some(
            web::Web::start(addr, shutdown.clone())
                .await
                .with_context(|| format!("cannot start the sandbox web frontend on {addr}"))?,
        ),
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "golive sandbox listening on http://{}", sandbox.addr())?;
        if let Some(w) = &web {
            writeln!(out, "golive sandbox web on http://{}", w.addr())?;
        }
        out.flush()?;
    }
    signalled.await;
    tracing::info!("Shutdown signal received; the sandbox is draining.");
    shutdown.cancel();
    if let Some(w) = web {
        w.wait()
            .await
            .context("the sandbox web frontend did not shut down cleanly")?;
    }
    sandbox
        .wait()
        .await
        .context("the sandbox did not shut down cleanly")?;
    Ok(())
}

/// The exit status for an error of [`run_cli`]: [`REFUSED_EXIT`] when a lock file left
/// behind refused the start, else the status of invalid input.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<LockError>() {
        Some(LockError::Held { .. }) => REFUSED_EXIT,
        _ => crate::exit::INVALID_INPUT,
    }
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C elsewhere); registered on call.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        // Without a handler there is no clean way to stop; fall back to waiting forever
        // only if Ctrl-C cannot be watched at all.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
