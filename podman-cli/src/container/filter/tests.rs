use super::*;
use crate::container::model::{MountSpec, NetworkAttachment, RestartPolicy};

struct Fake;

impl Lookup for Fake {
    fn container(&self, v: &str) -> anyhow::Result<(String, i64)> {
        match v {
            "a" | "aaaa" => Ok(("aaaa".into(), 10)),
            "b" => Ok(("bbbb".into(), 20)),
            "c" => Ok(("cccc".into(), 30)),
            _ => anyhow::bail!("no container with name or ID \"{v}\" found: no such container"),
        }
    }
    fn network(&self, v: &str) -> anyhow::Result<Option<String>> {
        Ok(network_by_name_or_id(
            &[
                ("0123abcd".into(), "podman".into()),
                ("9876".into(), "web".into()),
            ],
            v,
        ))
    }
    fn pod(&self, v: &str) -> anyhow::Result<Option<String>> {
        Ok(match v {
            "web" | "p1p1" => Some("p1p1".into()),
            _ => None,
        })
    }
}

fn ctr(
    id: &str,
    name: &str,
    created: i64,
    status: Status,
    code: i32,
) -> (ContainerConfig, ContainerState) {
    let mut labels = BTreeMap::new();
    labels.insert("tier".into(), format!("t-{name}"));
    labels.insert("app.kubernetes.io/name".into(), "x".into());
    (
        ContainerConfig {
            id: id.into(),
            name: name.into(),
            created_ns: created,
            image_name: "127.0.0.1:5000/bb:latest".into(),
            image_id: "feedface".into(),
            cmd: vec!["sleep".into(), "5".into()],
            labels,
            networks: vec![NetworkAttachment {
                name: "podman".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
        ContainerState {
            status,
            exit_code: code,
            ..Default::default()
        },
    )
}

fn set() -> Vec<(ContainerConfig, ContainerState)> {
    vec![
        ctr("aaaa", "running", 10, Status::Running, 0),
        ctr("bbbb", "stopped", 20, Status::Exited, 0),
        ctr("cccc", "failed", 30, Status::Stopped, 1),
        ctr("dddd", "created", 40, Status::Created, 0),
    ]
}

fn names(flags: &[&str]) -> anyhow::Result<Vec<String>> {
    let f = ContainerFilter::new(&parse(flags)?, &Fake, Scope::Podman)?;
    Ok(set()
        .iter()
        .filter(|(c, s)| f.matches(&Subject::new(c, s)))
        .map(|(c, _)| c.name.clone())
        .collect())
}

#[test]
fn keys_and_values_combine_as_podman() {
    assert_eq!(names(&["status=stopped"]).unwrap(), ["stopped", "failed"]);
    assert_eq!(names(&["status=exited", "exited=0"]).unwrap(), ["stopped"]);
    assert_eq!(names(&["status=exited", "exited=1"]).unwrap(), ["failed"]);
    assert_eq!(names(&["status=created"]).unwrap(), ["created"]);
    assert_eq!(
        names(&["status=exited", "status=running"]).unwrap(),
        ["running", "stopped", "failed"]
    );
    assert_eq!(names(&["id=aaaa", "id=c"]).unwrap(), ["running", "failed"]);
    assert_eq!(names(&["id=AA"]).unwrap(), ["running"]);
    assert_eq!(names(&["id=^b"]).unwrap(), ["stopped"]);
    assert_eq!(names(&["id=^[^a]"]).unwrap().len(), 3);
    assert_eq!(names(&["id=[^0-9a-f]"]).unwrap().len(), 0);
    assert_eq!(names(&["name=^run"]).unwrap(), ["running"]);
    assert_eq!(names(&["name=/stopped"]).unwrap(), ["stopped"]);
    assert_eq!(
        names(&["name=ed$", "name=fail"]).unwrap(),
        ["stopped", "failed", "created"]
    );
    assert_eq!(names(&["before=c"]).unwrap(), ["running", "stopped"]);
    assert_eq!(names(&["since=b"]).unwrap(), ["failed", "created"]);
    assert_eq!(
        names(&["since=b", "since=c"]).unwrap(),
        ["failed", "created"]
    );
    assert_eq!(names(&["command=^sle"]).unwrap().len(), 4);
    assert_eq!(names(&["command=true"]).unwrap().len(), 0);
    assert_eq!(names(&["pod=anything"]).unwrap().len(), 0);
    // A member of pod p1p1, found by the pod's name or ID.
    let (mut c, s) = ctr("eeee", "member", 1, Status::Running, 0);
    c.extra.pod = "p1p1".into();
    for v in ["pod=web", "pod=p1p1", "pod=nope,pod=web"] {
        let flags: Vec<&str> = v.split(',').collect();
        let f = ContainerFilter::new(&parse(&flags).unwrap(), &Fake, Scope::Podman).unwrap();
        assert!(f.matches(&Subject::new(&c, &s)), "{v}");
    }
    assert_eq!(
        names(&["pod=web"]).unwrap().len(),
        0,
        "non-members never match"
    );
    assert_eq!(names(&["health=healthy"]).unwrap().len(), 0);
    let (c, s) = ctr("abcd", "x", 1, Status::Running, 0);
    let f =
        ContainerFilter::new(&parse(&["health=healthy"]).unwrap(), &Fake, Scope::Podman).unwrap();
    assert!(f.matches(&Subject::new(&c, &s).with_health("healthy".into())));
    assert!(!f.matches(&Subject::new(&c, &s).with_health("starting".into())));
    assert_eq!(names(&["network=podman"]).unwrap().len(), 4);
    assert_eq!(names(&["network=0123"]).unwrap().len(), 4);
    assert_eq!(names(&["network=web"]).unwrap().len(), 0);
    assert_eq!(names(&["network=nope"]).unwrap().len(), 0);
    assert_eq!(names(&["restart-policy=none"]).unwrap().len(), 4);
    assert_eq!(names(&["restart-policy=always"]).unwrap().len(), 0);
    assert_eq!(
        names(&["until=1970-01-01T00:00:00.000000025Z"]).unwrap(),
        ["running", "stopped"]
    );
    assert_eq!(names(&["until=1h"]).unwrap().len(), 4);
}

#[test]
fn labels_ancestors_and_volumes() {
    assert_eq!(names(&["label=tier"]).unwrap().len(), 4);
    assert_eq!(names(&["label=tier=t-failed"]).unwrap(), ["failed"]);
    assert_eq!(
        names(&["label=tier=t-failed", "label=tier"]).unwrap(),
        ["failed"]
    );
    // Every label value must match.
    assert!(names(&["label=tier=t-failed", "label=tier=t-created"])
        .unwrap()
        .is_empty());
    assert_eq!(
        names(&["label!=tier=t-failed"]).unwrap(),
        ["running", "stopped", "created"]
    );
    assert_eq!(names(&["label=app.*/name"]).unwrap().len(), 4);
    assert_eq!(names(&["label=nope"]).unwrap().len(), 0);
    assert_eq!(names(&["ancestor=bb"]).unwrap().len(), 4);
    assert_eq!(names(&["ancestor=face"]).unwrap().len(), 4);
    assert_eq!(names(&["ancestor=alpine"]).unwrap().len(), 0);
    let (mut c, s) = ctr("eeee", "vol", 1, Status::Running, 0);
    c.mounts.push(MountSpec {
        kind: "bind".into(),
        source: "/srv".into(),
        destination: "/data".into(),
        options: vec![],
    });
    c.restart = RestartPolicy {
        name: "always".into(),
        max_retries: 0,
    };
    let m = |f: &[&str]| {
        ContainerFilter::new(&parse(f).unwrap(), &Fake, Scope::Podman)
            .unwrap()
            .matches(&Subject::new(&c, &s))
    };
    assert!(m(&["volume=/data"]));
    assert!(m(&["volume=/srv:/data"]));
    assert!(!m(&["volume=/srv"]));
    assert!(m(&["restart-policy=always"]));
    assert!(m(&["should-start-on-boot=true"]));
    assert!(!m(&["should-start-on-boot=false"]));
    assert!(glob("*app.*/name*", "app.kubernetes.io/name"));
    assert!(glob("a[b-d]?", "acx"));
    assert!(!glob("a[!b-d]?", "acx"));
}

#[test]
fn bad_filters_give_podmans_errors() {
    let err = |f: &[&str]| names(f).unwrap_err().to_string();
    assert_eq!(err(&["foo"]), "invalid filter \"foo\"");
    assert_eq!(err(&["foo=bar"]), "foo is an invalid filter");
    assert_eq!(
        err(&["status=bogus"]),
        "unknown container state: bogus: invalid argument"
    );
    assert_eq!(
        err(&["status=stopping"]),
        "unknown container state: stopping: invalid argument"
    );
    assert_eq!(
        err(&["exited=x"]),
        "exited code out of range '\\x00': strconv.ParseInt: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        err(&["restart-policy=sometimes"]),
        "sometimes invalid restart policy"
    );
    assert_eq!(
        err(&["restart-policy=x", "restart-policy=y"]),
        "x, y invalid restart policies"
    );
    assert_eq!(
        err(&["before=zzz"]),
        "no container with name or ID \"zzz\" found: no such container"
    );
    assert_eq!(
        err(&["until=1h", "until=2h"]),
        "specify exactly one timestamp for until"
    );
    assert_eq!(
        err(&["until=soon"]),
        "failed to parse value as time or duration: \"soon\""
    );
    assert_eq!(
        err(&["should-start-on-boot=maybe"]),
        "strconv.ParseBool: parsing \"maybe\": invalid syntax"
    );
    let ext = |f: &[&str]| {
        ContainerFilter::new(&parse(f).unwrap(), &Fake, Scope::External)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(
        ext(&["volume=/x"]).as_deref(),
        Some("filter volume is not applicable for external containers")
    );
    assert_eq!(ext(&["before=zzz"]), None);
}

#[test]
fn external_containers_are_in_storage_state() {
    let (c, s) = ctr("ffff", "unknown", 5, Status::Exited, 0);
    let subject = Subject {
        cfg: &c,
        st: &s,
        external: true,
        health: String::new(),
    };
    let m = |f: &[&str]| {
        ContainerFilter::new(&parse(f).unwrap(), &Fake, Scope::External)
            .unwrap()
            .matches(&subject)
    };
    assert!(!m(&["status=exited"]));
    assert!(!m(&["exited=0"]));
    assert!(m(&["id=ff"]));
    assert!(m(&["ancestor=feed"]));
}
