//! The `local` driver's options (`volume create -o KEY=VALUE`), read as
//! Podman reads them: `type` and `device` for mount(8), `o` its mount
//! options (where `uid=`/`gid=` set the owner of the volume and are not
//! passed to mount), `copy`/`nocopy` for the copy-up.

use std::collections::BTreeMap;
use std::path::Path;

use super::VolumeError;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// What inspect shows and mount uses.
    pub options: BTreeMap<String, String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub nocopy: bool,
}

fn id(key: &str, v: &str) -> Result<u32, VolumeError> {
    v.parse().map_err(|_| {
        VolumeError::Option(format!(
            "cannot convert {key} {v} to integer: give a numeric {key}=N"
        ))
    })
}

pub fn parse(list: &[String]) -> Result<Parsed, VolumeError> {
    let mut p = Parsed::default();
    for kv in list {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        match k.to_ascii_lowercase().as_str() {
            "type" | "device" => {
                p.options.insert(k.to_ascii_lowercase(), v.to_string());
            }
            "o" => {
                let mut kept = Vec::new();
                for o in v.split(',').filter(|o| !o.is_empty()) {
                    let (ok, ov) = o.split_once('=').unwrap_or((o, ""));
                    match ok.to_ascii_lowercase().as_str() {
                        "uid" => p.uid = Some(id("uid", ov)?),
                        "gid" => p.gid = Some(id("gid", ov)?),
                        _ => {}
                    }
                    kept.push(o.to_string());
                }
                if !kept.is_empty() {
                    p.options.insert("o".into(), kept.join(","));
                }
            }
            "copy" => p.nocopy = false,
            "nocopy" => {
                p.nocopy = true;
                p.options.insert("nocopy".into(), "true".into());
            }
            _ => {
                return Err(VolumeError::Option(format!(
                    "unrecognized volume option {k:?} is not supported with local driver: invalid argument"
                )))
            }
        }
    }
    let ty = p.options.get("type").map(String::as_str).unwrap_or("");
    if let Some(dev) = p.options.get("device") {
        // A bind volume's source must exist, as Podman checks it.
        if ty == "bind" || (ty.is_empty() && dev.starts_with('/')) {
            if let Err(e) = nix::unistd::access(Path::new(dev), nix::unistd::AccessFlags::F_OK) {
                return Err(VolumeError::Option(format!(
                    "invalid volume option device for driver 'local': faccessat {dev}: {}",
                    e.desc().to_ascii_lowercase()
                )));
            }
        }
    } else if !ty.is_empty() && ty != "tmpfs" {
        return Err(VolumeError::Option(format!(
            "invalid volume option type={ty}: a device=SOURCE option is required with it"
        )));
    }
    if !p.options.contains_key("type")
        && !p.options.contains_key("device")
        && !mount_options(&p.options).is_empty()
    {
        return Err(VolumeError::Option(
            "invalid volume option o=: mount options need type= and device= (only uid= and gid= stand alone)".into(),
        ));
    }
    Ok(p)
}

/// The options given to mount(8): `o` without `uid=`/`gid=`.
pub fn mount_options(options: &BTreeMap<String, String>) -> String {
    options
        .get("o")
        .map(|o| {
            o.split(',')
                .filter(|x| {
                    let k = x.split('=').next().unwrap_or("").to_ascii_lowercase();
                    k != "uid" && k != "gid" && k != "timeout" && !x.is_empty()
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn local_driver_options() {
        let p = parse(&s(&["type=tmpfs", "device=tmpfs", "o=size=2M,uid=1000"])).unwrap();
        assert_eq!(p.uid, Some(1000));
        assert_eq!(mount_options(&p.options), "size=2M");
        assert!(parse(&s(&["bogus=1"]))
            .unwrap_err()
            .to_string()
            .contains("unrecognized volume option \"bogus\""));
        let e = parse(&s(&["type=bind", "device=/bogus"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid volume option device for driver 'local': faccessat /bogus: no such file or directory"
        );
        assert!(parse(&s(&["nocopy"])).unwrap().nocopy);
        assert!(parse(&s(&["o=uid=x"])).is_err());
    }
}
