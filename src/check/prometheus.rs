//! The `prometheus` kind: an instant PromQL query against an existing Prometheus (its HTTP
//! API, `GET /api/v1/query`), judged like Argo Rollouts' analysis. `value` is each
//! returned series' value, and every series must meet the expectations; `series` is how
//! many came back. A query that returns nothing is no data: the sample fails (class
//! `expectation`), it never passes. Each sample evaluates the query at its own time.

use crate::expect::{Expectation, Observe, Observed, Subject};
use crate::tally::{error_chain, Failure, FailureClass, Sample};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::borrow::Cow;
use std::time::Instant;

/// Largest answer read; a query returning more is refused as a protocol failure (narrow
/// it with an aggregation).
const MAX_ANSWER: usize = 4 << 20;

/// A validated Prometheus check.
#[derive(Debug, Clone)]
pub struct PrometheusCheck {
    /// The server's base URL (`http://prometheus:9090`, or with a path prefix).
    pub url: Template,
    pub query: Template,
    pub headers: Vec<(String, Template)>,
    pub timeout: Duration,
    pub expect: Vec<Expectation>,
}

/// A [`PrometheusCheck`] with its client built and templates rendered, ready to sample.
pub struct PrometheusProbe {
    check: PrometheusCheck,
    client: reqwest::Client,
    endpoint: reqwest::Url,
    query: String,
    headers: reqwest::header::HeaderMap,
}

/// One returned series: its labels as PromQL writes them, and its value as Prometheus
/// sends it (text: `"0.25"`, `"NaN"`, `"+Inf"`).
#[derive(Debug, Clone, PartialEq)]
struct Series {
    labels: String,
    value: String,
}

/// One series as the expectations see it.
struct Seen<'a> {
    series: &'a Series,
    count: usize,
    micros: u64,
}

impl Observe for Seen<'_> {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Value => Observed::Text(Cow::Borrowed(&self.series.value)),
            Subject::Series => Observed::Int(i64::try_from(self.count).unwrap_or(i64::MAX)),
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a prometheus check".into()),
        }
    }
}

impl PrometheusCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<PrometheusProbe, Failure> {
        let setup = |m: String| Failure::new(FailureClass::Setup, m);
        let base = self.url.render(endpoints, None);
        let endpoint = query_endpoint(&base).map_err(setup)?;
        let tls = crate::net::TlsClient::default()
            .config(&[b"http/1.1"])
            .map_err(setup)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
        let headers = super::header_map(&self.headers, endpoints)?;
        Ok(PrometheusProbe {
            check: self.clone(),
            client,
            endpoint,
            query: self.query.render(endpoints, None),
            headers,
        })
    }
}

/// `BASE/api/v1/query`, keeping a path prefix (`http://host/prometheus`).
pub fn query_endpoint(base: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(base).map_err(|e| format!("`{base}` is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{base}` is not an http:// or https:// URL"));
    }
    if url.query().is_some() {
        return Err(format!(
            "`{base}` has a query string; give the server's base URL and the PromQL in `query`"
        ));
    }
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    let mut endpoint = url;
    endpoint.set_path(&path);
    Ok(endpoint)
}

impl PrometheusProbe {
    pub async fn sample(&self) -> Sample {
        super::within(self.check.timeout, self.exchange(), || {
            self.endpoint.to_string()
        })
        .await
    }

    async fn exchange(&self) -> Sample {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut().append_pair("query", &self.query);
        let start = Instant::now();
        let response = self
            .client
            .get(url)
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(|e| {
                let class = if e.is_connect() {
                    FailureClass::Connect
                } else {
                    FailureClass::Protocol
                };
                Failure::new(
                    class,
                    format!("GET {} failed: {}", self.endpoint, error_chain(&e)),
                )
            })?;
        let status = response.status();
        let body = read_capped(response).await?;
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let series = parse_answer(status.as_u16(), &body)?;
        if series.is_empty() {
            return Err(Failure::new(
                FailureClass::Expectation,
                "the query returned no data (no series); no data is never a pass",
            ));
        }
        for s in &series {
            let seen = Seen {
                series: s,
                count: series.len(),
                micros,
            };
            for e in &self.check.expect {
                e.check(&seen).map_err(|r| {
                    Failure::new(FailureClass::Expectation, format!("{r} for {}", s.labels))
                })?;
            }
        }
        Ok(micros)
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Failure::new(
            FailureClass::Protocol,
            format!("reading the answer failed: {}", error_chain(&e)),
        )
    })? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(Failure::new(
                FailureClass::Protocol,
                format!(
                    "the answer is larger than {} MB; aggregate the query (sum, topk, count)",
                    MAX_ANSWER >> 20
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The series of an instant query's answer. An error answer (HTTP 4xx/5xx with
/// `"status": "error"`) fails with Prometheus' own message; a range vector or string
/// result is refused, since it has no single value per series.
fn parse_answer(status: u16, body: &[u8]) -> Result<Vec<Series>, Failure> {
    let protocol = |m: String| Failure::new(FailureClass::Protocol, m);
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        let class = match status {
            400..=499 => FailureClass::Status4xx,
            500..=599 => FailureClass::Status5xx,
            _ => FailureClass::Protocol,
        };
        Failure::new(
            class,
            format!("HTTP {status}, and the answer is not Prometheus JSON: {e}"),
        )
    })?;
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let error = json["error"].as_str().unwrap_or("no message");
        let class = match status {
            400..=499 => FailureClass::Setup,
            _ => FailureClass::Protocol,
        };
        return Err(Failure::new(
            class,
            format!("Prometheus answered HTTP {status}, {kind}: {error}"),
        ));
    }
    let data = &json["data"];
    let value_of = |pair: &serde_json::Value| -> Result<String, Failure> {
        pair.get(1)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| protocol(format!("a sample is not [time, \"value\"]: {pair}")))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or_else(|| protocol("a vector answer without a result list".into()))?
            .iter()
            .map(|r| {
                Ok(Series {
                    labels: labels(&r["metric"]),
                    value: value_of(&r["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Series {
            labels: "the scalar".into(),
            value: value_of(&data["result"])?,
        }]),
        other => Err(protocol(format!(
            "the query gives a {} result; an instant query needs an instant vector or a scalar (drop the range selector, or wrap it: `rate(x[5m])`)",
            other.unwrap_or("missing")
        ))),
    }
}

/// `{job="api", code="500"}` as PromQL writes a series; `{}` for an aggregate.
fn labels(metric: &serde_json::Value) -> String {
    let Some(map) = metric.as_object() else {
        return "{}".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                serde_json::Value::String(v.as_str().unwrap_or("").into())
            )
        })
        .collect();
    // `__name__` first, as Prometheus prints it.
    pairs.sort_by_key(|p| !p.starts_with("__name__="));
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_keeps_a_path_prefix_and_refuses_a_query_string() {
        assert_eq!(
            query_endpoint("http://127.0.0.1:9090").unwrap().as_str(),
            "http://127.0.0.1:9090/api/v1/query"
        );
        assert_eq!(
            query_endpoint("https://host/prometheus/").unwrap().as_str(),
            "https://host/prometheus/api/v1/query"
        );
        assert!(query_endpoint("http://h/api?x=1")
            .unwrap_err()
            .contains("query string"));
        assert!(query_endpoint("ftp://h").unwrap_err().contains("http://"));
    }

    #[test]
    fn vectors_scalars_and_errors_are_read_as_prometheus_sends_them() {
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"api"},"value":[1700000000.1,"1"]},
            {"metric":{},"value":[1700000000.1,"NaN"]}]}}"#;
        let s = parse_answer(200, vector).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels, r#"{__name__="up", job="api"}"#);
        assert_eq!(s[0].value, "1");
        assert_eq!(s[1].labels, "{}");
        assert_eq!(s[1].value, "NaN");

        let scalar =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"0.25"]}}"#;
        assert_eq!(parse_answer(200, scalar).unwrap()[0].value, "0.25");

        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_answer(200, empty).unwrap().is_empty());

        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        let e = parse_answer(200, matrix).unwrap_err();
        assert_eq!(e.class, FailureClass::Protocol);
        assert!(e.reason.contains("matrix"), "{}", e.reason);

        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        let e = parse_answer(400, bad).unwrap_err();
        assert_eq!(e.class, FailureClass::Setup);
        assert!(
            e.reason.contains("bad_data: parse error at char 4"),
            "{}",
            e.reason
        );

        let e = parse_answer(502, b"<html>bad gateway</html>").unwrap_err();
        assert_eq!(e.class, FailureClass::Status5xx);
    }
}
