//! containers-policy.json(5) for pulls: `insecureAcceptAnything` passes,
//! `reject` refuses, and signature requirements (`signedBy`,
//! `sigstoreSigned`) fail closed, since the fetcher cannot verify
//! signatures yet. Never a silent pass for something the policy protects.

use std::path::{Path, PathBuf};

use common::policy::{Policy, Requirement};

use crate::error::FetchError;
use crate::reference::ImageRef;

/// The transport and scope policy.json keys an image by.
fn transport_and_scope(r: &ImageRef) -> (&'static str, String) {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    match r {
        ImageRef::Docker(d) => ("docker", d.to_string()),
        ImageRef::Oci { path, image } => ("oci", with_image(abs(path), image)),
        ImageRef::OciArchive { path, image } => ("oci-archive", with_image(abs(path), image)),
        ImageRef::DockerArchive { path, image } => ("docker-archive", with_image(abs(path), image)),
        ImageRef::Dir { path } => ("dir", abs(path)),
    }
}

fn with_image(path: String, image: &Option<String>) -> String {
    match image {
        Some(i) => format!("{path}:{i}"),
        None => path,
    }
}

/// Refuse `r` unless the policy (`file`, or the default path) accepts it.
pub fn check(r: &ImageRef, file: Option<&Path>) -> Result<(), FetchError> {
    let path: PathBuf = file
        .map(Path::to_path_buf)
        .unwrap_or_else(Policy::default_path);
    let policy =
        Policy::load(&path).map_err(|e| FetchError::Config(format!("signature policy: {e}")))?;
    let (transport, scope) = transport_and_scope(r);
    let shown = policy.file.as_ref().map_or_else(
        || "built-in default".to_string(),
        |f| f.display().to_string(),
    );
    let refuse = |detail: &str| FetchError::Policy {
        reference: format!("{transport}:{scope}"),
        detail: detail.to_string(),
        file: shown.clone(),
    };
    let reqs = policy.requirements_for(transport, &scope);
    if reqs.is_empty() {
        return Err(refuse("no requirement applies (an empty list rejects)"));
    }
    for req in reqs {
        match req {
            Requirement::InsecureAcceptAnything => {}
            Requirement::Reject => return Err(refuse("rejected by policy")),
            Requirement::SignedBy { .. } | Requirement::SigstoreSigned { .. } => {
                return Err(refuse("the policy requires a signature, which image-fetcher cannot verify yet; pull with a verifying tool or relax the policy for this scope"))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_and_signatures_refuse_accept_passes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.json");
        std::fs::write(
            &p,
            r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"bad.io":[{"type":"reject"}],"signed.io/x":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}}}"#,
        )
        .unwrap();
        let r = |s: &str| ImageRef::parse(s).unwrap();
        assert!(check(&r("good.io/x:1"), Some(&p)).is_ok());
        let e = check(&r("bad.io/x:1"), Some(&p)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "source image rejected: docker:bad.io/x:1: rejected by policy (policy {})",
                p.display()
            )
        );
        assert_eq!(
            proto::HelperError::code(&e),
            proto::ErrorCode::FailedPrecondition
        );
        assert!(check(&r("signed.io/x:1"), Some(&p))
            .unwrap_err()
            .to_string()
            .contains("cannot verify"));
        assert!(check(&r("signed.io/y:1"), Some(&p)).is_ok());
        // No file: the built-in default accepts anything.
        assert!(check(&r("bad.io/x:1"), Some(&d.path().join("none.json"))).is_ok());
    }
}
