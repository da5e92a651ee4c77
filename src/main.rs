//! The golive binary: parses the command line, sets up logging and signal handling,
//! dispatches, and maps the outcome to an exit code. `anyhow` lives only here.

use clap::Parser;
use golive::cli::{self, Cli, Command};
// golive's own `eprintln!`, which drops a message it cannot write instead of panicking.
use golive::eprintln;
use golive::exit;
use golive::redact::Redactor;
use golive::run::RunOptions;
use std::io::Write;
use std::sync::{Arc, RwLock};
use tokio_util::sync::CancellationToken;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::GO
            });
        }
    };
    // Logs go to stderr so stdout carries only results (the sandbox's address line,
    // the summary, rendered reports).
    let log_secrets = LogSecrets::default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GOLIVE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(log_secrets.clone())
        .init();
    cli.color.apply();
    cli::set_quiet(cli.quiet);
    let code = match cli.command {
        Command::Validate { files, no_env } => cli::validate(&files, no_env),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "golive", &mut script);
            match std::io::stdout().write_all(&script) {
                Ok(()) => exit::GO,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::GO,
                Err(e) => {
                    eprintln!("error: cannot write the completion script: {e}");
                    exit::ENVIRONMENT
                }
            }
        }
        Command::Schema { results, scenario } => cli::schema(results, scenario),
        Command::Merge { results, output } => cli::merge(&results, &output),
        Command::K8s(args) => cli::k8s::run(&args),
        Command::Compare(args) => cli::compare::run(&args),
        Command::Keygen(args) => cli::keygen(&args),
        Command::Sign(args) => cli::sign(&args),
        Command::Verify(args) => cli::verify(&args),
        Command::Report {
            results,
            format,
            output,
        } => cli::rerender(&results, format, output.as_deref()),
        command => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run_async(command, log_secrets)),
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                exit::ENVIRONMENT
            }
        },
    };
    std::process::exit(code);
}

async fn run_async(command: Command, log_secrets: LogSecrets) -> i32 {
    let golive = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "golive".into());
    match command {
        Command::Sandbox(args) => match golive::sandbox::run_cli(args).await {
            Ok(()) => exit::GO,
            Err(e) => {
                eprintln!("error: {e:#}");
                golive::sandbox::exit_code(&e)
            }
        },
        Command::Demo(args) => golive::demo::run(args, golive, interrupt_token()).await,
        Command::Monitor(args) => {
            let set = |plan: &golive::plan::Plan| log_secrets.set(&plan.redactor);
            let stop = interrupt_token_saying(
                "golive monitor: stopping; its state is kept (interrupt again to exit at once)",
            );
            cli::monitor::run(args, golive, stop, &set).await
        }
        Command::Run(args) => {
            let mut plan = match golive::plan::plan_file(&args.checklist) {
                Ok(p) => p,
                Err(diags) => {
                    cli::print_diagnostics(&diags);
                    return exit::INVALID_INPUT;
                }
            };
            for file in &args.waivers {
                if let Err(diags) = golive::plan::add_waivers_file(&mut plan, file) {
                    cli::print_diagnostics(&diags);
                    return exit::INVALID_INPUT;
                }
            }
            let baseline = match cli::baseline(&mut plan, args.baseline.as_deref()) {
                Ok(b) => b,
                Err(e) => {
                    cli::print_error(&e);
                    return exit::INVALID_INPUT;
                }
            };
            log_secrets.set(&plan.redactor);
            let signoffs = match cli::signoffs(&plan, &args.common.sign) {
                Ok(s) => s,
                Err(e) => {
                    cli::print_error(&e);
                    return exit::INVALID_INPUT;
                }
            };
            let (run_id, out_dir) = cli::run_folder(args.common.out);
            let opts = RunOptions {
                run_id,
                out_dir,
                provider: args.common.provider,
                signoffs,
                golive,
                metrics: None,
                baseline,
            };
            cli::run_plan(
                &plan,
                opts,
                &args.common.telemetry,
                interrupt_token(),
                args.json,
            )
            .await
        }
        Command::Load(args) => {
            let on_plan = |r: &Redactor| log_secrets.set(r);
            cli::load_command(args, golive, interrupt_token(), &on_plan).await
        }
        Command::Cleanup { run } => cli::cleanup(run.as_deref()).await,
        Command::Image(args) => cli::image::run(args).await,
        Command::Validate { .. }
        | Command::Completions { .. }
        | Command::Schema { .. }
        | Command::Report { .. }
        | Command::Merge { .. }
        | Command::K8s(_)
        | Command::Compare(_)
        | Command::Keygen(_)
        | Command::Sign(_)
        | Command::Verify(_) => exit::GO,
    }
}

/// Where log lines go: stderr, with URL passwords, password parameters and, once a plan
/// is made, its secrets masked. Services' output and errors are logged as they come, so
/// masking happens here, where every line leaves. (tracing-subscriber already escapes
/// control characters in fields.)
#[derive(Clone, Default)]
struct LogSecrets(Arc<RwLock<Redactor>>);

impl LogSecrets {
    fn set(&self, redactor: &Redactor) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = redactor.clone();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSecrets {
    type Writer = MaskedStderr;

    fn make_writer(&'a self) -> MaskedStderr {
        MaskedStderr(self.0.clone())
    }
}

/// One log event's writer; the formatter hands it the whole formatted line at once.
struct MaskedStderr(Arc<RwLock<Redactor>>);

impl Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let redactor = self.0.read().unwrap_or_else(|p| p.into_inner());
        std::io::stderr().write_all(redactor.redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A token cancelled by the first SIGINT or SIGTERM, so the run stops its work and still
/// writes its report; a second signal exits at once with 130.
fn interrupt_token() -> CancellationToken {
    interrupt_token_saying(
        "golive: interrupted; stopping and writing the report (interrupt again to exit at once)",
    )
}

/// [`interrupt_token`] that says `what` at the first signal.
fn interrupt_token_saying(what: &'static str) -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        for n in 0.. {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if n == 0 {
                eprintln!("{what}");
                t.cancel();
            } else {
                // No orderly shut-down now: at least end every process this golive started.
                golive::services::ledger::kill_own_sessions();
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
    token
}
