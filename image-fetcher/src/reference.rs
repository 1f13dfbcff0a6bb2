//! Transport-prefixed image references, as containers-transports(5) spells
//! them: `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` (a bare `HOST/REPO:TAG`
//! means docker://), `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
//! `docker-archive:FILE[:REF]`, `dir:DIR`.
//!
//! The fetcher only takes fully qualified names: short names are resolved
//! by podman (registries.conf aliases and search, with its prompts).

use std::fmt;
use std::path::PathBuf;

use crate::error::FetchError;

/// The registry Docker Hub names are written with, and the host its API is on.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Docker(DockerRef),
    /// An OCI layout directory; `image` is a ref name, `@N` or a digest.
    Oci {
        path: PathBuf,
        image: Option<String>,
    },
    /// A tar of an OCI layout.
    OciArchive {
        path: PathBuf,
        image: Option<String>,
    },
    /// `docker save` output; `image` is a RepoTag or `@N`.
    DockerArchive {
        path: PathBuf,
        image: Option<String>,
    },
    /// skopeo's `dir:` format: manifest.json and blobs named by hex digest.
    Dir {
        path: PathBuf,
    },
}

/// A registry reference: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRef {
    /// host[:port] as written (`docker.io` for Docker Hub).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(input: &str) -> Result<ImageRef, FetchError> {
        let bad = |reason: &str| FetchError::InvalidReference {
            reference: input.to_string(),
            reason: reason.to_string(),
        };
        let path_and_image =
            |rest: &str, what: &str| -> Result<(PathBuf, Option<String>), FetchError> {
                // Like containers/image: the path ends at the first ':'.
                let (path, image) = match rest.split_once(':') {
                    Some((p, i)) => (p, (!i.is_empty()).then(|| i.to_string())),
                    None => (rest, None),
                };
                if path.is_empty() {
                    return Err(bad(&format!("no {what} path")));
                }
                Ok((PathBuf::from(path), image))
            };
        if let Some(rest) = input.strip_prefix("docker://") {
            return DockerRef::parse(rest)
                .map(ImageRef::Docker)
                .map_err(|reason| bad(&reason));
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, image) = path_and_image(rest, "directory")?;
            return Ok(ImageRef::Oci { path, image });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (path, image) = path_and_image(rest, "archive")?;
            return Ok(ImageRef::OciArchive { path, image });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            // RepoTags contain ':' themselves (busybox:latest): split at the first one only.
            let (path, image) = path_and_image(rest, "archive")?;
            return Ok(ImageRef::DockerArchive { path, image });
        }
        if let Some(rest) = input.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(bad("no directory path"));
            }
            return Ok(ImageRef::Dir {
                path: PathBuf::from(rest),
            });
        }
        if let Some((transport, _)) = input.split_once(':') {
            if ["containers-storage", "docker-daemon", "sif", "tarball"].contains(&transport) {
                return Err(bad(&format!(
                    "the {transport} transport is not handled by the fetcher"
                )));
            }
        }
        if input.contains("://") {
            return Err(bad(
                "unknown transport; use docker://, oci:, oci-archive:, docker-archive: or dir:",
            ));
        }
        DockerRef::parse(input)
            .map(ImageRef::Docker)
            .map_err(|reason| bad(&reason))
    }

    /// The name written to index.json: the reference without its transport.
    pub fn ref_name(&self) -> String {
        match self {
            ImageRef::Docker(d) => d.to_string(),
            ImageRef::Oci { path, image }
            | ImageRef::OciArchive { path, image }
            | ImageRef::DockerArchive { path, image } => match image {
                Some(i) => format!("{}:{i}", path.display()),
                None => path.display().to_string(),
            },
            ImageRef::Dir { path } => path.display().to_string(),
        }
    }
}

impl DockerRef {
    /// Parse `host[:port]/repo[:tag][@digest]` (no transport).
    pub fn parse(s: &str) -> Result<DockerRef, String> {
        if s.is_empty() {
            return Err("empty reference".into());
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                if let Some(p) = crate::digest::problem(d) {
                    return Err(p);
                }
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/');
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if last_slash.is_none_or(|sl| i > sl) => {
                (&name_tag[..i], Some(name_tag[i + 1..].to_string()))
            }
            _ => (name_tag, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err(format!("tag {t:?} must be 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"));
            }
        }
        let Some((registry, path)) = name.split_once('/') else {
            return Err(format!("{name:?} is not fully qualified: name the registry, e.g. docker.io/library/{name} (podman resolves short names)"));
        };
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(format!("{name:?} is not fully qualified: the first component {registry:?} is not a registry host (podman resolves short names)"));
        }
        if !valid_host(registry) {
            return Err(format!("registry {registry:?} is not a valid host[:port]"));
        }
        let mut repository = path.to_string();
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        if let Some(c) = repository.split('/').find(|c| !valid_component(c)) {
            return Err(format!("repository component {c:?} must be lowercase letters and digits separated by '.', '_', '__' or '-'"));
        }
        if registry.len() + 1 + repository.len() > 255 {
            return Err("repository name is longer than 255 characters".into());
        }
        Ok(DockerRef {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the manifests endpoint for: the digest if any, else the tag (default latest).
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The same repository under another registry/path prefix (a mirror or
    /// a registries.conf `location`): `prefix` replaced by `location`.
    pub fn rebased(&self, prefix: &str, location: &str) -> Option<DockerRef> {
        let full = self.name();
        let rest = if prefix.starts_with("*.") {
            full.split_once('/').map(|(_, r)| format!("/{r}"))?
        } else {
            full.strip_prefix(prefix)?.to_string()
        };
        let new_name = format!("{}{rest}", location.trim_end_matches('/'));
        let (registry, repository) = new_name.split_once('/')?;
        Some(DockerRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        })
    }

    /// The host the registry API is served on (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB || self.registry == "index.docker.io" {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for DockerRef {
    /// `registry/repo:tag`, `registry/repo@digest` or both; `:latest` when neither is given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => write!(f, ":{t}@{d}"),
            (Some(t), None) => write!(f, ":{t}"),
            (None, Some(d)) => write!(f, "@{d}"),
            (None, None) => write!(f, ":latest"),
        }
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn valid_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || h.starts_with('[') => (host, Some(port)),
        _ => (h, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()));
    let host_ok = if host.starts_with('[') {
        host.ends_with(']') && host.len() > 2
    } else {
        !host.is_empty()
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    };
    port_ok && host_ok
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok || i == b.len() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(s: &str) -> DockerRef {
        match ImageRef::parse(s).unwrap() {
            ImageRef::Docker(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn docker_references_parse() {
        let d = docker("docker://127.0.0.1:5000/bb:latest");
        assert_eq!(
            (d.registry.as_str(), d.repository.as_str(), d.tag.as_deref()),
            ("127.0.0.1:5000", "bb", Some("latest"))
        );
        assert_eq!(d.to_string(), "127.0.0.1:5000/bb:latest");
        let d = docker("127.0.0.1:5000/a/b/c");
        assert_eq!(d.tag, None);
        assert_eq!(d.manifest_reference(), "latest");
        assert_eq!(d.to_string(), "127.0.0.1:5000/a/b/c:latest");
        let dg = format!("sha256:{}", "a".repeat(64));
        let d = docker(&format!("quay.io/x/y@{dg}"));
        assert_eq!(d.digest.as_deref(), Some(dg.as_str()));
        assert_eq!(d.manifest_reference(), dg);
        assert_eq!(d.to_string(), format!("quay.io/x/y@{dg}"));
        let d = docker(&format!("localhost/y:v1@{dg}"));
        assert_eq!(d.to_string(), format!("localhost/y:v1@{dg}"));
        assert_eq!(d.manifest_reference(), dg);
        let d = docker("docker.io/busybox");
        assert_eq!(d.repository, "library/busybox");
        assert_eq!(d.api_host(), "registry-1.docker.io");
        assert_eq!(d.to_string(), "docker.io/library/busybox:latest");
        let d = docker("[::1]:5000/x:1");
        assert_eq!(d.registry, "[::1]:5000");
    }

    #[test]
    fn bad_docker_references_say_why() {
        for (input, want) in [
            ("busybox", "not fully qualified"),
            ("library/busybox:latest", "not a registry host"),
            ("quay.io/Upper/x", "lowercase"),
            ("quay.io/x:-bad", "tag"),
            ("quay.io/x@sha256:abc", "64 lowercase hex"),
            ("quay.io/x@sha512:abc", "only sha256"),
            ("quay.io/x__-y", "lowercase"),
            ("ftp://quay.io/x", "unknown transport"),
            ("containers-storage:x", "not handled"),
            ("", "empty"),
        ] {
            let e = ImageRef::parse(input).unwrap_err().to_string();
            assert!(e.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn local_transports_parse() {
        assert_eq!(
            ImageRef::parse("oci:/tmp/l:v1").unwrap(),
            ImageRef::Oci {
                path: "/tmp/l".into(),
                image: Some("v1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("oci:/tmp/l").unwrap(),
            ImageRef::Oci {
                path: "/tmp/l".into(),
                image: None
            }
        );
        assert_eq!(
            ImageRef::parse("oci-archive:/a.tar:x").unwrap(),
            ImageRef::OciArchive {
                path: "/a.tar".into(),
                image: Some("x".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:/a.tar:busybox:latest").unwrap(),
            ImageRef::DockerArchive {
                path: "/a.tar".into(),
                image: Some("busybox:latest".into())
            }
        );
        assert_eq!(
            ImageRef::parse("dir:/d").unwrap(),
            ImageRef::Dir { path: "/d".into() }
        );
        assert_eq!(
            ImageRef::parse("oci:/tmp/l:v1").unwrap().ref_name(),
            "/tmp/l:v1"
        );
        assert!(ImageRef::parse("oci:").is_err());
    }

    #[test]
    fn rebasing_onto_mirrors_and_locations() {
        let d = docker("example.com/foo/img:1");
        let m = d
            .rebased("example.com/foo", "mirror.local:5000/cache")
            .unwrap();
        assert_eq!(m.to_string(), "mirror.local:5000/cache/img:1");
        let m = d.rebased("example.com", "127.0.0.1:5000").unwrap();
        assert_eq!(m.to_string(), "127.0.0.1:5000/foo/img:1");
        let w = docker("a.example.com/x:1")
            .rebased("*.example.com", "m.local")
            .unwrap();
        assert_eq!(w.to_string(), "m.local/x:1");
    }

    #[test]
    fn repository_components() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "0"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a._b", "a___b", "a.", ".a"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn registry() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("docker.io".to_string()),
            Just("localhost".to_string()),
            "[a-z0-9]{1,8}(\\.[a-z0-9-]{0,6}[a-z0-9]){1,2}(:[0-9]{1,5})?",
            "localhost:[0-9]{1,5}",
        ]
    }

    fn repository() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z0-9]{1,6}((\\.|_|__|-{1,2})[a-z0-9]{1,6}){0,2}", 1..4)
            .prop_map(|c| c.join("/"))
    }

    fn docker_ref() -> impl Strategy<Value = DockerRef> {
        (
            registry(),
            repository(),
            proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            proptest::option::of("[0-9a-f]{64}"),
        )
            .prop_map(|(registry, mut repository, tag, hex)| {
                if registry == DOCKER_HUB && !repository.contains('/') {
                    repository = format!("library/{repository}");
                }
                DockerRef {
                    registry,
                    repository,
                    tag,
                    digest: hex.map(|h| format!("sha256:{h}")),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// parse(format(r)) == r; with neither tag nor digest, format
        /// says `:latest`, which parses back as that tag.
        #[test]
        fn format_then_parse_is_identity(r in docker_ref()) {
            let text = r.to_string();
            let back = DockerRef::parse(&text).map_err(TestCaseError::fail)?;
            let mut want = r.clone();
            if want.tag.is_none() && want.digest.is_none() {
                want.tag = Some("latest".into());
            }
            prop_assert_eq!(&back, &want);
            prop_assert_eq!(ImageRef::parse(&format!("docker://{text}")).ok(), Some(ImageRef::Docker(want)));
        }

        /// Any string: no panic, and what parses formats to a reference
        /// that parses to the same thing.
        #[test]
        fn arbitrary_text_never_panics_and_is_stable(s in "\\PC{0,80}|[a-z0-9./:@_-]{0,80}") {
            if let Ok(ImageRef::Docker(r)) = ImageRef::parse(&s) {
                let again = DockerRef::parse(&r.to_string()).map_err(TestCaseError::fail)?;
                prop_assert_eq!(again.name(), r.name());
                prop_assert_eq!(again.digest, r.digest);
            }
            let _ = DockerRef::parse(&s);
        }
    }
}
