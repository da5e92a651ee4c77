//! The running sandbox: its shared state, the route table, and the serve task with its
//! bounded graceful shutdown (stop accepting, let in-flight requests finish, close
//! WebSockets, give up after [`GRACE`]).

use super::deps::Deps;
use super::leak::{self, Leak};
use super::orders::{OrderBook, KEPT_ORDERS};
use super::{admin, api, cache, db, execution, hubs, inject, market};
use crate::faults::Faults;
use crate::units::Duration as Units;
use axum::middleware;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long shutdown waits for in-flight requests and WebSockets before it stops waiting.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Shortest tick accepted: faster would only measure the sandbox, not the prober.
pub const MIN_TICK: Duration = Duration::from_millis(10);

/// State every handler shares, one per sandbox (no globals, so tests run side by side).
#[derive(Debug)]
pub(crate) struct Shared {
    /// Current faults; a `watch` so reads are a cheap shared borrow and the leak task
    /// sees changes without polling a lock.
    pub faults: watch::Sender<Faults>,
    pub started: Instant,
    pub orders: Mutex<OrderBook>,
    pub leak: Leak,
    pub tick: Duration,
    pub shutdown: CancellationToken,
    /// Open WebSocket sessions. Upgraded connections leave hyper's graceful-shutdown
    /// tracking, so shutdown waits for this to reach zero instead.
    pub sockets: watch::Sender<usize>,
    /// The SignalR-style hubs' tokens and counts.
    pub hubs: hubs::Hubs,
    /// Requests by route and status, at `GET /metrics`.
    pub exposition: super::exposition::Exposition,
    /// PostgreSQL and Redis, when given.
    pub deps: Deps,
}

pub(crate) type AppState = Arc<Shared>;

impl Shared {
    pub fn faults(&self) -> Faults {
        *self.faults.borrow()
    }

    /// Counts one open WebSocket until the returned guard drops.
    pub fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.sockets.send_modify(|n| *n += 1);
        SocketGuard(self.clone())
    }

    /// Sleeps for `delay`, cut short by shutdown; `false` if shutdown cut it.
    pub async fn pause(&self, delay: Duration) -> bool {
        if delay.is_zero() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = self.shutdown.cancelled() => false,
        }
    }
}

pub(crate) struct SocketGuard(AppState);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.sockets.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The route table. Faults wrap the API, health and market routes; admin routes are
/// merged outside that layer so a drill can always be switched off.
fn router(state: AppState) -> Router {
    let faulty = Router::new()
        .route("/health", get(api::health))
        .route("/api/portfolio", get(api::portfolio))
        .route("/api/quotes/{symbol}", get(api::quote))
        .route("/api/market/volume-leaders", get(api::volume_leaders))
        .route("/api/orders", post(api::place_order))
        .route("/api/orders/execute", post(execution::execute))
        .route("/api/orders/{id}", get(api::get_order))
        .route("/api/db/orders", post(db::place_order))
        .route("/api/db/orders/{id}", get(db::get_order))
        .route("/api/db/health", get(db::health))
        .route("/api/cache/quote/{symbol}", get(cache::quote))
        .route("/api/cache/publish/{channel}", post(cache::publish))
        .route("/api/cache/health", get(cache::health))
        .route("/ws/market", get(market::upgrade))
        .route("/hubs/{hub}/negotiate", post(hubs::negotiate))
        .route("/hubs/{hub}", get(hubs::upgrade))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            inject::inject_faults,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::exposition::count,
        ));
    let admin = Router::new()
        .route(
            "/admin/faults",
            get(admin::get_faults)
                .put(admin::set_faults)
                .post(admin::set_faults),
        )
        .route("/admin/stats", get(admin::stats))
        .route("/metrics", get(super::exposition::metrics));
    faulty
        .merge(admin)
        .fallback(api::not_found)
        .with_state(state)
}

/// A running reference portfolio system.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: AppState,
    server: JoinHandle<io::Result<()>>,
    /// Cancels this sandbox (not the caller's token) if it is dropped without `wait`.
    _stop_on_drop: DropGuard,
}

impl Sandbox {
    /// Binds, starts serving in a spawned task, returns once the socket is bound.
    ///
    /// `tick` is the market-data period, at least [`MIN_TICK`]. `deps` are the PostgreSQL
    /// and Redis behind the `/api/db` and `/api/cache` routes; they need not answer yet.
    /// Cancelling `shutdown` starts a graceful shutdown; [`Sandbox::wait`] resolves when
    /// it has finished.
    pub async fn start(
        listen: SocketAddr,
        faults: Faults,
        tick: Duration,
        deps: Deps,
        shutdown: CancellationToken,
    ) -> io::Result<Sandbox> {
        if tick < MIN_TICK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the market-data tick must be at least {}, not {}",
                    Units::from_std(MIN_TICK),
                    Units::from_std(tick)
                ),
            ));
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let token = shutdown.child_token();
        let state = Arc::new(Shared {
            faults: watch::Sender::new(faults),
            started: Instant::now(),
            orders: Mutex::new(OrderBook::new(KEPT_ORDERS)),
            leak: Leak::default(),
            tick,
            shutdown: token.clone(),
            sockets: watch::Sender::new(0),
            hubs: hubs::Hubs::default(),
            exposition: super::exposition::Exposition::new(),
            deps,
        });
        let leaking = state.clone();
        tokio::spawn(async move {
            let faults = leaking.faults.subscribe();
            leak::run(faults, &leaking.leak, leaking.shutdown.clone()).await;
        });
        let server = tokio::spawn(serve(listener, state.clone()));
        let reporting = state.clone();
        tokio::spawn(async move { reporting.deps.report_at_start().await });
        tracing::info!(%addr, %faults, "Sandbox is listening.");
        Ok(Sandbox {
            addr,
            state,
            server,
            _stop_on_drop: token.drop_guard(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the injected faults; same effect as `PUT /admin/faults`.
    pub fn set_faults(&self, faults: Faults) {
        tracing::info!(%faults, "Sandbox faults changed.");
        self.state.faults.send_replace(faults);
    }

    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Resolves after shutdown completes: in-flight requests answered and WebSockets
    /// closed, or [`GRACE`] spent.
    pub async fn wait(self) -> io::Result<()> {
        let server = self.server;
        server.await.map_err(io::Error::other)?
    }
}

async fn serve(listener: TcpListener, state: AppState) -> io::Result<()> {
    let token = state.shutdown.clone();
    // Answer small request/response exchanges (WebSocket pings) without Nagle's delay.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let graceful = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(token.clone().cancelled_owned());
    let serving = std::future::IntoFuture::into_future(graceful);
    tokio::pin!(serving);
    tokio::select! {
        // Only ends by itself if accepting failed for good.
        ended = &mut serving => return ended,
        () = token.cancelled() => {}
    }
    let deadline = Instant::now() + GRACE;
    let served = match tokio::time::timeout_at(deadline, &mut serving).await {
        Ok(ended) => ended,
        Err(_) => {
            tracing::warn!(grace = ?GRACE, "Sandbox requests still in flight at the shutdown deadline; dropping them.");
            Ok(())
        }
    };
    let mut sockets = state.sockets.subscribe();
    if tokio::time::timeout_at(deadline, sockets.wait_for(|open| *open == 0))
        .await
        .is_err()
    {
        tracing::warn!(
            open = *sockets.borrow(),
            "WebSockets still open at the shutdown deadline."
        );
    }
    tracing::info!("Sandbox has shut down.");
    served
}
