//! Ed25519 keys as golive writes them: one line of text each, a tag then 64 hex digits,
//! so a public key given where the private one is expected is refused by name, and a key
//! id (SHA-256 of the 32 public-key bytes, hex) names a key in ledgers and reports.

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PRIVATE_TAG: &str = "golive-ed25519-private";
const PUBLIC_TAG: &str = "golive-ed25519-public";

/// A key file that could not be used, with the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: cannot write: {source}")]
    Write {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not a golive {what} key: {why}")]
    NotAKey {
        file: PathBuf,
        what: &'static str,
        why: String,
    },
}

/// The files `golive keygen` wrote.
pub struct KeyPair {
    pub private: PathBuf,
    pub public: PathBuf,
    pub key_id: String,
}

/// The id of a public key: SHA-256 of its 32 bytes, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Makes a key pair in `dir` as `NAME.key` (mode 0600) and `NAME.pub`; refuses to
/// overwrite either.
pub fn generate(dir: &Path, name: &str) -> Result<KeyPair, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Write {
        file: dir.to_path_buf(),
        source: std::io::Error::other(format!("no randomness for a key: {e}")),
    })?;
    let key = SigningKey::from_bytes(&seed);
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        file: dir.to_path_buf(),
        source,
    })?;
    write_new(
        &private,
        &format!("{PRIVATE_TAG} {}\n", hex::encode(seed)),
        0o600,
    )?;
    let verifying = key.verifying_key();
    write_new(
        &public,
        &format!("{PUBLIC_TAG} {}\n", hex::encode(verifying.as_bytes())),
        0o644,
    )?;
    Ok(KeyPair {
        private,
        public,
        key_id: key_id(&verifying),
    })
}

/// Creates `path` with `mode` (never widening an existing file: it must not exist).
fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| KeyError::Write {
        file: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

/// The 32 bytes after `tag` in `file`'s text.
fn parse(file: &Path, tag: &str, what: &'static str) -> Result<[u8; 32], KeyError> {
    let not = |why: String| KeyError::NotAKey {
        file: file.to_path_buf(),
        what,
        why,
    };
    let meta = std::fs::metadata(file).map_err(|source| KeyError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    if meta.len() > 4096 {
        return Err(not(format!("{} bytes; a key file is one line", meta.len())));
    }
    let text = std::fs::read_to_string(file).map_err(|source| KeyError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let Some(hex_part) = text.trim().strip_prefix(tag) else {
        return Err(not(format!(
            "it does not start with `{tag}` (the file `golive keygen` writes)"
        )));
    };
    let bytes = hex::decode(hex_part.trim()).map_err(|e| not(format!("bad hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| not(format!("{} bytes where an Ed25519 key has 32", b.len())))
}

/// Reads a private key written by `golive keygen`.
pub fn read_signing_key(file: &Path) -> Result<SigningKey, KeyError> {
    parse(file, PRIVATE_TAG, "private").map(|seed| SigningKey::from_bytes(&seed))
}

/// Reads every `*.pub` in `dir`, by key id.
pub fn read_public_keys(dir: &Path) -> Result<BTreeMap<String, VerifyingKey>, KeyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| KeyError::Read {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut keys = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "pub") {
            let bytes = parse(&path, PUBLIC_TAG, "public")?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|e| KeyError::NotAKey {
                file: path.clone(),
                what: "public",
                why: e.to_string(),
            })?;
            keys.insert(key_id(&key), key);
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_pair_reads_back_and_the_private_key_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let pair = generate(tmp.path(), "qa").unwrap();
        let mode = std::fs::metadata(&pair.private)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let key = read_signing_key(&pair.private).unwrap();
        let public = read_public_keys(tmp.path()).unwrap();
        assert_eq!(public.get(&pair.key_id), Some(&key.verifying_key()));
        let e = read_signing_key(&pair.public).unwrap_err().to_string();
        assert!(e.contains("qa.pub: not a golive private key"), "{e}");
        assert!(
            generate(tmp.path(), "qa").is_err(),
            "never overwrites a key"
        );
    }
}
