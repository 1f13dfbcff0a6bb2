//! The libpod tree (`/v{version}/libpod/...`) and the Docker endpoints the
//! docker CLI tests do not reach (stats, events, df, image archives,
//! volumes, prune), over raw HTTP.

use std::time::Duration;

use e2e::api_service::Api;
use e2e::poll;
use serde_json::{json, Value};

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn libpod_containers_and_pods() {
    let api = Api::start();
    let (code, body) = api.request("GET", "/v5.4.0/libpod/_ping", None);
    assert_eq!((code, body.as_slice()), (200, &b"OK"[..]));
    let (code, body) = api.request("GET", "/v5.4.0/libpod/info", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["store"]["imageStore"]["number"], 1);
    let (code, _) = api.request("GET", "/v3.0.0/libpod/info", None);
    assert_eq!(code, 400, "below libpod's minimum version");
    // A newer client than this service (podman-py 5.8 asks for its own).
    let (code, _) = api.request("GET", "/v5.8.0/libpod/info", None);
    assert_eq!(code, 200, "libpod's tree has no upper bound, as Podman's");
    // A container from a SpecGenerator, started, waited for.
    let spec = json!({"name": "lp", "image": api.image, "command": ["sh", "-c", "exit 3"], "labels": {"a": "b"}});
    let (code, body) = api.request(
        "POST",
        "/v5.4.0/libpod/containers/create",
        Some(spec.to_string().as_bytes()),
    );
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let id = json_of(&body)["Id"].as_str().unwrap().to_string();
    let (code, _) = api.request("GET", "/v5.4.0/libpod/containers/lp/exists", None);
    assert_eq!(code, 204);
    let (code, _) = api.request("POST", "/v5.4.0/libpod/containers/lp/start", None);
    assert_eq!(code, 204);
    let (code, body) = api.request("POST", "/v5.4.0/libpod/containers/lp/wait", None);
    assert_eq!((code, json_of(&body)), (200, json!(3)));
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/json?all=true", None);
    assert_eq!(code, 200);
    let list = json_of(&body);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["Names"], json!(["lp"]), "libpod's names have no slash");
    assert_eq!(mine["ExitCode"], 3);
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/lp/json", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["Name"], "lp");
    let (code, body) = api.request("DELETE", "/v5.4.0/libpod/containers/lp", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)[0]["Id"], id.as_str());
    // Pods.
    let (code, body) = api.request(
        "POST",
        "/v5.4.0/libpod/pods/create",
        Some(br#"{"name":"lpod"}"#),
    );
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let (code, _) = api.request("GET", "/v5.4.0/libpod/pods/lpod/exists", None);
    assert_eq!(code, 204);
    let (code, body) = api.request("POST", "/v5.4.0/libpod/pods/lpod/start", None);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let (code, body) = api.request("GET", "/v5.4.0/libpod/pods/json", None);
    assert_eq!(code, 200);
    let pods = json_of(&body);
    assert_eq!(pods[0]["Name"], "lpod");
    assert_eq!(pods[0]["Status"], "Running");
    let (code, body) = api.request("GET", "/v5.4.0/libpod/pods/lpod/json", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["Name"], "lpod");
    let (code, _) = api.request("DELETE", "/v5.4.0/libpod/pods/lpod?force=true", None);
    assert_eq!(code, 200);
    let (code, _) = api.request("GET", "/v5.4.0/libpod/pods/lpod/exists", None);
    assert_eq!(code, 404);
}

#[test]
fn stats_events_df_volumes_and_image_archives() {
    let api = Api::start();
    let id = api.docker_ok(&["run", "-d", &api.image, "sleep", "1000"]);
    let id = id.trim();
    let (code, body) = api.request(
        "GET",
        &format!("/v1.41/containers/{id}/stats?stream=false&one-shot=true"),
        None,
    );
    assert_eq!(code, 200);
    let st = json_of(&body);
    assert!(st["memory_stats"]["usage"].as_u64().unwrap() > 0, "{st}");
    assert!(st["pids_stats"]["current"].as_u64().unwrap() >= 1, "{st}");
    // Events of what happened, without following.
    let (code, body) = api.request("GET", "/v1.41/events?stream=false&since=0", None);
    assert_eq!(code, 200);
    let text = String::from_utf8_lossy(&body);
    let starts: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["Action"] == "start" && e["id"] == id)
        .collect();
    assert_eq!(starts.len(), 1, "{text}");
    let (code, body) = api.request("GET", "/v1.41/system/df", None);
    assert_eq!(code, 200);
    let df = json_of(&body);
    assert_eq!(df["Containers"].as_array().unwrap().len(), 1);
    assert_eq!(df["Images"].as_array().unwrap().len(), 1);
    // Volumes.
    let (code, body) = api.request(
        "POST",
        "/v1.41/volumes/create",
        Some(br#"{"Name":"v1","Labels":{"x":"y"}}"#),
    );
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let (code, body) = api.request("GET", "/v1.41/volumes", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["Volumes"][0]["Name"], "v1");
    let (code, _) = api.request("DELETE", "/v1.41/volumes/v1", None);
    assert_eq!(code, 204);
    let (code, _) = api.request("GET", "/v1.41/volumes/v1", None);
    assert_eq!(code, 404);
    // Save through the API, remove, load it back.
    let (code, tar) = api.request("GET", &format!("/v1.41/images/{}/get", api.image), None);
    assert_eq!(code, 200);
    assert!(
        tar.len() > 100_000,
        "a docker archive ({} bytes)",
        tar.len()
    );
    api.docker_ok(&["rm", "-f", id]);
    let (code, _) = api.request("DELETE", &format!("/v1.41/images/{}", api.image), None);
    assert_eq!(code, 200);
    let (code, body) = api.request("POST", "/v1.41/images/load", Some(&tar));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(json_of(&body)["stream"]
        .as_str()
        .unwrap()
        .contains("Loaded image"));
    poll::until(Duration::from_secs(5), "the loaded image", || {
        api.docker_ok(&["images", "-q"]).lines().count() == 1
    });
    // Prune: nothing stopped is left after the rm, so nothing to remove.
    let (code, body) = api.request("POST", "/v1.41/containers/prune", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["ContainersDeleted"], json!([]));
}

#[test]
fn libpod_network_connect_takes_static_ips_and_mac() {
    let api = Api::start();
    let (code, body) = api.request(
        "POST",
        "/v5.4.0/libpod/networks/create",
        Some(br#"{"name":"lpnet","subnets":[{"subnet":"10.98.41.0/24"}]}"#),
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let id = api.docker_ok(&["run", "-d", &api.image, "sleep", "1000"]);
    let id = id.trim();
    let body = json!({"container": id, "static_ips": ["10.98.41.9"], "static_mac": "02:42:0a:62:29:09", "aliases": ["lp-alias"]});
    let (code, b) = api.request(
        "POST",
        "/v5.4.0/libpod/networks/lpnet/connect",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&b));
    let addr = api.docker_ok(&["exec", id, "ip", "-o", "addr", "show", "eth1"]);
    assert!(addr.contains("10.98.41.9/24"), "{addr}");
    let mac = api.docker_ok(&["exec", id, "cat", "/sys/class/net/eth1/address"]);
    assert_eq!(mac.trim(), "02:42:0a:62:29:09");
    // Two IPv4 addresses for one network: refused, nothing changed.
    let body = json!({"container": id, "static_ips": ["10.98.41.10", "10.98.41.11"]});
    let (code, b) = api.request(
        "POST",
        "/v5.4.0/libpod/networks/podman/connect",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&b));
    api.docker_ok(&["rm", "-f", id]);
    let (code, _) = api.request("DELETE", "/v5.4.0/libpod/networks/lpnet", None);
    assert_eq!(code, 200);
}
