//! `-v`, `--mount` and `--tmpfs`.

use std::path::Path;

use super::bad;
use super::FlagError;
use crate::container::model::MountSpec;

const BIND_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "U",
    "rshared",
    "shared",
    "rslave",
    "slave",
    "rprivate",
    "private",
    "runbindable",
    "unbindable",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "rbind",
    "bind",
];

/// Mount options of `-v` and `--mount`, checked as Podman checks them:
/// one of ro/rw, one propagation, `nocopy`/`copy` for volumes only;
/// `idmap` refused (runc here cannot make ID-mapped mounts).
fn mount_options(
    flag: &'static str,
    spec: &str,
    list: &[&str],
    volume: bool,
) -> Result<Vec<String>, FlagError> {
    let mut out: Vec<String> = Vec::new();
    let (mut rw_seen, mut prop_seen) = (false, false);
    for o in list.iter().filter(|o| !o.is_empty()) {
        let o = *o;
        if o == "idmap" || o.starts_with("idmap=") {
            return Err(bad(
                flag,
                spec,
                "idmap mounts are not supported: the OCI runtime here cannot make ID-mapped mounts; drop idmap (or use U to chown the source)",
            ));
        }
        if o == "O" {
            // An overlay with the source as its lower layer and a fresh
            // upper layer per start: writes are seen inside, dropped after.
            if out.iter().any(|p| p == "O") {
                return Err(bad(flag, spec, "give O only once"));
            }
            out.push(o.to_string());
            continue;
        }
        if volume && matches!(o, "nocopy" | "copy") {
            out.push(o.to_string());
            continue;
        }
        if let Some(p) = o.strip_prefix("subpath=") {
            if !volume {
                return Err(bad(
                    flag,
                    spec,
                    "subpath= applies to volumes only: bind-mount the subdirectory instead",
                ));
            }
            if out.iter().any(|p| p.starts_with("subpath=")) {
                return Err(bad(flag, spec, "give subpath= only once"));
            }
            out.push(format!(
                "subpath={}",
                checked_subpath(flag, spec, p, false)?
            ));
            continue;
        }
        if !BIND_OPTIONS.contains(&o) {
            return Err(bad(
                flag,
                spec,
                format!("unknown option {o:?}: use ro, rw, z, Z, U, a propagation mode (shared, slave, private...){}", if volume { ", nocopy" } else { "" }),
            ));
        }
        if matches!(o, "ro" | "rw") {
            if rw_seen {
                return Err(bad(flag, spec, "give only one of ro and rw"));
            }
            rw_seen = true;
        }
        if matches!(
            o,
            "rshared"
                | "shared"
                | "rslave"
                | "slave"
                | "rprivate"
                | "private"
                | "runbindable"
                | "unbindable"
        ) {
            if prop_seen {
                return Err(bad(flag, spec, "give only one propagation mode"));
            }
            prop_seen = true;
        }
        out.push(o.to_string());
    }
    Ok(out)
}

/// `-v HOST-DIR:CTR-DIR[:OPTS]` (a bind mount), `-v NAME:CTR-DIR[:OPTS]`
/// (a named volume, made on first use) or `-v CTR-DIR` (an anonymous
/// volume: its source is left empty for create to name).
pub fn volume(spec: &str) -> Result<MountSpec, FlagError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let hint = "expected HOST-DIR:CONTAINER-DIR[:OPTIONS], VOLUME-NAME:CONTAINER-DIR[:OPTIONS] or CONTAINER-DIR";
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(bad("-v", spec, hint)),
    };
    if dst.is_empty() || (parts.len() > 1 && src.is_empty()) {
        return Err(bad("-v", spec, hint));
    }
    if !dst.starts_with('/') {
        return Err(bad("-v", spec, "the container path must be absolute"));
    }
    let is_bind = src.starts_with('/') || src.starts_with('.');
    let options = mount_options("-v", spec, &opts.split(',').collect::<Vec<_>>(), !is_bind)?;
    if !is_bind {
        if !src.is_empty() && !common::names::is_valid_name(src) {
            return Err(bad(
                "-v",
                spec,
                format!(
                    "volume name {src:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
                ),
            ));
        }
        return Ok(MountSpec {
            kind: "volume".into(),
            source: src.into(),
            destination: dst.into(),
            options,
        });
    }
    let src = if src.starts_with('.') {
        std::path::absolute(src)
            .map_err(|e| bad("-v", spec, e.to_string()))?
            .display()
            .to_string()
    } else {
        src.to_string()
    };
    if !Path::new(&src).exists() {
        return Err(bad(
            "-v",
            spec,
            format!("host path {src} does not exist: create it first"),
        ));
    }
    if options.iter().any(|o| o == "O") && !Path::new(&src).is_dir() {
        return Err(bad(
            "-v",
            spec,
            "an overlay (O) mount's source must be a directory: drop O to bind-mount a file",
        ));
    }
    Ok(MountSpec {
        kind: "bind".into(),
        source: src,
        destination: dst.into(),
        options,
    })
}

/// Why a `--mount` (or a containers.conf `mounts` entry) was refused; the
/// cases users script against carry Podman's words.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error("must set volume destination")]
    NoDestination,
    #[error("no file paths matching glob {0:?}")]
    NoGlobMatch(String),
    #[error("statfs {0}: no such file or directory")]
    NoSource(String),
    #[error("invalid filesystem type {0:?}")]
    BadType(String),
}

/// A relative host path made absolute against podman's working directory.
fn absolute(flag: &'static str, spec: &str, p: &str) -> Result<String, FlagError> {
    if p.starts_with('/') {
        return Ok(p.to_string());
    }
    Ok(std::path::absolute(p)
        .map_err(|e| bad(flag, spec, e.to_string()))?
        .display()
        .to_string())
}

/// The host paths an absolute glob names, element by element as Go's
/// filepath.Glob walks them (`*`, `?`, `[...]` within one element), sorted
/// within each directory.
fn host_glob(pattern: &str) -> Vec<String> {
    let mut found = vec![String::from("/")];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let re = crate::build::ignore::component_regex(part);
        let mut next = Vec::new();
        for base in &found {
            let join = |n: &str| format!("{}/{n}", base.trim_end_matches('/'));
            match &re {
                None => {
                    let p = join(part);
                    if Path::new(&p).symlink_metadata().is_ok() {
                        next.push(p);
                    }
                }
                Some(re) => {
                    let Ok(rd) = std::fs::read_dir(base) else {
                        continue;
                    };
                    let mut names: Vec<String> = rd
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| re.is_match(n))
                        .collect();
                    names.sort();
                    next.extend(names.iter().map(|n| join(n)));
                }
            }
        }
        found = next;
    }
    found
}

/// `--mount type=bind|glob|volume|tmpfs|ramfs|devpts|image,source=..,destination=..[,OPTS]`.
/// A glob mount is one bind mount per host path its source matches: at
/// that same path, or under `destination` by its base name.
pub fn mount(spec: &str) -> Result<Vec<MountSpec>, MountError> {
    let mut kind = String::new();
    let (mut src, mut dst) = (String::new(), String::new());
    let mut subpath: Option<String> = None;
    let mut options: Vec<String> = Vec::new();
    let mut plain: Vec<String> = Vec::new();
    for kv in spec.split(',') {
        let (k, v) = kv
            .split_once('=')
            .map(|(k, v)| (k, Some(v)))
            .unwrap_or((kv, None));
        match (k, v) {
            ("type", Some(v)) => kind = v.to_string(),
            ("source" | "src", Some(v)) => src = v.to_string(),
            ("destination" | "dst" | "dest" | "target", Some(v)) => dst = v.to_string(),
            ("ro" | "readonly", None | Some("true")) => plain.push("ro".to_string()),
            ("ro" | "readonly", Some("false")) => {}
            ("rw" | "readwrite", None | Some("true")) => plain.push("rw".to_string()),
            ("rw" | "readwrite", Some("false")) => plain.push("ro".to_string()),
            ("subpath" | "volume-subpath", Some(v)) => subpath = Some(v.to_string()),
            ("tmpfs-size", Some(v)) => options.push(format!("size={v}")),
            ("tmpfs-mode", Some(v)) => options.push(format!("mode={v}")),
            ("bind-propagation", Some(v)) => plain.push(v.to_string()),
            ("volume-nocopy", None | Some("true")) | ("nocopy", None) => {
                plain.push("nocopy".into())
            }
            ("relabel", Some("shared")) => plain.push("z".into()),
            ("relabel", Some("private")) => plain.push("Z".into()),
            ("U" | "chown", None | Some("true")) => plain.push("U".into()),
            ("idmap", _) => plain.push("idmap".into()),
            ("noswap", None) if kind == "tmpfs" => options.push("noswap".into()),
            ("gid" | "mode" | "ptmxmode" | "uid", Some(v)) if kind == "devpts" => {
                options.push(format!("{k}={v}"))
            }
            (
                "z" | "Z" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" | "shared"
                | "rshared" | "slave" | "rslave" | "private" | "rprivate" | "bind" | "rbind",
                None,
            ) => plain.push(k.to_string()),
            _ => {
                return Err(bad("--mount", spec, format!("unknown option {kv:?}")).into());
            }
        }
    }
    if !matches!(
        kind.as_str(),
        "bind" | "glob" | "volume" | "tmpfs" | "ramfs" | "devpts" | "image"
    ) {
        if kind.is_empty() {
            return Err(bad(
                "--mount",
                spec,
                "type= is required (bind, glob, volume, tmpfs, ramfs, devpts or image)",
            )
            .into());
        }
        return Err(MountError::BadType(kind));
    }
    if dst.is_empty() && kind != "glob" {
        return Err(MountError::NoDestination);
    }
    if !dst.is_empty() && !dst.starts_with('/') {
        return Err(bad("--mount", spec, "destination= must be an absolute path").into());
    }
    if subpath.is_some() && kind != "image" && kind != "volume" {
        return Err(bad(
            "--mount",
            spec,
            "subpath= applies to type=volume and type=image only: bind-mount the subdirectory instead",
        )
        .into());
    }
    let plain_refs: Vec<&str> = plain.iter().map(String::as_str).collect();
    let one = |kind: &str, source: String, destination: String, options: Vec<String>| {
        Ok(vec![MountSpec {
            kind: kind.into(),
            source,
            destination,
            options,
        }])
    };
    match kind.as_str() {
        "bind" => {
            options.extend(mount_options("--mount", spec, &plain_refs, false)?);
            // Podman's default: the same path on both sides.
            let src = if src.is_empty() {
                dst.clone()
            } else {
                absolute("--mount", spec, &src)?
            };
            if !Path::new(&src).exists() {
                return Err(MountError::NoSource(src));
            }
            one("bind", src, dst, options)
        }
        "glob" => {
            options.extend(mount_options("--mount", spec, &plain_refs, false)?);
            if src.is_empty() {
                return Err(bad("--mount", spec, "type=glob needs source=PATTERN").into());
            }
            let pattern = absolute("--mount", spec, &src)?;
            let matches = host_glob(&pattern);
            if matches.is_empty() {
                return Err(MountError::NoGlobMatch(src));
            }
            Ok(matches
                .into_iter()
                .map(|m| {
                    let destination = if dst.is_empty() {
                        m.clone()
                    } else {
                        let base = Path::new(&m).file_name().unwrap_or_default();
                        Path::new(&dst).join(base).display().to_string()
                    };
                    MountSpec {
                        kind: "bind".into(),
                        source: m,
                        destination,
                        options: options.clone(),
                    }
                })
                .collect())
        }
        "volume" => {
            options.extend(mount_options("--mount", spec, &plain_refs, true)?);
            if !src.is_empty() && !common::names::is_valid_name(&src) {
                return Err(bad(
                    "--mount",
                    spec,
                    format!("volume name {src:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
                )
                .into());
            }
            if let Some(p) = subpath {
                options.push(format!(
                    "subpath={}",
                    checked_subpath("--mount", spec, &p, false)?
                ));
            }
            one("volume", src, dst, options)
        }
        "tmpfs" | "ramfs" => {
            if kind == "ramfs" && !options.is_empty() {
                return Err(bad(
                    "--mount",
                    spec,
                    "ramfs takes no tmpfs-size, tmpfs-mode or noswap: use type=tmpfs for those",
                )
                .into());
            }
            let mut o = vec!["rw".to_string(), "nosuid".to_string(), "nodev".to_string()];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            let source = kind.clone();
            one(&kind, source, dst, o)
        }
        "devpts" => {
            let mut o = vec![
                "nosuid".to_string(),
                "noexec".to_string(),
                "newinstance".to_string(),
            ];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            one("devpts", "devpts".into(), dst, o)
        }
        _ => {
            // type=image: read-only unless rw; then writes go to a throwaway layer.
            if src.is_empty() {
                return Err(bad("--mount", spec, "type=image needs source=IMAGE").into());
            }
            let rw = plain.iter().any(|p| p == "rw") && !plain.iter().any(|p| p == "ro");
            if let Some(p) = plain.iter().find(|p| !matches!(p.as_str(), "ro" | "rw")) {
                return Err(bad(
                    "--mount",
                    spec,
                    format!("option {p:?} does not apply to type=image: use ro, rw or subpath="),
                )
                .into());
            }
            let mut options = vec![if rw { "rw" } else { "ro" }.to_string()];
            if let Some(p) = subpath {
                options.push(format!(
                    "subpath={}",
                    checked_subpath("--mount", spec, &p, true)?
                ));
            }
            one("image", src, dst, options)
        }
    }
}

/// A `subpath=`: inside the volume or image, without `..` (an image's
/// must be absolute, as Podman requires; a volume's may be either).
fn checked_subpath(
    flag: &'static str,
    spec: &str,
    p: &str,
    absolute: bool,
) -> Result<String, FlagError> {
    if (absolute && !p.starts_with('/')) || p.split('/').any(|c| c == "..") || p.is_empty() {
        return Err(bad(
            flag,
            spec,
            if absolute {
                "subpath= must be an absolute path inside the image, without .."
            } else {
                "subpath= must be a path inside the volume, without .."
            },
        ));
    }
    Ok(p.to_string())
}

/// `--tmpfs /path[:options]`.
pub fn tmpfs(spec: &str) -> Result<MountSpec, FlagError> {
    let (dst, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !dst.starts_with('/') {
        return Err(bad("--tmpfs", spec, "expected /container/path[:options]"));
    }
    let mut options = vec![
        "rw".to_string(),
        "noexec".to_string(),
        "nosuid".to_string(),
        "nodev".to_string(),
    ];
    options.extend(opts.split(',').filter(|o| !o.is_empty()).map(String::from));
    Ok(MountSpec {
        kind: "tmpfs".into(),
        source: "tmpfs".into(),
        destination: dst.into(),
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_and_mounts() {
        let v = volume("/tmp:/data:ro,z").unwrap();
        assert_eq!(
            (v.source.as_str(), v.destination.as_str(), v.options.clone()),
            ("/tmp", "/data", vec!["ro".to_string(), "z".to_string()])
        );
        let anon = volume("/tmp").unwrap();
        assert_eq!((anon.kind.as_str(), anon.source.as_str()), ("volume", ""));
        let named = volume("myvol:/d:nocopy").unwrap();
        assert_eq!(
            (named.kind.as_str(), named.source.as_str()),
            ("volume", "myvol")
        );
        assert!(volume("bad name:/d").is_err());
        assert!(volume("/tmp:/d:idmap")
            .unwrap_err()
            .to_string()
            .contains("idmap mounts are not supported"));
        assert!(volume("/tmp:/d:ro,rw").is_err());
        assert_eq!(volume("/tmp:/d:O").unwrap().options, vec!["O"]);
        assert!(volume("/tmp:/d:O,O").is_err());
        assert_eq!(
            volume("v:/d:subpath=a/b,ro").unwrap().options,
            vec!["subpath=a/b", "ro"]
        );
        assert!(volume("v:/d:subpath=../a").is_err());
        assert!(volume("v:/d:subpath=a,subpath=b").is_err());
        assert!(volume("/tmp:/d:subpath=a").is_err());
        assert_eq!(
            mount("type=volume,destination=/x,rw=false").unwrap()[0].options,
            vec!["ro"]
        );
        assert!(volume("/no/such/dir:/x")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(volume("/tmp:/x:bogus").is_err());
        assert!(volume("/tmp:rel").is_err());
        let m = mount("type=bind,source=/tmp,destination=/d,ro")
            .unwrap()
            .remove(0);
        assert_eq!(m.options, vec!["ro"]);
        let t = mount("type=tmpfs,destination=/t,tmpfs-size=1m")
            .unwrap()
            .remove(0);
        assert!(t.options.contains(&"size=1m".to_string()));
        assert_eq!(mount("type=volume,destination=/x").unwrap()[0].source, "");
        assert_eq!(
            mount("type=image,source=x,destination=/x").unwrap()[0].options,
            vec!["ro"]
        );
        assert_eq!(
            mount("type=image,src=x,dst=/x,readwrite=true,subpath=/etc").unwrap()[0].options,
            vec!["rw", "subpath=/etc"]
        );
        assert!(mount("type=image,destination=/x").is_err());
        let dir = std::env::temp_dir().join(format!("h11-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["a1", "a2", "b1", "sub/a3"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let d = dir.display();
        let g = mount(&format!("type=glob,src={d}/a*,ro")).unwrap();
        assert_eq!(
            g.iter().map(|m| m.destination.clone()).collect::<Vec<_>>(),
            vec![format!("{d}/a1"), format!("{d}/a2")]
        );
        assert!(g
            .iter()
            .all(|m| m.kind == "bind" && m.options == vec!["ro"]));
        let g = mount(&format!("type=glob,src={d}/*/a?,dst=/in")).unwrap();
        assert_eq!(
            (g[0].source.clone(), g[0].destination.as_str()),
            (format!("{d}/sub/a3"), "/in/a3")
        );
        assert!(matches!(
            mount(&format!("type=glob,src={d}/z*")),
            Err(MountError::NoGlobMatch(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            mount("type=bind,src=/tmp"),
            Err(MountError::NoDestination)
        ));
        assert!(matches!(
            mount("type=bind,src=/no/such/x*,dst=/x"),
            Err(MountError::NoSource(_))
        ));
        assert_eq!(
            mount("type=bogus,dst=/x").unwrap_err().to_string(),
            "invalid filesystem type \"bogus\""
        );
        let r = mount("type=ramfs,dst=/r").unwrap().remove(0);
        assert_eq!((r.kind.as_str(), r.source.as_str()), ("ramfs", "ramfs"));
        assert!(mount("type=tmpfs,dst=/t,noswap").unwrap()[0]
            .options
            .contains(&"noswap".to_string()));
        assert_eq!(
            mount("type=volume,src=v,dst=/x,subpath=a/b").unwrap()[0].options,
            vec!["subpath=a/b"]
        );
        assert!(mount("type=volume,src=v,dst=/x,subpath=../b").is_err());
        assert!(mount("type=bind,source=/tmp,destination=/x,subpath=/a").is_err());
        assert_eq!(
            mount("type=devpts,destination=/dev/pts2").unwrap()[0].kind,
            "devpts"
        );
        assert_eq!(
            tmpfs("/run:size=1m").unwrap().options.last().unwrap(),
            "size=1m"
        );
    }
}
