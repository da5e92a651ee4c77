//! Sign-off after the run, bound to its evidence: Ed25519 keys (`keys`), in-toto
//! statements in DSSE envelopes over the digest of a run's evidence (`dsse`), the
//! append-only, hash-chained ledger of them in the run folder (`ledger`), and checking a
//! run folder's ledger against its results.json and a folder of public keys (`verify`),
//! and the SLSA verification summary of a folder that verified (`vsa`).
//! The digest covers what was measured and claimed (evidence, claims, waivers), never the
//! verdict, so a sign-off says "I saw this evidence", and the verdict is judged from it.

mod dsse;
mod keys;
mod ledger;
mod verify;
mod vsa;

pub use dsse::{evidence_digest, Decision, Envelope, Predicate, Statement, PREDICATE_TYPE};
pub use keys::{generate, key_id, read_public_keys, read_signing_key, KeyError, KeyPair};
pub use ledger::{append, read_ledger, Entry, LEDGER_FILE};
pub use verify::{verify_run, Problem, Verification};
pub use vsa::{summarise, VsaPredicate, LEVEL_GO, VSA_PREDICATE_TYPE};
