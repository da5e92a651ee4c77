//! `golive monitor FILE`: plans the checklist, then runs the monitor until SIGINT or
//! SIGTERM; SIGHUP reloads the file.

use super::MonitorArgs;
use crate::exit;
use crate::monitor::{self, MonitorError, MonitorOptions};
use tokio_util::sync::CancellationToken;

/// Runs the monitor; the exit code: 0 after a requested stop, 2 for a checklist that
/// cannot be monitored, 3 when the state file, the port or a service refuses.
pub async fn run(
    args: MonitorArgs,
    golive: String,
    cancel: CancellationToken,
    on_plan: &(dyn Fn(&crate::plan::Plan) + Sync),
) -> i32 {
    let plan = match crate::plan::plan_file(&args.checklist) {
        Ok(p) => p,
        Err(diags) => {
            super::print_diagnostics(&diags);
            return exit::INVALID_INPUT;
        }
    };
    on_plan(&plan);
    let state = args.state.clone().unwrap_or_else(|| {
        let stem = args
            .checklist
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checklist".into());
        std::path::PathBuf::from(format!("{stem}.monitor.db"))
    });
    let (hup_tx, hup_rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            if hup_tx.send(()).await.is_err() {
                return;
            }
        }
    });
    let opts = MonitorOptions {
        state: state.clone(),
        listen: args.listen,
        provider: args.provider,
        run_id: crate::run::new_run_id(chrono::Utc::now()),
        golive,
    };
    let items = plan.monitor.items.len();
    let rules = plan.monitor.rules.len();
    let objectives = plan.monitor.objectives.len();
    let announce = |addr: std::net::SocketAddr| {
        crate::eprintln!(
            "golive monitor: {items} items, {rules} rules, {objectives} objectives; status page http://{addr}/ (state {})",
            state.display()
        );
    };
    match monitor::run(
        &args.checklist,
        plan,
        opts,
        cancel,
        hup_rx,
        &announce,
        on_plan,
    )
    .await
    {
        Ok(()) => exit::GO,
        Err(e @ MonitorError::Invalid(_)) => {
            super::print_error(&e);
            exit::INVALID_INPUT
        }
        Err(e @ MonitorError::Environment(_)) => {
            super::print_error(&e);
            exit::ENVIRONMENT
        }
    }
}
