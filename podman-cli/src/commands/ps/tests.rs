use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::entry::*;
use super::reporter::*;
use super::*;
use crate::container::model::{ContainerConfig, ContainerState, PortMapping};
use crate::format::report::rewrite_label_calls;

fn entry(id: &str, name: &str, created: i64, state: &str) -> Entry {
    let cfg = ContainerConfig {
        id: id.into(),
        name: name.into(),
        created_ns: created,
        image_name: "quay.io/x/img:1".into(),
        image_id: "0123456789abcdef0123".into(),
        cmd: vec!["sleep".into(), "1000000000000000000".into()],
        ..Default::default()
    };
    let mut e = Entry::from_record(&cfg, &ContainerState::default());
    e.state = state.into();
    e
}

#[test]
fn json_has_podmans_shape_and_order() {
    let mut e = entry("abc", "web", 1_700_000_000_123_456_789, "created");
    e.created_at = "1 second ago".into();
    e.status = e.status_text();
    let s = go_json(&vec![e]).unwrap();
    let keys: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("    \""))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "AutoRemove",
            "Command",
            "CreatedAt",
            "CIDFile",
            "Exited",
            "ExitedAt",
            "ExitCode",
            "ExposedPorts",
            "Id",
            "Image",
            "ImageID",
            "IsInfra",
            "Labels",
            "Mounts",
            "Names",
            "Namespaces",
            "Networks",
            "Pid",
            "Pod",
            "PodName",
            "Ports",
            "Restarts",
            "Size",
            "StartedAt",
            "State",
            "Status",
            "Created"
        ]
    );
    let v: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v[0]["Created"], 1_700_000_000);
    assert_eq!(v[0]["ExitedAt"], GO_ZERO_UNIX);
    assert_eq!(v[0]["Status"], "Created");
    assert_eq!(v[0]["Namespaces"], json!({}));
    assert_eq!(v[0]["Labels"], Value::Null);
    assert_eq!(v[0]["Command"], json!(["sleep", "1000000000000000000"]));
    assert!(go_json(&json!(["a<b>&"]))
        .unwrap()
        .contains("a\\u003cb\\u003e\\u0026"));
}

#[test]
fn template_fields_are_psreporters() {
    let e = entry(
        "0123456789abcdef",
        "web",
        1_700_000_000_500_000_000,
        "running",
    );
    let row = e.template_row(false, &["k".into()], &Fields::all());
    assert_eq!(row["ID"], "0123456789ab");
    assert_eq!(row["ImageID"], "0123456789ab");
    assert_eq!(row["Command"], "sleep 10000000000...");
    assert_eq!(row["Created"], "2023-11-14 22:13:20.5 +0000 UTC");
    assert_eq!(row["PsLabel0"], "");
    assert_eq!(
        e.template_row(true, &[], &Fields::all())["ID"],
        "0123456789abcdef"
    );
    let only = Fields::of("{{.ID}} {{ json .Labels }} {{truncate .Names 1.5}}");
    let row = e.template_row(false, &[], &only);
    assert_eq!(row.as_object().unwrap().len(), 3, "{row}");
    assert!(Fields::of("{{json .}}").has("Status"));
    assert!(Fields::of("{{range $k, $v := .Labels}}{{$k}}{{end}}").has("Status"));
    assert_eq!(title("initialized"), "Initialized");
}

#[test]
fn label_calls_become_fields() {
    let (f, keys) =
        rewrite_label_calls(r#"{{ .Label "mylabel" }} {{.Label "a"}} {{.Label "mylabel"|upper}}"#);
    assert_eq!(f, "{{ .PsLabel0 }} {{.PsLabel1}} {{.PsLabel0|upper}}");
    assert_eq!(keys, ["mylabel", "a"]);
    let (f, keys) = rewrite_label_calls("{{.Labels}}");
    assert_eq!((f.as_str(), keys.len()), ("{{.Labels}}", 0));
}

#[test]
fn ports_as_podman_prints_them() {
    let p = |hp: u16, cp: u16, r: u16| PortMapping {
        host_ip: String::new(),
        host_port: hp,
        container_port: cp,
        protocol: "tcp".into(),
        range: r,
    };
    let mut exposed = BTreeMap::new();
    for port in ["80", "8080", "8081", "8082", "9000"] {
        exposed.insert(port.to_string(), vec!["tcp".to_string()]);
    }
    exposed.insert("53".to_string(), vec!["udp".to_string()]);
    assert_eq!(
        ports_text(&[p(8000, 80, 1), p(2000, 2000, 3)], Some(&exposed)),
        "0.0.0.0:8000->80/tcp, 0.0.0.0:2000-2002->2000-2002/tcp, 8080-8082/tcp, 9000/tcp, 53/udp"
    );
    assert_eq!(ports_text(&[], None), "");
}

#[test]
fn sorting_and_flags() {
    let mut list = vec![
        entry("b", "zed", 2, "running"),
        entry("a", "amy", 3, "exited"),
        entry("c", "bob", 1, "created"),
    ];
    sort_entries("names", &mut list);
    assert_eq!(
        list.iter().map(|e| e.id.as_str()).collect::<String>(),
        "acb"
    );
    sort_entries("created", &mut list);
    assert_eq!(
        list.iter().map(|e| e.id.as_str()).collect::<String>(),
        "cba"
    );
    sort_entries("status", &mut list);
    assert_eq!(
        list.iter().map(|e| e.id.as_str()).collect::<String>(),
        "cab"
    );
    let args = |extra: &[&str]| {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: PsArgs,
        }
        let mut v = vec!["ps"];
        v.extend_from_slice(extra);
        T::parse_from(v).a
    };
    let err = |extra: &[&str]| check_flags(&args(extra)).unwrap_err().to_string();
    assert_eq!(
        err(&["--sort", "bogus"]),
        "invalid argument \"bogus\" for \"--sort\" flag: \"bogus\" is not a valid value.  Choose from: \"command, created, id, image, names, runningfor, size, status\""
    );
    assert_eq!(
        err(&["-l", "-n", "2"]),
        "last and latest are mutually exclusive"
    );
    assert_eq!(
        err(&["-q", "-s"]),
        "quiet conflicts with size and namespace"
    );
    assert_eq!(err(&["-s", "--ns"]), "size and namespace options conflict");
    assert_eq!(
        err(&["-w", "2", "-l"]),
        "the watch and latest flags cannot be used together"
    );
    assert!(check_flags(&args(&["--namespace", "--notruncate", "--storage"])).is_ok());
    assert!(is_json("json") && is_json(" {{ json }} ") && !is_json("{{json .}}"));
}
