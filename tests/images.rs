//! `golive image` against the real binary. Refusals need no engine; the reference image
//! test needs a Docker engine and reports itself skipped, with the reason, where none
//! answers.
//!
//! The reference image needs a static golive: `GOLIVE_STATIC_BINARY` when set, else the
//! one the container tests build (a no-op when it is up to date; minutes the first time).

mod common;

use common::golive;
use std::io::{Read, Write};

use std::time::Duration;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

#[test]
fn a_dynamic_binary_is_refused_before_docker_is_asked() {
    let out = golive()
        .args([
            "image",
            "build",
            "--only",
            "reference",
            "--binary",
            "/bin/ls",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dynamically linked"), "{stderr}");
    assert!(
        stderr.contains("RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu"),
        "{stderr}"
    );
    assert!(!stderr.contains("Docker did not answer"), "{stderr}");
}

#[test]
fn no_engine_is_an_environment_failure_that_names_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix://{}/docker.sock", dir.path().display());
    let out = golive()
        .args(["image", "list"])
        .env("DOCKER_HOST", &socket)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("Docker did not answer at {socket}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_image_builds_and_serves_health_from_scratch() {
    if let Err(reason) = common::docker::engine() {
        common::servers::skipped(&format!("no Docker engine answered ({reason})"));
        return;
    }
    let binary = common::docker::static_binary().expect("a static golive");

    let out = golive()
        .args([
            "image",
            "build",
            "--only",
            "reference",
            "--rebuild",
            "--binary",
        ])
        .arg(&binary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Building golive/reference:"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let image = golive::images::REFERENCE_IMAGE;
    assert!(stdout.contains(&format!("{image}: built")), "{stdout}");

    let list = golive().args(["image", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(image) && l.contains("present")),
        "{listed}"
    );

    // The image is present, so testcontainers starts it without trying to pull.
    let (name, tag) = image.split_once(':').unwrap();
    let container = GenericImage::new(name, tag)
        .with_exposed_port(8080.tcp())
        .with_wait_for(WaitFor::message_on_stdout("golive sandbox listening"))
        .with_cmd(["sandbox", "--listen", "0.0.0.0:8080"])
        .with_container_name(format!("golive-images-test-{}", std::process::id()))
        .start()
        .await
        .expect("the reference image starts");
    let host = container.get_host().await.unwrap().to_string();
    let port = container.get_host_port_ipv4(8080).await.unwrap();
    let response = tokio::task::spawn_blocking(move || http_get(&host, port, "/health"))
        .await
        .unwrap();
    // Remove the container this test started; the image stays for the provider.
    container.rm().await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"UP""#), "{response}");
}

fn http_get(host: &str, port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect((host, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

// Slow and privileged: debootstrap needs root and the Debian mirror, and `--rebuild` makes
// the rootfs afresh (about 1–2 minutes) and replaces both images. Run it by hand:
// `cargo test --test images -- --ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root, debootstrap and deb.debian.org; about 2 minutes"]
async fn postgres_and_redis_images_build_from_debootstrap_and_answer() {
    if let Err(reason) = common::docker::engine() {
        common::servers::skipped(&format!("no Docker engine answered ({reason})"));
        return;
    }
    // Postgres makes the rootfs afresh; redis then comes from the cached tarball (or is
    // already present): the import is the same code for both.
    for args in [["--rebuild", "--only", "postgres"], ["--only", "redis", ""]] {
        let out = golive()
            .args(["image", "build"])
            .args(args.iter().filter(|a| !a.is_empty()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        if args[0] == "--rebuild" {
            assert!(stderr.contains("debootstrap bookworm"), "{stderr}");
        }
    }
    let suffix = std::process::id();

    let (name, tag) = golive::images::POSTGRES_IMAGE.split_once(':').unwrap();
    let pg = GenericImage::new(name, tag)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr(
            "database system is ready to accept connections",
        ))
        .with_container_name(format!("golive-images-test-pg-{suffix}"))
        .start()
        .await
        .expect("the postgres image starts");
    let host = pg.get_host().await.unwrap().to_string();
    let port = pg.get_host_port_ipv4(5432).await.unwrap();
    let (client, connection) = tokio_postgres::connect(
        &format!("host={host} port={port} user=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("trust authentication lets postgres in");
    tokio::spawn(connection);
    let row = client.query_one("select 1::int4", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    drop(client);
    pg.rm().await.unwrap();

    let (name, tag) = golive::images::REDIS_IMAGE.split_once(':').unwrap();
    let redis = GenericImage::new(name, tag)
        .with_exposed_port(6379.tcp())
        .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
        .with_container_name(format!("golive-images-test-redis-{suffix}"))
        .start()
        .await
        .expect("the redis image starts");
    let host = redis.get_host().await.unwrap().to_string();
    let port = redis.get_host_port_ipv4(6379).await.unwrap();
    let mut con = redis::Client::open(format!("redis://{host}:{port}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
    redis.rm().await.unwrap();
}

/// The job image gates a checklist inside itself: PostgreSQL (through the shipped
/// `checks/bin/postgres-dev`, which drops root), Redis and the sandbox as process
/// services, with no network at all (`--network none`), as a CI job would run it.
#[test]
fn the_job_image_runs_a_gate_with_process_services_inside_the_job() {
    if !common::docker::ready_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    std::fs::create_dir_all(work.join("bin")).unwrap();
    std::fs::copy(
        common::root().join("checks/bin/postgres-dev"),
        work.join("bin/postgres-dev"),
    )
    .unwrap();
    std::fs::write(
        work.join("gate.yaml"),
        r#"system: job image
services:
  db:
    process: { command: ["./bin/postgres-dev", "{port}"] }
    ready: { kind: log, line: "database system is ready to accept connections" }
    startup_timeout: 60s
  cache:
    process: { command: ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] }
    ready: { kind: log, line: "Ready to accept connections" }
  api:
    process: { command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"] }
    ready: { kind: http, path: /health }
phases:
  - id: gate
    title: The gate, inside the job
    items:
      - id: db
        title: PostgreSQL answers
        check: { kind: postgres, url: "postgres://postgres@{services.db.host}:{services.db.port}/postgres", query: "SELECT 1", expect: [rows == 1] }
      - id: cache
        title: Redis answers
        check: { kind: redis, url: "redis://{services.cache.host}:{services.cache.port}", command: [PING], expect: [reply == "PONG"] }
      - id: api
        title: The API is healthy
        check: { kind: http, url: "{services.api.url}/health", expect: [status == 200] }
"#,
    )
    .unwrap();
    let out = golive()
        .arg("validate")
        .arg(work.join("gate.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mount = format!("{}:/work", work.display());
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v", &mount])
        .arg(golive::images::JOB_IMAGE)
        .args([
            "bash",
            "-c",
            "golive --version && golive run gate.yaml --out run; code=$?; chmod -R a+rwX run; exit $code",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with(&format!("golive {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("run/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["verdict"], "GO", "{results}");
}
