//! The `tls` check kind and https in the `http` kind, against TLS servers on 127.0.0.1:0
//! in this test process, with certificates made by rcgen: a CA and leaves it signed (one
//! valid for a year, one expired), and a self-signed leaf. Every leaf names `localhost`
//! and `127.0.0.1`, so only the property under test differs between cases.

mod common;

use chrono::Datelike;
use common::Run;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any server lives, whatever its test does.
const LIFETIME: Duration = Duration::from_secs(60);
/// Bound on one connection: handshake, request, answer.
const CONNECTION: Duration = Duration::from_secs(10);

/// A certificate and its private key.
struct Leaf {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// The certificates of one test.
struct Pki {
    ca_pem: String,
    /// Signed by the CA, valid from 1975 until a year from today.
    valid: Leaf,
    /// Signed by the CA, valid only during 2020.
    expired: Leaf,
    /// Signed by its own key; valid until a year from today.
    self_signed: Leaf,
}

const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

fn leaf_params() -> CertificateParams {
    let mut p = CertificateParams::new(NAMES.map(String::from).to_vec()).expect("leaf names");
    p.distinguished_name.push(DnType::CommonName, "localhost");
    let in_a_year = chrono::Utc::now().date_naive() + chrono::Days::new(365);
    p.not_after = date_time_ymd(
        in_a_year.year(),
        in_a_year.month() as u8,
        in_a_year.day() as u8,
    );
    p
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.distinguished_name
            .push(DnType::CommonName, "golive test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
        let issuer = Issuer::new(ca, ca_key);

        let signed = |params: CertificateParams| {
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, &issuer).expect("signed leaf");
            Leaf {
                cert: cert.der().clone(),
                key: key_der(&key),
            }
        };
        let valid = signed(leaf_params());
        let mut old = leaf_params();
        old.not_before = date_time_ymd(2020, 1, 1);
        old.not_after = date_time_ymd(2021, 1, 1);
        let expired = signed(old);

        let own_key = KeyPair::generate().expect("self-signed key");
        let own = leaf_params().self_signed(&own_key).expect("self-signed");
        Pki {
            ca_pem,
            valid,
            expired,
            self_signed: Leaf {
                cert: own.der().clone(),
                key: key_der(&own_key),
            },
        }
    }
}

/// A TLS server on 127.0.0.1 answering every request with 200 `{"status":"UP"}`, until
/// dropped or `LIFETIME` has passed.
struct TlsServer {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    fn start(leaf: Leaf) -> TlsServer {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert], leaf.key)
        .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("local address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let lifetime = tokio::time::sleep(LIFETIME);
                tokio::pin!(lifetime, stopped);
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = &mut lifetime => break,
                        accepted = listener.accept() => {
                            let Ok((tcp, _)) = accepted else { break };
                            let acceptor = acceptor.clone();
                            tokio::spawn(tokio::time::timeout(CONNECTION, answer(acceptor, tcp)));
                        }
                    }
                }
            });
            // Dropping the runtime ends the connections still open.
        });
        TlsServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Completes the handshake, reads a request head, answers 200 `{"status":"UP"}`. A
/// client that rejects the certificate, or only handshakes, simply ends the exchange.
async fn answer(acceptor: tokio_rustls::TlsAcceptor, tcp: tokio::net::TcpStream) {
    let Ok(mut tls) = acceptor.accept(tcp).await else {
        return;
    };
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = r#"{"status":"UP"}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

/// Like `common::run_checklist`, with `files` (name, text) written beside the checklist,
/// since `ca:` paths are relative to the checklist's folder. `PORT` in `items` (YAML list
/// entries indented by six spaces) becomes `port`.
fn run_with_files(port: u16, items: &str, files: &[(&str, &str)]) -> Run {
    let yaml = format!(
        "system: tls targets\nphases:\n  - id: tls\n    title: TLS\n    items:\n{}",
        items.replace("PORT", &port.to_string())
    );
    common::run_checklist_with(&yaml, files, &[])
}

/// Asserts a NO-GO run with results.json written and item `id` FAIL; returns the class
/// and reason of its first failure.
fn failure<'a>(run: &'a Run, id: &str) -> (&'a str, &'a str) {
    assert_eq!(run.code, 1, "exit code; stderr:\n{}", run.stderr);
    assert_eq!(run.results()["verdict"], "NO_GO");
    assert_eq!(run.outcome(id), "FAIL", "{id}: {:#}", run.item(id));
    let f = &run.item(id)["failures"][0];
    (
        f["class"].as_str().unwrap_or_default(),
        f["reason"].as_str().unwrap_or_default(),
    )
}

fn assert_go(run: &Run, ids: &[&str]) {
    assert_eq!(run.code, 0, "exit code; stderr:\n{}", run.stderr);
    assert_eq!(run.results()["verdict"], "GO");
    for id in ids {
        assert_eq!(run.outcome(id), "PASS", "{id}: {:#}", run.item(id));
    }
}

#[test]
fn a_certificate_from_the_given_ca_passes_with_its_days_to_expiry() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.valid);
    let run = run_with_files(
        server.port,
        r#"      - id: by-address
        title: Certificate trusted for 127.0.0.1, a month or more to go
        check: { kind: tls, address: "127.0.0.1:PORT", ca: ca.pem, timeout: 10s, expect: [days_to_expiry > 30] }
      - id: by-name
        title: Certificate trusted for localhost
        check: { kind: tls, address: "127.0.0.1:PORT", server_name: localhost, ca: ca.pem, timeout: 10s }
"#,
        &[("ca.pem", &pki.ca_pem)],
    );
    assert_go(&run, &["by-address", "by-name"]);
}

#[test]
fn too_few_days_to_expiry_fails_with_the_days_left() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.valid);
    let run = run_with_files(
        server.port,
        r#"      - id: long-lived
        title: More than 400 days to go
        check: { kind: tls, address: "127.0.0.1:PORT", ca: ca.pem, timeout: 10s, expect: [days_to_expiry > 400] }
"#,
        &[("ca.pem", &pki.ca_pem)],
    );
    let (class, reason) = failure(&run, "long-lived");
    assert_eq!(class, "expectation");
    // Valid until midnight UTC a year from today: 364 whole days left (363 when UTC
    // midnight passes between making the certificate and checking it).
    let days: i64 = reason
        .strip_prefix("expected days_to_expiry > 400, got ")
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("{reason}"));
    assert!((363..=364).contains(&days), "{reason}");
}

#[test]
fn an_expired_certificate_fails_as_tls() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.expired);
    let run = run_with_files(
        server.port,
        r#"      - id: expired
        title: Certificate is current
        check: { kind: tls, address: "127.0.0.1:PORT", ca: ca.pem, timeout: 10s }
"#,
        &[("ca.pem", &pki.ca_pem)],
    );
    let (class, reason) = failure(&run, "expired");
    assert_eq!(class, "tls", "{reason}");
    assert!(reason.to_lowercase().contains("expired"), "{reason}");
}

#[test]
fn a_self_signed_certificate_fails_as_tls_without_a_ca() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.self_signed);
    let run = run_with_files(
        server.port,
        r#"      - id: self-signed
        title: Certificate from a trusted issuer
        check: { kind: tls, address: "127.0.0.1:PORT", timeout: 10s }
"#,
        &[],
    );
    let (class, reason) = failure(&run, "self-signed");
    assert_eq!(class, "tls", "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
}

#[test]
fn a_certificate_for_another_name_fails_as_tls() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.valid);
    let run = run_with_files(
        server.port,
        r#"      - id: misnamed
        title: Certificate names the host
        check: { kind: tls, address: "127.0.0.1:PORT", server_name: wrong.example, ca: ca.pem, timeout: 10s }
"#,
        &[("ca.pem", &pki.ca_pem)],
    );
    let (class, reason) = failure(&run, "misnamed");
    assert_eq!(class, "tls", "{reason}");
    assert!(
        reason.contains("not valid for name") && reason.contains("wrong.example"),
        "{reason}"
    );
}

#[test]
fn https_passes_with_the_given_ca() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.valid);
    let run = run_with_files(
        server.port,
        r#"      - id: with-ca
        title: Health over https, CA given
        check:
          kind: http
          url: "https://127.0.0.1:PORT/health"
          timeout: 10s
          tls: { ca: ca.pem }
          expect: [status == 200, body.status == "UP"]
"#,
        &[("ca.pem", &pki.ca_pem)],
    );
    assert_go(&run, &["with-ca"]);
}

#[test]
fn https_without_the_ca_fails_as_tls() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.valid);
    let run = run_with_files(
        server.port,
        r#"      - id: without-ca
        title: Health over https, public roots only
        check:
          kind: http
          url: "https://127.0.0.1:PORT/health"
          timeout: 10s
          expect: [status == 200]
"#,
        &[],
    );
    let (class, reason) = failure(&run, "without-ca");
    assert_eq!(class, "tls", "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
}

#[test]
fn https_without_verification_accepts_a_self_signed_certificate() {
    let pki = Pki::new();
    let server = TlsServer::start(pki.self_signed);
    let run = run_with_files(
        server.port,
        r#"      - id: unverified
        title: Health over https, verification off
        check:
          kind: http
          url: "https://127.0.0.1:PORT/health"
          timeout: 10s
          tls: { verify: false }
          expect: [status == 200, body.status == "UP"]
"#,
        &[],
    );
    assert_go(&run, &["unverified"]);
    let samples: &Value = &run.item("unverified")["evidence"]["samples"];
    assert_eq!(samples["taken"], 1);
    assert_eq!(samples["failed"], 0);
}

/// A self-signed certificate marked as a CA, as `openssl req -x509` makes one, and its
/// PEM: the server presents it, and the checklist gives it as `ca`.
fn self_signed_ca_leaf() -> (Leaf, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = leaf_params();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params
        .self_signed(&key)
        .expect("self-signed CA certificate");
    (
        Leaf {
            cert: cert.der().clone(),
            key: key_der(&key),
        },
        cert.pem(),
    )
}

#[test]
fn a_self_signed_ca_certificate_given_as_ca_is_trusted_for_its_own_names() {
    let (leaf, pem) = self_signed_ca_leaf();
    let server = TlsServer::start(leaf);
    // webpki alone refuses it (CaUsedAsEndEntity); the exact match with the given
    // certificate is accepted, and its names are still checked.
    let run = run_with_files(
        server.port,
        r#"      - id: pinned-tls
        title: The server presents the certificate given as ca
        check: { kind: tls, address: "127.0.0.1:PORT", ca: own.pem, timeout: 10s, expect: [days_to_expiry > 30] }
      - id: pinned-https
        title: Health over https with that certificate
        check:
          kind: http
          url: "https://127.0.0.1:PORT/health"
          timeout: 10s
          tls: { ca: own.pem }
          expect: [status == 200, body.status == "UP"]
"#,
        &[("own.pem", &pem)],
    );
    assert_go(&run, &["pinned-tls", "pinned-https"]);
    drop(server);

    let (leaf, pem) = self_signed_ca_leaf();
    let server = TlsServer::start(leaf);
    let run = run_with_files(
        server.port,
        r#"      - id: pinned-misnamed
        title: The given certificate, for another name
        check: { kind: tls, address: "127.0.0.1:PORT", server_name: wrong.example, ca: own.pem, timeout: 10s }
"#,
        &[("own.pem", &pem)],
    );
    let (class, reason) = failure(&run, "pinned-misnamed");
    assert_eq!(class, "tls", "{reason}");
    assert!(reason.contains("not valid for name"), "{reason}");
}
