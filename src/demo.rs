//! `golive demo`: the README's first command. Runs the reference portfolio system (in a
//! container where Docker answers and `golive image build` has made the image, else as
//! a local process) against `checks/portfolio-golive.yaml` (a translation of seed 001's
//! automatable items), optionally with faults injected, and signs the manual items with
//! labelled demo attestations so that a healthy system can reach GO.

use crate::cli::{run_folder, run_plan, DemoArgs};
use crate::exit;
use crate::faults::StartFaults;
use crate::plan::{plan_file_with_args, ItemBody};
use crate::run::RunOptions;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// The checklist the demo runs, also compiled in so the demo works from any folder.
const CHECKLIST: &str = include_str!("../checks/portfolio-golive.yaml");
const CHECKLIST_PATH: &str = "checks/portfolio-golive.yaml";
/// The service in that checklist that is the reference system.
const SERVICE: &str = "app";
const SIGNER: &str = "demo attestation (golive demo)";

pub async fn run(args: DemoArgs, golive: String, cancel: CancellationToken) -> i32 {
    if let Err(e) = StartFaults::parse_flags(&args.faults) {
        eprintln!("error: {e}");
        return exit::INVALID_INPUT;
    }
    let (run_id, out) = run_folder(args.out);
    let path = PathBuf::from(CHECKLIST_PATH);
    let path = if path.exists() {
        path
    } else {
        // Outside the repository: run the compiled-in copy, kept beside the reports.
        if let Err(e) = std::fs::create_dir_all(&out)
            .and_then(|_| std::fs::write(out.join("portfolio-golive.yaml"), CHECKLIST))
        {
            eprintln!("error: cannot write {}: {e}", out.display());
            return exit::ENVIRONMENT;
        }
        out.join("portfolio-golive.yaml")
    };
    let fault_args: Vec<String> = args
        .faults
        .iter()
        .flat_map(|f| ["--fault".to_string(), f.clone()])
        .collect();
    let plan = match plan_file_with_args(&path, SERVICE, &fault_args) {
        Ok(p) => p,
        Err(diags) => {
            crate::cli::print_diagnostics(&diags);
            return exit::INVALID_INPUT;
        }
    };
    let signoffs = plan
        .items()
        .filter(|i| matches!(i.body, ItemBody::Manual(_)))
        .map(|i| (i.id.clone(), SIGNER.to_string()))
        .collect();
    if args.faults.is_empty() {
        eprintln!("golive demo: the reference portfolio system, healthy.");
    } else {
        eprintln!(
            "golive demo: the reference portfolio system with faults: {}",
            args.faults.join(", ")
        );
    }
    eprintln!("Manual items are signed with labelled demo attestations; a real run takes --sign ITEM=NAME.");
    let opts = RunOptions {
        run_id,
        out_dir: out,
        provider: args.provider,
        signoffs,
        golive,
        metrics: None,
        baseline: None,
    };
    run_plan(&plan, opts, &args.telemetry, cancel, false).await
}
