//! Podman's path rules for `cp` (cmd/podman/containers/cp.go and its
//! copy package): Go's path.Base and path.Dir, the `/.` that asks for a
//! directory's contents, and the plan once both ends are known.

/// Podman's copy plan once both ends are known, the same in every
/// direction: a directory cannot land on a non-directory; a directory
/// copied to a new name drops a trailing "/." of its path; the copy is
/// renamed to `dest_base` when a file lands on a file or anything lands
/// at a new name. Returns (source path, rename).
pub(super) fn plan(
    src: &str,
    src_is_dir: bool,
    dest_is_dir: bool,
    to_parent: bool,
    dest_base: String,
) -> anyhow::Result<(String, String)> {
    if src_is_dir && !dest_is_dir {
        anyhow::bail!("destination must be a directory when copying a directory");
    }
    let src = if to_parent && src_is_dir && go_base(src) == "." {
        go_dir(src)
    } else {
        src.to_string()
    };
    let rename = if (!src_is_dir && !dest_is_dir) || to_parent {
        dest_base
    } else {
        String::new()
    };
    Ok((src, rename))
}

/// What a host path is (Podman's copy.ResolveHostPath).
pub(super) struct HostInfo {
    pub link_target: String,
    pub is_dir: bool,
    pub is_regular: bool,
}

/// A host path with its symlinks resolved (it must exist).
pub(super) fn host_stat(path: &str) -> std::io::Result<HostInfo> {
    let abs = std::path::absolute(path)?;
    let meta = std::fs::metadata(&abs)?;
    if path.ends_with('/') && !meta.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    let real = std::fs::canonicalize(&abs)?;
    Ok(HostInfo {
        link_target: preserve_base(path, &real.display().to_string()),
        is_dir: meta.is_dir(),
        is_regular: meta.is_file(),
    })
}

/// Keep the `/.` that asks for a directory's contents.
pub(super) fn preserve_base(original: &str, resolved: &str) -> String {
    if (original == "." || original.ends_with("/.")) && go_base(resolved) != "." {
        format!("{}/.", resolved.trim_end_matches('/'))
    } else {
        resolved.to_string()
    }
}

/// Go's path.Base: the last element, trailing slashes ignored.
pub(super) fn go_base(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's path.Dir: everything but the last element, cleaned.
pub(super) fn go_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    let dir = match t.rfind('/') {
        Some(0) => "/",
        Some(i) => &t[..i],
        None => ".",
    };
    let abs = dir.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in dir.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers_match_go() {
        assert_eq!(go_base("/srv/subdir/."), ".");
        assert_eq!(go_base("/srv/subdir/"), "subdir");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_dir("/srv/subdir/."), "/srv/subdir");
        assert_eq!(go_dir("/srv"), "/");
        assert_eq!(go_dir("x"), ".");
        assert_eq!(preserve_base("/a/.", "/b"), "/b/.");
        assert_eq!(preserve_base("/a", "/b"), "/b");
    }
}
