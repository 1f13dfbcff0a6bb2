//! `--tls-cert`/`--tls-key`/`--tls-client-ca`: the service speaks HTTPS on
//! whatever it listens on, as Podman's does, and with a client CA it takes
//! only clients whose certificate that CA signed.

use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The PEM files `podman system service` was given.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub cert: String,
    pub key: String,
    pub client_ca: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Go's words for a file that cannot be opened.
    #[error("open {path}: {why}")]
    Open { path: String, why: String },
    #[error("{path}: {why}")]
    Pem { path: String, why: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("--tls-client-ca {path}: {why}")]
    ClientCa { path: String, why: String },
}

fn read(path: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Open {
        path: path.to_string(),
        why: match e.raw_os_error() {
            Some(n) => crate::error::go_errno_text(nix::errno::Errno::from_raw(n)),
            None => e.to_string(),
        },
    })
}

/// The labels of the PEM blocks in `pem` (`-----BEGIN LABEL-----`), in
/// order: what Go's tls.X509KeyPair and Podman's CA loader name in their
/// errors.
fn pem_labels(pem: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(pem)
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")
                .and_then(|r| r.strip_suffix("-----"))
                .map(String::from)
        })
        .collect()
}

/// Go's tls.X509KeyPair words for a certificate file without one.
fn no_certificate(path: &str, labels: &[String]) -> TlsError {
    let why = if labels.is_empty() {
        "tls: failed to find any PEM data in certificate input".to_string()
    } else if labels.iter().all(|l| l.ends_with("PRIVATE KEY")) {
        "tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched".to_string()
    } else {
        format!(
            "tls: failed to find \"CERTIFICATE\" PEM block in certificate input after skipping PEM blocks of the following types: [{}]",
            labels.join(" ")
        )
    };
    TlsError::Pem {
        path: path.to_string(),
        why,
    }
}

/// Go's tls.X509KeyPair words for a key file without one.
fn no_key(path: &str, labels: &[String]) -> TlsError {
    let why = if labels.is_empty() {
        "tls: failed to find any PEM data in key input".to_string()
    } else if labels.iter().all(|l| l == "CERTIFICATE") {
        "tls: found a certificate rather than a key in the PEM for the private key".to_string()
    } else {
        format!(
            "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input after skipping PEM blocks of the following types: [{}]",
            labels.join(" ")
        )
    };
    TlsError::Pem {
        path: path.to_string(),
        why,
    }
}

fn certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_string(),
            why: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(no_certificate(path, &pem_labels(&pem)));
    }
    Ok(certs)
}

/// The client CA file, checked as Podman checks it: PEM blocks only, each
/// a certificate.
fn client_ca_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let labels = pem_labels(&pem);
    if labels.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_string(),
            why: "non-PEM data found".into(),
        });
    }
    if let Some(other) = labels.iter().find(|l| *l != "CERTIFICATE") {
        return Err(TlsError::Pem {
            path: path.to_string(),
            why: format!("non-certificate type `{other}` PEM data found"),
        });
    }
    certs(path)
}

/// The remote client's side: trust `ca` (else the system's roots) and,
/// for mutual TLS, present `cert` with `key`.
pub fn client_config(
    ca: Option<&str>,
    cert_key: Option<(&str, &str)>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";
    let mut roots = rustls::RootCertStore::empty();
    let ca_path = ca.unwrap_or(SYSTEM_ROOTS);
    for c in certs(ca_path)? {
        roots.add(c).map_err(|e| TlsError::Pem {
            path: ca_path.to_string(),
            why: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut cfg = match cert_key {
        Some((cert, key)) => builder.with_client_auth_cert(certs(cert)?, private_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

fn private_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let key_pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        tokio_rustls::rustls::pki_types::pem::Error::NoItemsFound => {
            no_key(path, &pem_labels(&key_pem))
        }
        e => TlsError::Pem {
            path: path.to_string(),
            why: e.to_string(),
        },
    })
}

/// Load and check every file before anything listens.
pub fn server_config(f: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certs(&f.cert)?;
    let key = private_key(&f.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &f.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in client_ca_certs(ca)? {
                roots.add(c).map_err(|e| TlsError::ClientCa {
                    path: ca.clone(),
                    why: e.to_string(),
                })?;
            }
            tracing::debug!("will validate client certs against {ca}");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| TlsError::ClientCa {
                path: ca.clone(),
                why: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    tracing::debug!("serving TLS with cert {} and key {}", f.cert, f.key);
    Ok(Arc::new(cfg))
}
