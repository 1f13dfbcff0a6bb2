//! What the fetcher can see on this host: CA bundles and certs.d directories.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// CA bundle files the usual distributions ship, in the order Go's crypto/x509 tries them.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Per-registry certificate directories (containers-certs.d(5)).
const CERT_DIR_ROOTS: &[&str] = &["/etc/containers/certs.d", "/etc/docker/certs.d"];

#[derive(Debug, Serialize)]
pub struct HostInfo {
    pub sources: Vec<String>,
    pub certificate_count: u32,
    pub cert_dirs: Vec<String>,
}

pub fn gather() -> HostInfo {
    let mut sources = Vec::new();
    let mut count = 0u32;
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(f) = std::env::var_os("SSL_CERT_FILE") {
        candidates.push(PathBuf::from(f));
    } else {
        // The first bundle that exists is the system store; the rest are usually copies.
        if let Some(b) = BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file()) {
            candidates.push(b);
        }
    }
    for f in &candidates {
        if let Ok(n) = count_pem(f) {
            count += n;
            sources.push(f.display().to_string());
        }
    }
    // A hashed certificate directory usually repeats the bundle: use it only
    // when there is no bundle.
    if let Some(d) = std::env::var_os("SSL_CERT_DIR").filter(|_| count == 0) {
        for dir in std::env::split_paths(&d) {
            let n = count_dir(&dir);
            if n > 0 {
                count += n;
                sources.push(dir.display().to_string());
            }
        }
    }
    let mut cert_dirs = Vec::new();
    for root in CERT_DIR_ROOTS {
        if let Ok(rd) = std::fs::read_dir(root) {
            let mut v: Vec<String> = rd
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.path().display().to_string())
                .collect();
            v.sort();
            cert_dirs.extend(v);
        }
    }
    HostInfo {
        sources,
        certificate_count: count,
        cert_dirs,
    }
}

fn count_pem(path: &Path) -> std::io::Result<u32> {
    let text = std::fs::read(path)?;
    let needle = b"-----BEGIN CERTIFICATE-----";
    Ok(text.windows(needle.len()).filter(|w| *w == needle).count() as u32)
}

fn count_dir(dir: &Path) -> u32 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
        .filter_map(|p| count_pem(&p).ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_certificates_are_counted() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.pem");
        std::fs::write(&p, "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBB\n-----END CERTIFICATE-----\n").unwrap();
        assert_eq!(count_pem(&p).unwrap(), 2);
        assert_eq!(count_dir(d.path()), 2);
    }
}
