//! The `command` kind: runs a program directly (argv, never a shell), in a process
//! session of its own, with a time limit after which it and everything it started are
//! ended; exit code and output are tested against the expectations.

use crate::expect::{Expectation, Subject};
use crate::expect::{Observe, Observed};
use crate::services::session::{Launcher, RunError};
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

/// Output kept per stream; a command that prints more is cut, not failed (and the rest
/// is still read, so it never blocks on a full pipe).
const MAX_OUTPUT: usize = 1 << 20;

/// A validated command check.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    pub argv: Vec<Template>,
    pub env: Vec<(String, Template)>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    pub expect: Vec<Expectation>,
}

/// A [`CommandCheck`] with its arguments rendered.
pub struct CommandProbe {
    check: CommandCheck,
    launcher: Launcher,
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

struct Finished {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    micros: u64,
}

impl Observe for Finished {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::ExitCode => match self.code {
                Some(c) => Observed::Int(i64::from(c)),
                None => Observed::Missing("the command was ended by a signal".into()),
            },
            Subject::Stdout => Observed::Text(String::from_utf8_lossy(&self.stdout)),
            Subject::Stderr => Observed::Text(Cow::Owned(
                String::from_utf8_lossy(&self.stderr).into_owned(),
            )),
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a command check".into()),
        }
    }
}

impl CommandCheck {
    pub fn prepare(
        &self,
        endpoints: &Endpoints,
        launcher: &Launcher,
    ) -> Result<CommandProbe, Failure> {
        Ok(CommandProbe {
            check: self.clone(),
            launcher: launcher.clone(),
            argv: self
                .argv
                .iter()
                .map(|a| a.render(endpoints, None))
                .collect(),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.render(endpoints, None)))
                .collect(),
        })
    }
}

impl CommandProbe {
    pub async fn sample(&self) -> Result<u64, Failure> {
        let start = Instant::now();
        let Some((program, args)) = self.argv.split_first() else {
            return Err(Failure::new(FailureClass::Setup, "the command is empty"));
        };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.check.cwd);
        let limit = self.check.timeout.as_std();
        let out = match self.launcher.run(cmd, "check", limit, MAX_OUTPUT).await {
            Ok(out) => out,
            Err(RunError::TimedOut) => {
                return Err(Failure::new(
                    FailureClass::Timeout,
                    format!(
                        "`{program}` did not finish within {} and was killed with all it started",
                        self.check.timeout
                    ),
                ))
            }
            Err(RunError::Spawn(e)) => {
                return Err(Failure::new(
                    FailureClass::Setup,
                    format!("cannot run `{program}`: {e}"),
                ))
            }
            Err(RunError::Wait(e)) => {
                return Err(Failure::new(
                    FailureClass::Setup,
                    format!("waiting for `{program}` failed: {e}"),
                ))
            }
        };
        let seen = Finished {
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
            micros: u64::try_from(out.exited_at.duration_since(start).as_micros())
                .unwrap_or(u64::MAX),
        };
        let explicit_exit = self
            .check
            .expect
            .iter()
            .any(|e| e.subject == Subject::ExitCode);
        if !explicit_exit && seen.code != Some(0) {
            let code = seen.code.map_or("a signal".to_string(), |c| c.to_string());
            let tail = String::from_utf8_lossy(&seen.stderr);
            let tail = tail
                .trim()
                .lines()
                .last()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>();
            return Err(Failure::new(
                FailureClass::Expectation,
                format!(
                    "expected exit_code == 0, got {code}{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({tail})")
                    }
                ),
            ));
        }
        for e in &self.check.expect {
            e.check(&seen)
                .map_err(|r| Failure::new(FailureClass::Expectation, r))?;
        }
        Ok(seen.micros)
    }
}
