//! `podman system df` (Podman's test/system/320): the summary's counts
//! and sizes, its JSON and templates, and `--verbose`'s three tables.

use e2e::podman::{stderr, with_busybox};
use serde_json::Value;

#[test]
fn summary_counts_sizes_and_verbose_tables() {
    let (s, _reg, r) = with_busybox();
    let summary = s.ok(&["system", "df"]);
    let lines: Vec<&str> = summary.lines().collect();
    assert!(lines[0].starts_with("TYPE"), "{summary}");
    assert!(lines[0].contains("RECLAIMABLE"), "{summary}");
    assert!(
        lines[1].starts_with("Images ") && lines[1].contains(" 1 "),
        "{summary}"
    );
    assert!(
        lines[2].starts_with("Containers ") && lines[2].contains(" 0 "),
        "{summary}"
    );
    assert!(lines[3].starts_with("Local Volumes "), "{summary}");

    s.ok(&[
        "run",
        "--name",
        "df-stopped",
        "-v",
        "/vol-one",
        &r,
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /written",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "df-running",
        "-v",
        "/vol-two",
        &r,
        "sleep",
        "100",
    ]);
    assert_eq!(
        s.ok(&[
            "system",
            "df",
            "--format",
            "{{.Type}}:{{.Total}}:{{.Active}}"
        ]),
        "Images:1:1\nContainers:2:1\nLocal Volumes:2:2\n"
    );
    let json: Value = serde_json::from_str(&s.ok(&["system", "df", "--format", "json"])).unwrap();
    let image_size: u64 = s
        .ok(&["image", "inspect", "--format", "{{.Size}}", &r])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(json[0]["Type"], "Images");
    assert_eq!(json[0]["TotalCount"], 1);
    assert!(json[0]["RawSize"].as_u64().unwrap() >= image_size, "{json}");
    assert_eq!(json[0]["RawReclaimable"], 0, "the image is in use: {json}");
    assert_eq!(json[1]["Total"], 2);
    // Containers' sizes are their writable layers' (inspect's SizeRw):
    // the stopped one's (its 5000 bytes and what podman put there) is
    // reclaimable, the running one's is not.
    let size_rw = |name: &str| -> u64 {
        s.ok(&["inspect", "--size", "--format", "{{.SizeRw}}", name])
            .trim()
            .parse()
            .unwrap()
    };
    let (stopped, running) = (size_rw("df-stopped"), size_rw("df-running"));
    assert!(stopped >= 5000, "{stopped}");
    assert_eq!(json[1]["RawSize"], stopped + running, "{json}");
    assert_eq!(json[1]["RawReclaimable"], stopped, "{json}");
    assert_eq!(json[2]["Size"], "0B");

    let verbose = s.ok(&["system", "df", "-v"]);
    assert!(
        verbose.starts_with("Images space usage:\n\nREPOSITORY"),
        "{verbose}"
    );
    assert!(verbose.contains("SHARED SIZE"), "{verbose}");
    assert!(
        verbose.contains("\nContainers space usage:\n\nCONTAINER ID"),
        "{verbose}"
    );
    assert!(
        verbose.contains("df-running") && verbose.contains("df-stopped"),
        "{verbose}"
    );
    assert!(
        verbose.contains("\nLocal Volumes space usage:\n\nVOLUME NAME"),
        "{verbose}"
    );

    let o = s.run(&["system", "df", "-v", "--format", "json"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("cannot combine --format and --verbose flags"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "-v", "df-stopped", "df-running"]);
}
