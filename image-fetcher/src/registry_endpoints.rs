//! Where to fetch a docker reference from, per registries.conf: refused if
//! its registry is `blocked`; the `location` rewrite; mirrors first (as
//! their `pull-from-mirror` allows), then the location; each with its own
//! `insecure`, unless the request's tls_verify overrides it.

use common::registries_conf::RegistriesConf;

use crate::error::FetchError;
use crate::reference::DockerRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub reference: DockerRef,
    /// Skip certificate checks and allow plain HTTP.
    pub insecure: bool,
    pub mirror: bool,
}

/// Pull endpoints in the order to try them.
pub fn pull_endpoints(
    conf: &RegistriesConf,
    r: &DockerRef,
    tls_verify: Option<bool>,
) -> Result<Vec<Endpoint>, FetchError> {
    endpoints(conf, r, tls_verify, true)
}

/// The one endpoint to push to (mirrors are for pulling only).
pub fn push_endpoint(
    conf: &RegistriesConf,
    r: &DockerRef,
    tls_verify: Option<bool>,
) -> Result<Endpoint, FetchError> {
    let mut v = endpoints(conf, r, tls_verify, false)?;
    Ok(v.remove(0))
}

fn endpoints(
    conf: &RegistriesConf,
    r: &DockerRef,
    tls_verify: Option<bool>,
    with_mirrors: bool,
) -> Result<Vec<Endpoint>, FetchError> {
    let insecure = |conf_says: bool| match tls_verify {
        Some(v) => !v,
        None => conf_says,
    };
    let Some(reg) = conf.find_registry(&r.name()) else {
        return Ok(vec![Endpoint {
            reference: r.clone(),
            insecure: insecure(false),
            mirror: false,
        }]);
    };
    if reg.blocked {
        return Err(FetchError::Blocked {
            registry: r.registry.clone(),
            prefix: reg.prefix().to_string(),
        });
    }
    let prefix = reg.prefix();
    let primary = if reg.location.is_empty() || reg.location == prefix {
        r.clone()
    } else {
        r.rebased(prefix, &reg.location).ok_or_else(|| {
            FetchError::Config(format!(
                "registries.conf: cannot rewrite {} from prefix {prefix:?} to location {:?}",
                r.name(),
                reg.location
            ))
        })?
    };
    let mut out = Vec::new();
    if with_mirrors {
        for m in &reg.mirror {
            let allowed = match m.pull_from_mirror.as_deref().unwrap_or("all") {
                "digest-only" => r.digest.is_some(),
                "tag-only" => r.digest.is_none(),
                _ => true,
            };
            if !allowed || m.location.is_empty() {
                continue;
            }
            let reference = r.rebased(prefix, &m.location).ok_or_else(|| {
                FetchError::Config(format!(
                    "registries.conf: cannot rewrite {} for mirror {:?}",
                    r.name(),
                    m.location
                ))
            })?;
            out.push(Endpoint {
                reference,
                insecure: insecure(m.insecure),
                mirror: true,
            });
        }
    }
    out.push(Endpoint {
        reference: primary,
        insecure: insecure(reg.insecure),
        mirror: false,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> RegistriesConf {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.conf");
        std::fs::write(&p, text).unwrap();
        RegistriesConf::load_files(&[p]).unwrap()
    }

    #[test]
    fn mirrors_then_location_and_blocking() {
        let c = conf(
            r#"
[[registry]]
prefix = "example.com/foo"
location = "internal.example/bar"
insecure = true
[[registry.mirror]]
location = "m1.local:5000/cache"
[[registry.mirror]]
location = "m2.local"
insecure = true
pull-from-mirror = "digest-only"

[[registry]]
location = "bad.example"
blocked = true
"#,
        );
        let r = DockerRef::parse("example.com/foo/img:1").unwrap();
        let e = pull_endpoints(&c, &r, None).unwrap();
        let names: Vec<String> = e.iter().map(|e| e.reference.to_string()).collect();
        assert_eq!(
            names,
            ["m1.local:5000/cache/img:1", "internal.example/bar/img:1"]
        );
        assert_eq!(
            e.iter().map(|e| e.insecure).collect::<Vec<_>>(),
            [false, true]
        );
        let forced = pull_endpoints(&c, &r, Some(true)).unwrap();
        assert!(forced.iter().all(|e| !e.insecure));

        let by_digest =
            DockerRef::parse(&format!("example.com/foo/img@sha256:{}", "0".repeat(64))).unwrap();
        assert_eq!(pull_endpoints(&c, &by_digest, None).unwrap().len(), 3);
        assert!(!push_endpoint(&c, &r, None).unwrap().mirror);

        let b = DockerRef::parse("bad.example/x:1").unwrap();
        assert!(pull_endpoints(&c, &b, None)
            .unwrap_err()
            .to_string()
            .contains("blocked"));

        let other = DockerRef::parse("127.0.0.1:5000/x:1").unwrap();
        let e = pull_endpoints(&c, &other, Some(false)).unwrap();
        assert_eq!(
            e,
            vec![Endpoint {
                reference: other,
                insecure: true,
                mirror: false
            }]
        );
    }
}
