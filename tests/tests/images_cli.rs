//! Image commands as Podman 5 has them (test/system/010, 020, 110 of
//! Podman): rmi exit codes and messages, quiet helpers, images sorting,
//! filters and formats, tag/untag, history.

use e2e::image_env::assert_fails;
use e2e::podman::{stderr, stdout, with_busybox};

#[test]
fn rmi_force_removes_users_quietly() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["create", "--name", "user", "--network", "none", &r, "true"]);
    s.ok(&["run", "--name", "ran", "--network", "none", &r, "true"]);
    s.ok(&["run", "-d", "--name", "runs", "--network", "none", &r, "sleep", "100"]);
    let iid = s.ok(&["image", "inspect", "--format", "{{.Id}}", &r]);
    let iid = iid.trim();
    let o = s.run(&["rmi", "-a"]);
    assert_fails(&o, 2, "image is in use by a container: consider listing external containers and force-removing image");
    let o = s.run(&["rmi", "-f", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Untagged: {r}\nDeleted: {iid}\n"));
    assert_eq!(stderr(&o), "", "helpers must stay quiet");
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}
