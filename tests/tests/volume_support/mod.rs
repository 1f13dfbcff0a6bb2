//! Helpers for the volume tests (volumes.rs, volumes_in_containers.rs).

use std::path::PathBuf;

use e2e::podman::TestStore;

pub fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

pub fn inspect(s: &TestStore, name: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["volume", "inspect", name])).expect("inspect JSON");
    v[0].clone()
}

pub fn mountpoint(s: &TestStore, name: &str) -> PathBuf {
    PathBuf::from(
        s.ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", name])
            .trim(),
    )
}

pub fn names(s: &TestStore) -> Vec<String> {
    let mut v: Vec<String> = s
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}
