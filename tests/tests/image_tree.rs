//! `podman image tree`: an image's layers with sizes and the tagged
//! images they top; `--whatrequires` what is stacked on an image.

use e2e::build_files::context;

#[test]
fn tree_lists_layers_and_whatrequires_the_images_on_top() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!(
        "FROM {r}\nRUN echo a > /a\nRUN echo b > /b\nCMD [\"true\"]\n"
    ));
    let c = ctx.path().to_str().unwrap();
    let id = s.ok(&["build", "-q", "-t", "treeimg", c]);
    let id = id.trim();
    let base_layers = s.ok(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", &r]);
    let base_layers: usize = base_layers.trim().parse().unwrap();

    let out = s.ok(&["image", "tree", "treeimg"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("Image ID: {}", &id[..12]), "{out}");
    assert_eq!(lines[1], "Tags:     [localhost/treeimg:latest]", "{out}");
    assert!(
        lines[2].starts_with("Size:     ") && lines[2].ends_with("B"),
        "{out}"
    );
    assert_eq!(lines[3], "Image Layers", "{out}");
    assert_eq!(lines.len(), 4 + base_layers + 2, "{out}");
    assert!(
        lines[3 + base_layers].starts_with("├── ID: ")
            && lines[3 + base_layers].ends_with(&format!("Top Layer of: [{r}]")),
        "{out}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("└── ID: ") && last.ends_with("Top Layer of: [localhost/treeimg:latest]"),
        "{out}"
    );

    let out = s.ok(&["image", "tree", "--whatrequires", &r]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[4].starts_with("└── ID: ") && lines[4].ends_with(&format!("[{r}]")),
        "{out}"
    );
    assert!(lines[5].starts_with("    └── ID: "), "{out}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("        └── ID: ")
            && last.ends_with("Top Layer of: [localhost/treeimg:latest]"),
        "{out}"
    );
}
