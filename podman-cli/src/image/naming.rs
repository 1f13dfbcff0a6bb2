//! Names images get when they cross an archive boundary: the stored name a
//! user's argument resolved to (what save tags with), Podman's `localhost/`
//! normalisation for new local names, and Docker's `docker.io/library/`
//! normalisation for `docker save` RepoTags.

use proto::storage::v1::Image;

use super::reference::{RefError, Reference};

/// A new local name: fully qualified, `localhost/` for a short name,
/// `:latest` when untagged (Podman's NormalizeName).
pub fn local_name(name: &str) -> Result<String, RefError> {
    let r = Reference::parse(name)?;
    let r = if r.is_short() { r.on("localhost") } else { r };
    Ok(r.with_default_tag().to_string())
}

/// A RepoTag from a docker-archive, as Docker names it: `busybox` is
/// `docker.io/library/busybox:latest`, `me/app` is `docker.io/me/app:latest`.
pub fn docker_name(tag: &str) -> Result<String, RefError> {
    let r = Reference::parse(tag)?;
    let r = if r.is_short() { r.on("docker.io") } else { r };
    Ok(r.with_default_tag().to_string())
}

/// The name an image was found under when it was named rather than given
/// by ID: the stored name the argument is, or the one a short name matched.
pub fn resolved_name(arg: &str, img: &Image) -> Option<String> {
    let hexish = arg.strip_prefix("sha256:").unwrap_or(arg);
    if !hexish.is_empty()
        && hexish.chars().all(|c| c.is_ascii_hexdigit())
        && img.id.starts_with(hexish)
    {
        return None;
    }
    if img.names.iter().any(|n| n == arg) {
        return Some(arg.to_string());
    }
    let r = Reference::parse(arg).ok()?;
    if r.digest.is_some() {
        return None;
    }
    let r = r.with_default_tag();
    if !r.is_short() {
        let full = r.to_string();
        return img.names.iter().find(|n| **n == full).cloned();
    }
    let suffix = format!("/{r}");
    img.names.iter().find(|n| n.ends_with(&suffix)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(local_name("bb").unwrap(), "localhost/bb:latest");
        assert_eq!(
            local_name("127.0.0.1:5000/a/b:1").unwrap(),
            "127.0.0.1:5000/a/b:1"
        );
        assert_eq!(
            docker_name("busybox").unwrap(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(docker_name("me/app:2").unwrap(), "docker.io/me/app:2");
        assert_eq!(docker_name("localhost/x:1").unwrap(), "localhost/x:1");
        assert!(docker_name("UPPER").is_err());
        let img = Image {
            id: "abcdef0123".into(),
            names: vec![
                "127.0.0.1:5000/team/bb:latest".into(),
                "localhost/x:1".into(),
            ],
            ..Default::default()
        };
        assert_eq!(resolved_name("abcdef", &img), None);
        assert_eq!(resolved_name("sha256:abcdef0123", &img), None);
        assert_eq!(
            resolved_name("bb", &img).as_deref(),
            Some("127.0.0.1:5000/team/bb:latest")
        );
        assert_eq!(
            resolved_name("team/bb:latest", &img).as_deref(),
            Some("127.0.0.1:5000/team/bb:latest")
        );
        assert_eq!(
            resolved_name("localhost/x:1", &img).as_deref(),
            Some("localhost/x:1")
        );
        assert_eq!(resolved_name("x:2", &img), None);
    }
}
