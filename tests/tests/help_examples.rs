//! `--help` shows Podman 5's "Examples:" section (cobra's Example field,
//! every line indented by two spaces) between Usage/Aliases and the
//! subcommands or options.

use e2e::podman::TestStore;

#[test]
fn help_has_podmans_examples_in_place() {
    let s = TestStore::new();
    let run = s.ok(&["run", "--help"]);
    assert!(
        run.contains(
            "\n\nExamples:\n  podman run imageID ls -alF /etc\n  podman run --network=host imageID dnf -y install java\n  podman run --volume /var/hostdir:/var/ctrdir -i -t fedora /bin/bash\n\nOptions:\n"
        ),
        "{run}"
    );
    let inspect = s.ok(&["container", "inspect", "--help"]);
    assert!(
        inspect.contains(
            "\n\nExamples:\n  podman container inspect myCtr\n  podman container inspect -l --format '{{.Id}} {{.Config.Labels}}'\n"
        ),
        "{inspect}"
    );
    // `podman help CMD` prints the same.
    assert_eq!(s.ok(&["help", "run"]), run);
    // A command group without examples has none.
    let network = s.ok(&["network", "--help"]);
    assert!(!network.contains("Examples:"), "{network}");
    assert!(s
        .ok(&["network", "create", "--help"])
        .contains("\nExamples:\n  podman network create podman1\n"));
}
