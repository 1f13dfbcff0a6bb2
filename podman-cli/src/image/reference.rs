//! Image references: parsing and normalising Docker references, short-name
//! resolution through registries.conf (aliases, then unqualified-search
//! registries), and transports (`docker://`, `oci:`, `oci-archive:`,
//! `docker-archive:`, `dir:`). Helpers only ever see fully qualified names.

use common::registries_conf::RegistriesConf;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefError {
    #[error("invalid reference format {0:?}: {1}")]
    Invalid(String, &'static str),
    #[error("short-name {0:?} did not resolve to an alias and no unqualified-search registries are defined in registries.conf: use a fully qualified name such as 127.0.0.1:5000/{0}")]
    NoSearchRegistries(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host[:port]; `None` for a short name.
    pub domain: Option<String>,
    /// Repository path, e.g. `library/busybox`.
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
    !c.is_empty()
        && c.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

pub fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, RefError> {
        let invalid = |why| RefError::Invalid(s.to_string(), why);
        if s.is_empty() {
            return Err(invalid("empty name"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(invalid(
                        "the digest must be sha256: followed by 64 lowercase hex digits",
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err(invalid(
                    "tags use letters, digits, '_', '.' and '-', up to 128 characters",
                ));
            }
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        let domain = if parts.len() > 1
            && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
        {
            Some(parts.remove(0).to_string())
        } else {
            None
        };
        if parts.iter().any(|p| !valid_component(p)) {
            return Err(invalid("repository names use lowercase letters, digits and separators ('.', '_', '-', '/')"));
        }
        let mut path = parts.join("/");
        if domain.as_deref() == Some("docker.io") && !path.contains('/') {
            path = format!("library/{path}");
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    pub fn is_short(&self) -> bool {
        self.domain.is_none()
    }

    /// `host/path` without tag or digest.
    pub fn repository(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// This short name on `domain` (docker.io gets `library/`).
    pub fn on(&self, domain: &str) -> Reference {
        let path = if domain == "docker.io" && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        Reference {
            domain: Some(domain.to_string()),
            path,
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }

    /// With `:latest` added when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Fully qualified names to try for `name`, in order: the name itself when
/// qualified; else a registries.conf alias; else each search registry.
pub fn pull_candidates(name: &str, conf: &RegistriesConf) -> Result<Vec<Reference>, RefError> {
    let r = Reference::parse(name)?;
    if !r.is_short() {
        return Ok(vec![r.with_default_tag()]);
    }
    if let Some(alias) = conf.aliases.get(&r.path) {
        let mut a = Reference::parse(alias)?;
        if r.tag.is_some() || r.digest.is_some() {
            a.tag = r.tag.clone();
            a.digest = r.digest.clone();
        }
        return Ok(vec![a.with_default_tag()]);
    }
    if conf.unqualified_search_registries.is_empty() {
        return Err(RefError::NoSearchRegistries(name.to_string()));
    }
    Ok(conf
        .unqualified_search_registries
        .iter()
        .map(|reg| r.on(reg).with_default_tag())
        .collect())
}

/// An image source with its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Registry(Reference),
    /// `oci:`, `oci-archive:`, `docker-archive:`, `dir:` with their argument:
    /// handed to image-fetcher as written.
    Local(String),
}

/// Split a transport prefix off a pull argument.
pub fn source(arg: &str) -> Result<Source, RefError> {
    if let Some(rest) = arg.strip_prefix("docker://") {
        return Ok(Source::Registry(Reference::parse(rest)?));
    }
    for t in ["oci:", "oci-archive:", "docker-archive:", "dir:"] {
        if arg.starts_with(t) {
            return Ok(Source::Local(arg.to_string()));
        }
    }
    Ok(Source::Registry(Reference::parse(arg)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_normalise() {
        let r = Reference::parse("127.0.0.1:5000/bb:1.0").unwrap();
        assert_eq!(
            (r.domain.as_deref(), r.path.as_str(), r.tag.as_deref()),
            (Some("127.0.0.1:5000"), "bb", Some("1.0"))
        );
        assert_eq!(
            Reference::parse("docker.io/busybox")
                .unwrap()
                .with_default_tag()
                .to_string(),
            "docker.io/library/busybox:latest"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost/x/y@{d}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.clone().with_default_tag().tag, None);
        assert!(Reference::parse("busybox").unwrap().is_short());
        for bad in ["", "UPPER/x", "a//b", "x:", "x@sha256:zz", "-x", "x:t@g"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_names_resolve_through_registries_conf() {
        let mut conf = RegistriesConf::default();
        assert!(matches!(
            pull_candidates("bb", &conf),
            Err(RefError::NoSearchRegistries(_))
        ));
        conf.unqualified_search_registries = vec!["127.0.0.1:5000".into(), "docker.io".into()];
        let c: Vec<String> = pull_candidates("bb:1", &conf)
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(c, vec!["127.0.0.1:5000/bb:1", "docker.io/library/bb:1"]);
        conf.aliases.insert("bb".into(), "quay.io/x/busybox".into());
        assert_eq!(
            pull_candidates("bb", &conf).unwrap()[0].to_string(),
            "quay.io/x/busybox:latest"
        );
        assert_eq!(
            source("oci:/tmp/x:tag").unwrap(),
            Source::Local("oci:/tmp/x:tag".into())
        );
        assert!(matches!(
            source("docker://localhost/a").unwrap(),
            Source::Registry(_)
        ));
    }
}
