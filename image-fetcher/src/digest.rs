//! `sha256:<hex>` digests: validation (so a digest is safe as a file name)
//! and hashing.

use sha2::{Digest as _, Sha256};

/// The hex part of a valid `sha256:<64 lowercase hex>` digest.
pub fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// Why `digest` is not usable, or `None` when it is a valid sha256 digest.
pub fn problem(digest: &str) -> Option<String> {
    if sha256_hex(digest).is_some() {
        return None;
    }
    Some(match digest.split_once(':') {
        Some((alg, _)) if alg != "sha256" => {
            format!("digest {digest:?} uses algorithm {alg:?}; only sha256 is supported")
        }
        _ => format!("digest {digest:?} is not sha256:<64 lowercase hex digits>"),
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Incremental sha256.
#[derive(Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Hasher {
        Hasher(Sha256::new())
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> String {
        format!("sha256:{:x}", self.0.finalize())
    }
}

/// Hash a whole file with a 1 MiB buffer (blocking). Returns digest and size.
pub fn hash_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let r = f.read(&mut buf)?;
        if r == 0 {
            break;
        }
        h.update(&buf[..r]);
        n += r as u64;
    }
    Ok((h.finish(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_validate() {
        let d = sha256_of(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(sha256_hex(&d).is_some());
        assert!(problem(&d).is_none());
        assert!(problem("sha512:abcd").unwrap().contains("only sha256"));
        assert!(problem(&format!("sha256:{}", "A".repeat(64))).is_some());
        assert!(problem("sha256:../../etc").is_some());
        let mut h = Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), sha256_of(b"abc"));
    }
}
