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

/// `--mount type=bind|volume|tmpfs|devpts|image,source=..,destination=..[,OPTS]`.
pub fn mount(spec: &str) -> Result<MountSpec, FlagError> {
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
            ("destination" | "dst" | "target", Some(v)) => dst = v.to_string(),
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
            ("gid" | "mode" | "ptmxmode" | "uid", Some(v)) if kind == "devpts" => {
                options.push(format!("{k}={v}"))
            }
            (
                "z" | "Z" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" | "shared"
                | "rshared" | "slave" | "rslave" | "private" | "rprivate" | "bind" | "rbind",
                None,
            ) => plain.push(k.to_string()),
            _ => return Err(bad("--mount", spec, format!("unknown option {kv:?}"))),
        }
    }
    if dst.is_empty() || !dst.starts_with('/') {
        return Err(bad(
            "--mount",
            spec,
            "destination=/absolute/path is required",
        ));
    }
    if subpath.is_some() && kind != "image" {
        return Err(bad(
            "--mount",
            spec,
            "subpath= is supported with type=image only: bind-mount the subdirectory instead",
        ));
    }
    let plain_refs: Vec<&str> = plain.iter().map(String::as_str).collect();
    match kind.as_str() {
        "bind" => {
            options.extend(mount_options("--mount", spec, &plain_refs, false)?);
            if !src.starts_with('/') || !Path::new(&src).exists() {
                return Err(bad(
                    "--mount",
                    spec,
                    "source= must be an existing absolute host path",
                ));
            }
            Ok(MountSpec {
                kind,
                source: src,
                destination: dst,
                options,
            })
        }
        "volume" => {
            options.extend(mount_options("--mount", spec, &plain_refs, true)?);
            if !src.is_empty() && !common::names::is_valid_name(&src) {
                return Err(bad(
                    "--mount",
                    spec,
                    format!("volume name {src:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
                ));
            }
            Ok(MountSpec {
                kind,
                source: src,
                destination: dst,
                options,
            })
        }
        "tmpfs" => {
            let mut o = vec!["rw".to_string(), "nosuid".to_string(), "nodev".to_string()];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            Ok(MountSpec {
                kind,
                source: "tmpfs".into(),
                destination: dst,
                options: o,
            })
        }
        "devpts" => {
            let mut o = vec![
                "nosuid".to_string(),
                "noexec".to_string(),
                "newinstance".to_string(),
            ];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            Ok(MountSpec {
                kind,
                source: "devpts".into(),
                destination: dst,
                options: o,
            })
        }
        "image" => {
            // Read-only unless rw: then writes go to a throwaway layer.
            if src.is_empty() {
                return Err(bad("--mount", spec, "type=image needs source=IMAGE"));
            }
            let rw = plain.iter().any(|p| p == "rw") && !plain.iter().any(|p| p == "ro");
            if let Some(p) = plain.iter().find(|p| !matches!(p.as_str(), "ro" | "rw")) {
                return Err(bad(
                    "--mount",
                    spec,
                    format!("option {p:?} does not apply to type=image: use ro, rw or subpath="),
                ));
            }
            let mut options = vec![if rw { "rw" } else { "ro" }.to_string()];
            if let Some(p) = subpath {
                if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
                    return Err(bad(
                        "--mount",
                        spec,
                        "subpath= must be an absolute path inside the image, without ..",
                    ));
                }
                options.push(format!("subpath={p}"));
            }
            Ok(MountSpec {
                kind,
                source: src,
                destination: dst,
                options,
            })
        }
        "" => Err(bad(
            "--mount",
            spec,
            "type= is required (bind, volume, tmpfs, devpts or image)",
        )),
        other => Err(bad(
            "--mount",
            spec,
            format!("type {other:?} is not supported: use bind, volume, tmpfs, devpts or image"),
        )),
    }
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
            mount("type=volume,destination=/x,rw=false")
                .unwrap()
                .options,
            vec!["ro"]
        );
        assert!(volume("/no/such/dir:/x")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(volume("/tmp:/x:bogus").is_err());
        assert!(volume("/tmp:rel").is_err());
        let m = mount("type=bind,source=/tmp,destination=/d,ro").unwrap();
        assert_eq!(m.options, vec!["ro"]);
        let t = mount("type=tmpfs,destination=/t,tmpfs-size=1m").unwrap();
        assert!(t.options.contains(&"size=1m".to_string()));
        assert_eq!(mount("type=volume,destination=/x").unwrap().source, "");
        assert_eq!(
            mount("type=image,source=x,destination=/x").unwrap().options,
            vec!["ro"]
        );
        assert_eq!(
            mount("type=image,src=x,dst=/x,readwrite=true,subpath=/etc")
                .unwrap()
                .options,
            vec!["rw", "subpath=/etc"]
        );
        assert!(mount("type=image,destination=/x").is_err());
        assert!(mount("type=bind,source=/tmp,destination=/x,subpath=/a").is_err());
        assert_eq!(
            mount("type=devpts,destination=/dev/pts2").unwrap().kind,
            "devpts"
        );
        assert_eq!(
            tmpfs("/run:size=1m").unwrap().options.last().unwrap(),
            "size=1m"
        );
    }
}
