//! Applies the current faults to one request (HTTP middleware) or one WebSocket reply:
//! wait the drawn delay, then answer, fail with an injected 500, or stall.

use super::api::error;
use super::faults::Verdict;
use super::server::{AppState, Shared};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;

/// Longest a stalled request is held, so a forgotten drill cannot pin a connection forever.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(600);

pub(crate) const INJECTED: &str = "injected fault";

/// Middleware on every non-admin route.
pub(crate) async fn inject_faults(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    match before_reply(&state).await {
        Verdict::Answer => next.run(req).await,
        Verdict::Fail => error(StatusCode::INTERNAL_SERVER_ERROR, INJECTED),
        Verdict::Stall => {
            // Held, not dropped: the client sees an open connection that never answers.
            state.pause(STALL_LIMIT).await;
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "stalled request released (sandbox shutting down or stall limit reached)",
            )
        }
    }
}

/// Draws this reply's fate and waits out its delay; the caller acts on the verdict.
///
/// Shutdown cuts a delay short rather than holding the drain for the full latency, so
/// in-flight requests still finish within the shutdown grace period.
pub(crate) async fn before_reply(state: &Shared) -> Verdict {
    let decision = state.faults().decide(&mut fastrand::Rng::new());
    state.pause(decision.delay).await;
    decision.verdict
}
