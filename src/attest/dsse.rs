//! The attestation: an in-toto Statement v1 whose subject is the digest of a run's
//! evidence, in a DSSE envelope signed with Ed25519 over the DSSE pre-authentication
//! encoding (PAE), so the signature covers the payload type as well as the payload.

use crate::report::Report;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const PREDICATE_TYPE: &str = "https://golive.dev/attestation/signoff/v1";
/// The subject's name: the evidence part of the run's results.json.
pub const SUBJECT: &str = "results.json#evidence";

/// The SHA-256 (hex) of the canonical JSON (keys sorted, no whitespace) of every item's
/// id, claims and evidence, and the run's waivers as written. Sign-offs themselves
/// (`signed`, `rejected`) are left out: they are what the ledger adds to the evidence,
/// so signing one item does not change what the next signer signs.
pub fn evidence_digest(report: &Report) -> String {
    let items: Vec<serde_json::Value> = report
        .items()
        .map(|i| {
            let mut evidence = serde_json::to_value(&i.evidence).unwrap_or_default();
            if let Some(fields) = evidence.as_object_mut() {
                fields.remove("signed");
                fields.remove("rejected");
            }
            serde_json::json!({
                "id": i.id,
                "claims": serde_json::to_value(&i.claims).unwrap_or_default(),
                "evidence": evidence,
            })
        })
        .collect();
    let waivers: Vec<_> = report.waivers.iter().map(|w| &w.waiver).collect();
    let all = serde_json::json!({
        "items": items,
        "waivers": serde_json::to_value(waivers).unwrap_or_default(),
    });
    let mut text = String::new();
    canonical(&all, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// JSON with object keys sorted and no whitespace (whatever map order serde_json keeps).
fn canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push('{');
            for (n, k) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&fields[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (n, i) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonical(i, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// What golive says in a statement: who decided what about which item, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub item: String,
    pub role: String,
    pub signer: String,
    pub decision: Decision,
    pub reason: Option<String>,
    pub comment: Option<String>,
    /// RFC 3339, UTC.
    pub time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: std::collections::BTreeMap<String, String>,
}

/// An in-toto Statement v1; a golive sign-off unless another predicate is named (the
/// verification summary, `super::vsa`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement<P = Predicate> {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: P,
}

impl Statement {
    pub fn new(digest: &str, predicate: Predicate) -> Statement {
        Statement::about(digest, PREDICATE_TYPE, predicate)
    }
}

impl<P> Statement<P> {
    /// A statement of `predicate_type` whose subject is the run's evidence record with
    /// `digest`, the subject every golive attestation about a run shares.
    pub fn about(digest: &str, predicate_type: &str, predicate: P) -> Statement<P> {
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: SUBJECT.into(),
                digest: [("sha256".to_string(), digest.to_string())].into(),
            }],
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The evidence digest this statement is about.
    pub fn digest(&self) -> Option<&str> {
        self.subject
            .iter()
            .find(|s| s.name == SUBJECT)
            .and_then(|s| s.digest.get("sha256"))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// Base64.
    pub sig: String,
}

/// A DSSE envelope; `signatures` is empty for an unsigned sign-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    /// Base64 of the statement's JSON.
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// DSSE's pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body.
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl Envelope {
    /// `statement` in an envelope, signed with `key` when given.
    pub fn seal<P: Serialize>(statement: &Statement<P>, key: Option<&SigningKey>) -> Envelope {
        let body = serde_json::to_vec(statement).unwrap_or_default();
        let signatures = key
            .map(|k| EnvelopeSignature {
                keyid: super::key_id(&k.verifying_key()),
                sig: B64.encode(k.sign(&pae(PAYLOAD_TYPE, &body)).to_bytes()),
            })
            .into_iter()
            .collect();
        Envelope {
            payload_type: PAYLOAD_TYPE.into(),
            payload: B64.encode(body),
            signatures,
        }
    }

    /// The statement inside, or why it cannot be read.
    pub fn statement(&self) -> Result<Statement, String> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(format!(
                "payloadType is `{}`, not `{PAYLOAD_TYPE}`",
                self.payload_type
            ));
        }
        let body = B64
            .decode(&self.payload)
            .map_err(|e| format!("payload is not base64: {e}"))?;
        let s: Statement = serde_json::from_slice(&body)
            .map_err(|e| format!("payload is not a golive statement: {e}"))?;
        if s.type_ != STATEMENT_TYPE || s.predicate_type != PREDICATE_TYPE {
            return Err(format!(
                "statement of type `{}` / `{}`, not a golive sign-off",
                s.type_, s.predicate_type
            ));
        }
        Ok(s)
    }

    /// Whether signature `sig` verifies under `key`.
    pub fn verifies(&self, sig: &EnvelopeSignature, key: &VerifyingKey) -> bool {
        let (Ok(body), Ok(raw)) = (B64.decode(&self.payload), B64.decode(&sig.sig)) else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&raw) else {
            return false;
        };
        key.verify_strict(&pae(&self.payload_type, &body), &signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_dsse_encoding() {
        // The example of the DSSE specification (protocol.md).
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn a_sealed_statement_verifies_and_a_changed_one_does_not() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let statement = Statement::new(
            "ab",
            Predicate {
                item: "qa".into(),
                role: "QA lead".into(),
                signer: "Ada".into(),
                decision: Decision::Approve,
                reason: None,
                comment: None,
                time: "2026-01-01T00:00:00Z".into(),
            },
        );
        let mut env = Envelope::seal(&statement, Some(&key));
        assert_eq!(env.statement().unwrap(), statement);
        let sig = env.signatures[0].clone();
        assert!(env.verifies(&sig, &key.verifying_key()));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(!env.verifies(&sig, &other.verifying_key()));
        let mut changed = statement.clone();
        changed.predicate.decision = Decision::Reject;
        env.payload = B64.encode(serde_json::to_vec(&changed).unwrap());
        assert!(!env.verifies(&sig, &key.verifying_key()));
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v = serde_json::json!({"b": [1, {"d": 2, "c": "x"}], "a": null});
        let mut s = String::new();
        canonical(&v, &mut s);
        assert_eq!(s, r#"{"a":null,"b":[1,{"c":"x","d":2}]}"#);
    }
}
