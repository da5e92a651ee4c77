//! Real database servers for tests: PostgreSQL and Redis, each started on a free
//! 127.0.0.1 port in its own temporary folder and stopped by its PID when the last test
//! holding it drops it, also when a test panics. Where a server's programs are missing,
//! [`postgres`] and [`redis`] return why, so the test reports itself skipped; a server
//! that is installed but will not start fails the test.
//!
//! Shared by the integration tests (`tests/common`) and the unit tests of the database
//! check kinds (included with `#[path]`), so it uses only the standard library, `nix`
//! and `tempfile`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);
/// How long a server may take to stop before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(15);

/// A running server; dropping it stops the process it started, and only that one.
pub struct Server {
    pub port: u16,
    name: &'static str,
    child: Child,
    /// The signal that shuts the server down cleanly (SIGINT: Postgres's fast shutdown).
    stop: nix::sys::signal::Signal,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// What the server wrote to its log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, self.stop);
        let deadline = Instant::now() + SHUTDOWN;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "{} (pid {}) did not stop within {SHUTDOWN:?}; killing it",
            self.name,
            self.child.id()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Postgres server shared by the tests of this process that are running now:
/// started by the first, stopped when the last lets go. `Err` says why it is skipped.
pub fn postgres() -> Result<Arc<Server>, String> {
    static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
    shared(&SHARED, start_postgres)
}

/// The Redis server shared like [`postgres`].
pub fn redis() -> Result<Arc<Server>, String> {
    static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
    shared(&SHARED, start_redis)
}

fn shared(
    slot: &Mutex<Weak<Server>>,
    start: fn() -> Result<Server, String>,
) -> Result<Arc<Server>, String> {
    // Held while starting, so tests running in parallel wait for one server.
    let mut weak = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = weak.upgrade() {
        return Ok(s);
    }
    let s = Arc::new(start()?);
    *weak = Arc::downgrade(&s);
    Ok(s)
}

/// Says that the running test is skipped and why. Written straight to stderr, past the
/// test harness's capture (which swallows `eprintln!` of passing tests), so a skip is
/// seen in a plain `cargo test` and never passes for a proof.
pub fn skipped(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// A port on 127.0.0.1 that nothing listens on now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// The folder of the newest installed PostgreSQL server programs: `GOLIVE_TEST_PG_BIN`,
/// else the highest `/usr/lib/postgresql/N/bin` (Debian's layout).
fn postgres_bin() -> Result<PathBuf, String> {
    let has_programs = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("GOLIVE_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_programs(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "GOLIVE_TEST_PG_BIN={} has no initdb and postgres",
                dir.display()
            ))
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_programs(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL server programs (initdb, postgres) are not installed under \
         /usr/lib/postgresql/*/bin (apt-get install postgresql, or set GOLIVE_TEST_PG_BIN)"
            .to_string()
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` run as the `postgres` user when we are root (Postgres refuses to run as root).
fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_postgres() -> Result<Server, String> {
    start_postgres_attempt(3, None)
}

/// A PostgreSQL server of the caller's own, a fresh cluster on `port` (not shared: a test
/// may stop it, by dropping it, and start another on the same port).
pub fn postgres_on(port: u16) -> Result<Server, String> {
    start_postgres_attempt(1, Some(port))
}

/// One attempt in a fresh folder on `port` or a fresh one; a port taken between choosing
/// and binding it is retried `attempts - 1` times.
fn start_postgres_attempt(attempts: u32, port: Option<u16>) -> Result<Server, String> {
    let bin = postgres_bin()?;
    if running_as_root() {
        let known = Command::new("id")
            .arg("postgres")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !known {
            return Err(
                "running as root and there is no `postgres` user to run the server as".into(),
            );
        }
        if which("setpriv").is_none() {
            return Err(
                "running as root and `setpriv` (util-linux) is missing to drop to the postgres user"
                    .into(),
            );
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("golive-pg-")
        .tempdir()
        .expect("temp dir");
    if running_as_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {} to postgres failed", dir.path().display());
    }
    let data = dir.path().join("data");
    let init = as_postgres_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .expect("run initdb");
    assert!(
        init.status.success(),
        "initdb failed:\n{}{}",
        String::from_utf8_lossy(&init.stdout),
        String::from_utf8_lossy(&init.stderr)
    );
    let log = dir.path().join("postgres.log");
    let port = port.unwrap_or_else(free_port);
    let child = as_postgres_user(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
        .arg("-k")
        .arg(dir.path())
        // Test data is thrown away: no need to wait for the disk.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .stdin(Stdio::null())
        .stdout(log_file(&log))
        .stderr(log_file(&log))
        .spawn()
        .expect("start postgres");
    let server = Server {
        port,
        name: "postgres",
        child,
        stop: nix::sys::signal::Signal::SIGINT,
        log,
        _dir: dir,
    };
    let ready = |s: &Server| {
        s.log()
            .contains("database system is ready to accept connections")
    };
    match wait_ready(server, ready) {
        Ok(s) => Ok(s),
        Err(log) if log.contains("could not bind") && attempts > 1 => {
            eprintln!("postgres could not bind port {port}, trying another:\n{log}");
            start_postgres_attempt(attempts - 1, None)
        }
        Err(log) => panic!("postgres did not start:\n{log}"),
    }
}

fn start_redis() -> Result<Server, String> {
    redis_on(free_port())
}

/// A Redis server of the caller's own on `port` (not shared: a test may stop it, by
/// dropping it, and start another on the same port to play an outage and a recovery).
pub fn redis_on(port: u16) -> Result<Server, String> {
    let program = which("redis-server").ok_or_else(|| {
        "redis-server is not installed (apt-get install redis-server)".to_string()
    })?;
    let dir = tempfile::Builder::new()
        .prefix("golive-redis-")
        .tempdir()
        .expect("temp dir");
    let log = dir.path().join("redis.log");
    let child = Command::new(program)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(log_file(&log))
        .stderr(log_file(&log))
        .spawn()
        .expect("start redis-server");
    let server = Server {
        port,
        name: "redis-server",
        child,
        stop: nix::sys::signal::Signal::SIGTERM,
        log,
        _dir: dir,
    };
    match wait_ready(server, |s| redis_answers_ping(s.port)) {
        Ok(s) => Ok(s),
        Err(log) => panic!("redis-server did not start:\n{log}"),
    }
}

/// Waits until `ready` holds; on the process exiting or the startup time running out,
/// stops it (by dropping it) and returns its log.
fn wait_ready(mut server: Server, ready: impl Fn(&Server) -> bool) -> Result<Server, String> {
    let deadline = Instant::now() + STARTUP;
    loop {
        if ready(&server) {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("exited with {status}\n{}", server.log()));
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready within {STARTUP:?}\n{}", server.log()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

fn log_file(path: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .expect("open server log")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
