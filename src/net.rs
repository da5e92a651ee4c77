//! Networking shared by the probes, the load engine, readiness waits and the metrics
//! push: TLS client settings (which roots to trust, the Mozilla set plus an optional CA
//! file, and whether to verify at all), connecting over TCP or TLS, and the host a URL
//! names. A leaf, so no runtime module reaches into another for its plumbing.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

/// Validated TLS client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClient {
    /// Verify the chain and the name (default). Off is for self-signed test targets.
    pub verify: bool,
    /// Extra trusted CA certificates (PEM), resolved against the checklist's folder.
    pub ca: Option<PathBuf>,
}

impl Default for TlsClient {
    fn default() -> Self {
        TlsClient {
            verify: true,
            ca: None,
        }
    }
}

/// ring, chosen explicitly so that no other crate's provider choice can change it.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsClient {
    /// The trusted roots: Mozilla's set plus the CA file's certificates.
    pub fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in self.ca_certs()? {
            roots.add(cert).map_err(|e| {
                format!(
                    "a certificate in {} is not usable as a CA: {e}",
                    self.ca
                        .as_deref()
                        .unwrap_or(std::path::Path::new(""))
                        .display()
                )
            })?;
        }
        Ok(roots)
    }

    /// The certificates of the CA file; none without one.
    fn ca_certs(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        let mut out = Vec::new();
        if let Some(path) = &self.ca {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("the CA file {} is not valid PEM: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "the CA file {} holds no certificate",
                    path.display()
                ));
            }
            out = certs;
        }
        Ok(out)
    }

    /// A rustls client configuration with these settings and the given ALPN protocols.
    pub fn config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        let mut config = if self.verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(self.verifier()?)
                .with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
                .with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A verifier that checks chain and name against these roots (for the tls kind and
    /// every client), and that also accepts a server presenting exactly a certificate of
    /// the CA file: a self-signed certificate made with `openssl req -x509` is marked as
    /// a CA, and webpki refuses a CA as an end entity (`CaUsedAsEndEntity`) even when it
    /// is the very certificate the user said to trust.
    pub fn verifier(&self) -> Result<Arc<dyn ServerCertVerifier>, String> {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider())
                .build()
                .map_err(|e| format!("TLS setup failed: {e}"))?;
        Ok(Arc::new(PinnedOrWebPki {
            webpki,
            pinned: self.ca_certs()?,
        }))
    }
}

/// Chain verification by webpki, or an exact match with a given certificate (still
/// checked for the server's name and its validity period).
#[derive(Debug)]
struct PinnedOrWebPki {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chained =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if chained.is_ok()
            || !self
                .pinned
                .iter()
                .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return chained;
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let (_, cert) = x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        let at = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if at < cert.validity().not_before.timestamp() {
            return Err(rustls::CertificateError::NotValidYet.into());
        }
        if at > cert.validity().not_after.timestamp() {
            return Err(rustls::CertificateError::Expired.into());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Accepts any certificate while still checking handshake signatures; used when
/// `verify: false`, and by the tls kind to capture a chain it then verifies itself.
#[derive(Debug)]
pub struct AcceptAny(pub Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Any byte stream a connection runs over (plain TCP or TLS).
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A TLS client configuration and the name the server's certificate must carry.
pub type TlsTarget = (Arc<rustls::ClientConfig>, ServerName<'static>);

/// Connects to `host:port` (no Nagle delay) and, with `tls`, completes the handshake;
/// failures are classed `connect` or `tls`. Shared by the websocket kind and the load
/// engine's connections.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<&TlsTarget>,
) -> Result<Box<dyn Io>, crate::tally::Failure> {
    use crate::tally::{Failure, FailureClass};
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| {
            Failure::new(
                FailureClass::Connect,
                format!("cannot connect to {host}:{port}: {e}"),
            )
        })?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::new(tcp)),
        Some((config, name)) => {
            let stream = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| {
                    Failure::new(
                        FailureClass::Tls,
                        format!("TLS handshake with {host} failed: {e}"),
                    )
                })?;
            Ok(Box::new(stream))
        }
    }
}

/// The host `url` names, without the brackets of an IPv6 literal (`[::1]` → `::1`), as
/// sockets and TLS server names want it; `None` when the URL has no host.
pub fn host(url: &url::Url) -> Option<String> {
    url.host_str()
        .map(|h| h.trim_matches(['[', ']']).to_string())
}

/// A short reason for a TLS error, found anywhere in an error's chain. An `io::Error`
/// that wraps another error is followed into what it wraps: its `source()` skips the
/// wrapped error itself, and hyper-rustls nests the `rustls::Error` two wrappers deep.
pub fn tls_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(format!("TLS: {r}"));
        }
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}
