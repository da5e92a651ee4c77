//! The `tls` kind: a handshake that captures the server's chain, then verifies chain and
//! host name against the trusted roots, and reads the days left before expiry. An
//! expired, self-signed or misnamed certificate fails the sample with the reason.

use crate::expect::{Expectation, Subject};
use crate::expect::{Observe, Observed};
use crate::net::{provider, AcceptAny, TlsClient};
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{ServerName, UnixTime};
use std::sync::Arc;
use std::time::Instant;

/// A validated TLS certificate check.
#[derive(Debug, Clone)]
pub struct TlsCheck {
    pub address: Template,
    pub server_name: Option<Template>,
    pub ca: TlsClient,
    pub timeout: Duration,
    pub expect: Vec<Expectation>,
}

/// A [`TlsCheck`] with its address rendered and its verifier built.
pub struct TlsProbe {
    check: TlsCheck,
    address: String,
    name: ServerName<'static>,
    capture: Arc<rustls::ClientConfig>,
    verifier: Arc<dyn ServerCertVerifier>,
}

struct Certificate {
    days_to_expiry: i64,
    micros: u64,
}

impl Observe for Certificate {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::DaysToExpiry => Observed::Int(self.days_to_expiry),
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a tls check".into()),
        }
    }
}

impl TlsCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<TlsProbe, Failure> {
        let setup = |m: String| Failure::new(FailureClass::Setup, m);
        let address = self.address.render(endpoints, None);
        let host = match &self.server_name {
            Some(n) => n.render(endpoints, None),
            None => address
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(&address)
                .trim_matches(['[', ']'])
                .to_string(),
        };
        let name = ServerName::try_from(host.clone())
            .map_err(|_| setup(format!("`{host}` is not a valid TLS server name")))?;
        let capture = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
            .with_no_client_auth();
        Ok(TlsProbe {
            check: self.clone(),
            address,
            name,
            capture: Arc::new(capture),
            verifier: self.ca.verifier().map_err(setup)?,
        })
    }
}

impl TlsProbe {
    pub async fn sample(&self) -> Result<u64, Failure> {
        let limit = self.check.timeout;
        match tokio::time::timeout(limit.as_std(), self.handshake()).await {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                FailureClass::Timeout,
                format!("no TLS handshake with {} within {limit}", self.address),
            )),
        }
    }

    async fn handshake(&self) -> Result<u64, Failure> {
        let start = Instant::now();
        let tcp = tokio::net::TcpStream::connect(self.address.as_str())
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Connect,
                    format!("cannot connect to {}: {e}", self.address),
                )
            })?;
        let stream = tokio_rustls::TlsConnector::from(self.capture.clone())
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Tls,
                    format!("TLS handshake with {} failed: {e}", self.address),
                )
            })?;
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let chain = stream
            .get_ref()
            .1
            .peer_certificates()
            .unwrap_or_default()
            .to_vec();
        let Some((end, intermediates)) = chain.split_first() else {
            return Err(Failure::new(
                FailureClass::Tls,
                "the server sent no certificate",
            ));
        };
        self.verifier
            .verify_server_cert(end, intermediates, &self.name, &[], UnixTime::now())
            .map_err(|e| Failure::new(FailureClass::Tls, format!("certificate rejected: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(end).map_err(|e| {
            Failure::new(
                FailureClass::Tls,
                format!("the certificate does not parse: {e}"),
            )
        })?;
        let not_after = cert.validity().not_after.timestamp();
        let now = chrono::Utc::now().timestamp();
        let seen = Certificate {
            days_to_expiry: (not_after - now).div_euclid(86_400),
            micros,
        };
        for e in &self.check.expect {
            e.check(&seen)
                .map_err(|r| Failure::new(FailureClass::Expectation, r))?;
        }
        Ok(micros)
    }
}
