//! The `tcp` kind: a connect per sample; latency is the connect time.

use crate::expect::{Expectation, Subject};
use crate::expect::{Observe, Observed};
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::time::Instant;

/// A validated TCP check.
#[derive(Debug, Clone)]
pub struct TcpCheck {
    pub address: Template,
    pub timeout: Duration,
    pub expect: Vec<Expectation>,
}

/// A [`TcpCheck`] with its address rendered.
pub struct TcpProbe {
    check: TcpCheck,
    address: String,
}

struct Connected {
    micros: u64,
}

impl Observe for Connected {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a tcp check".into()),
        }
    }
}

impl TcpCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<TcpProbe, Failure> {
        Ok(TcpProbe {
            check: self.clone(),
            address: self.address.render(endpoints, None),
        })
    }
}

impl TcpProbe {
    pub async fn sample(&self) -> Result<u64, Failure> {
        let start = Instant::now();
        let connect = tokio::net::TcpStream::connect(self.address.as_str());
        match tokio::time::timeout(self.check.timeout.as_std(), connect).await {
            Err(_) => Err(Failure::new(
                FailureClass::Timeout,
                format!(
                    "no connection to {} within {}",
                    self.address, self.check.timeout
                ),
            )),
            Ok(Err(e)) => Err(Failure::new(
                FailureClass::Connect,
                format!("cannot connect to {}: {e}", self.address),
            )),
            Ok(Ok(_stream)) => {
                let seen = Connected {
                    micros: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
                };
                for e in &self.check.expect {
                    e.check(&seen)
                        .map_err(|r| Failure::new(FailureClass::Expectation, r))?;
                }
                Ok(seen.micros)
            }
        }
    }
}
