//! `podman build`: ADD of an http URL (downloaded by image-fetcher from a
//! real server on loopback), and the flags that edit the final image's
//! config (--unsetenv, --unsetlabel, --identity-label), as Podman's
//! test/system/070 and 700 use them.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use e2e::build_files::{context, write};
use e2e::podman::{stderr, stdout};

/// A small HTTP/1.1 server: each `/NAME` of `files` answers its content
/// with a Last-Modified header, anything else 404. It serves until the
/// test ends.
fn serve(files: Vec<(String, String)>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let found = files
                .iter()
                .find(|(name, _)| first.starts_with(&format!("GET /{name} ")));
            let answer = if let Some((_, body)) = found {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            };
            let _ = c.write_all(answer.as_bytes());
        }
    });
    port
}

#[test]
fn add_url_downloads_the_file_and_copy_refuses_it() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let port = serve(vec![
        ("index.txt".into(), "served over http\n".into()),
        (
            "Containerfile".into(),
            format!("FROM {r}\nRUN echo from-a-url-containerfile\n"),
        ),
    ]);
    let ctx = context(&format!("FROM {r}\nADD http://127.0.0.1:{port}/index.txt /tmp/\nADD http://127.0.0.1:{port}/index.txt /named\n"));
    let c = ctx.path().to_str().unwrap();
    s.ok(&["build", "-q", "-t", "url", c]);
    // The name from the URL, the content as served, 0600, Last-Modified as mtime.
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "url",
            "sh",
            "-c",
            "cat /tmp/index.txt; stat -c %a:%Y /tmp/index.txt /named"
        ]),
        "served over http\n600:1445412480\n600:1445412480\n"
    );
    // Unchanged content: the step is a cache hit.
    let again = s.run(&["build", "-t", "url", c]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("--> Using cache"),
        "{}",
        stdout(&again)
    );

    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nADD http://127.0.0.1:{port}/missing.txt /tmp/\n"),
    );
    let o = s.run(&["build", "-t", "url2", c]);
    assert_eq!(o.status.code(), Some(125), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("building at STEP \"ADD http://127.0.0.1"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));

    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nCOPY http://127.0.0.1:{port}/index.txt /tmp/\n"),
    );
    let o = s.run(&["build", "-t", "url2", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("source can't be a URL for COPY"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.ok(&["ps", "-a", "-q"]).trim(), "");

    // -f URL: the Containerfile itself downloaded.
    let out = s.ok(&[
        "build",
        "-t",
        "fromurl",
        "-f",
        &format!("http://127.0.0.1:{port}/Containerfile"),
        c,
    ]);
    assert!(out.contains("from-a-url-containerfile"), "{out}");
    let o = s.run(&["build", "-f", &format!("http://127.0.0.1:{port}/nope"), c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("reading Containerfile http://127.0.0.1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_copy_that_selects_nothing_succeeds_and_an_ignored_source_fails() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    std::fs::create_dir(ctx.path().join("subdir")).unwrap();
    write(&ctx.path().join("subdir"), "f", "x\n");
    write(ctx.path(), ".dockerignore", "*\nsubdir\n!*/sub1*\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nCOPY ./ ./\nCOPY subdir ./\n"),
    );
    let o = s.run(&["build", "-t", "ign", c]);
    assert_eq!(o.status.code(), Some(125), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("building at STEP \"COPY subdir ./\""),
        "{}",
        stderr(&o)
    );
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nCOPY ./ ./\n"),
    );
    s.ok(&["build", "-q", "-t", "ign", c]);
    let listing = s.ok(&["run", "--rm", "ign", "ls", "-A", "/"]);
    assert!(!listing.contains("subdir"), "{listing}");
}

#[test]
fn unsetenv_unsetlabel_and_the_identity_label() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!("FROM {r}\nENV KEEP=1 DROP=2\nLABEL a=1 b=2\n"));
    let c = ctx.path().to_str().unwrap();
    s.ok(&["build", "-q", "-t", "labelled", c]);
    write(ctx.path(), "Containerfile", "FROM labelled\nLABEL c=3\n");
    s.ok(&[
        "build",
        "-q",
        "--unsetenv",
        "DROP",
        "--unsetenv",
        "PATH",
        "--unsetlabel",
        "b",
        "-t",
        "unset",
        c,
    ]);
    let fmt = |f: &str| {
        s.ok(&["image", "inspect", "--format", f, "unset"])
            .trim()
            .to_string()
    };
    assert_eq!(fmt("{{.Config.Env}}"), "[KEEP=1]");
    assert_eq!(fmt("{{index .Config.Labels \"a\"}}"), "1");
    let labels = fmt("{{.Config.Labels}}");
    assert!(
        labels.contains("a:1") && labels.contains("c:3") && !labels.contains("b:2"),
        "{labels}"
    );
    let version = s.ok(&["info", "--format", "{{.Host.BuildahVersion}}"]);
    assert!(!version.trim().is_empty());
    assert!(
        labels.contains(&format!("io.buildah.version:{}", version.trim())),
        "{labels}"
    );

    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nLABEL c=3\n"),
    );
    s.ok(&["build", "-q", "--identity-label=false", "-t", "plain", c]);
    let labels = s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.Labels}}",
        "plain",
    ]);
    assert!(!labels.contains("io.buildah.version"), "{labels}");
}

#[test]
fn platform_of_another_architecture_is_recorded_and_lists_refused() {
    let (s, _reg, _r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "payload", "p\n");
    write(
        ctx.path(),
        "Containerfile",
        "FROM scratch\nARG TARGETARCH\nARG TARGETPLATFORM\nCOPY payload /i-am-${TARGETARCH}\nLABEL built.for=$TARGETPLATFORM\n",
    );
    for arch in ["arm64", "amd64"] {
        let tag = format!("plat-{arch}");
        s.ok(&[
            "build",
            "-q",
            "--layers=false",
            "--platform",
            &format!("linux/{arch}"),
            "-t",
            &tag,
            c,
        ]);
        let got = s.ok(&[
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}} {{index .Config.Labels \"built.for\"}}",
            &tag,
        ]);
        assert_eq!(got.trim(), format!("linux/{arch} linux/{arch}"));
        let hist = s.ok(&[
            "image",
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}",
            &tag,
        ]);
        assert!(
            hist.contains(" in /i-am-") || hist.contains("COPY"),
            "{hist}"
        );
    }
    // Same Containerfile, another platform: not the other's cached layers.
    let ids = |t: &str| s.ok(&["image", "inspect", "--format", "{{.RootFS.Layers}}", t]);
    assert_ne!(ids("plat-arm64"), ids("plat-amd64"));

    let o = s.run(&["build", "--platform", "linux/amd64,linux/arm64", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("manifest list"), "{}", stderr(&o));
    for args in [vec!["--manifest", "ml"], vec!["--all-platforms"]] {
        let mut all = vec!["build"];
        all.extend_from_slice(&args);
        all.push(c);
        e2e::podman::refused(&s, &all, "manifest list");
    }
    write(
        ctx.path(),
        "Containerfile",
        "FROM --platform=linux/s390x scratch\nCOPY payload /p\n",
    );
    let o = s.run(&["build", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("give the platform with podman build --platform"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pull_newer_pulls_only_an_image_that_changed() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!("FROM {r}\nLABEL x=1\n"));
    let c = ctx.path().to_str().unwrap();
    let build = || {
        let o = s.run(&["build", "--pull=newer", "--tls-verify=false", c]);
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o), format!("{}{}", stdout(&o), stderr(&o)))
    };
    // The registry holds the image stored here: nothing pulled or said.
    let (_, out) = build();
    assert!(!out.to_lowercase().contains("pull"), "{out}");
    assert!(out.contains("COMMIT"), "{out}");

    // Another image under that name in the registry: pulled, and used.
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nLABEL changed=yes\n"),
    );
    s.ok(&["build", "-q", "-t", "other", c]);
    s.ok(&[
        "push",
        "--tls-verify=false",
        "other",
        &format!("docker://{r}"),
    ]);
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nLABEL y=2\n"),
    );
    let (stdout_text, out) = build();
    assert!(out.contains(&format!("Trying to pull {r}...")), "{out}");
    let id = stdout_text.lines().last().unwrap_or_default().to_string();
    let labels = s.ok(&["image", "inspect", "--format", "{{.Config.Labels}}", &id]);
    assert!(
        labels.contains("changed:yes") && labels.contains("y:2"),
        "{labels}"
    );
    // Pulled once, it is the registry's: not pulled again.
    let (_, out) = build();
    assert!(!out.to_lowercase().contains("pull"), "{out}");
}

#[test]
fn run_pull_newer_pulls_only_an_image_that_changed() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let run = || {
        let o = s.run(&[
            "run",
            "--rm",
            "--pull=newer",
            "--tls-verify=false",
            &r,
            "sh",
            "-c",
            "cat /marker 2>/dev/null || echo none",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o), stderr(&o))
    };
    // The registry holds the image stored here: nothing pulled or said.
    let (out, err) = run();
    assert_eq!(out, "none\n");
    assert!(!err.contains("Trying to pull"), "{err}");

    // Another image under that name in the registry: pulled, and run.
    let ctx = context(&format!("FROM {r}\nRUN echo changed > /marker\n"));
    let c = ctx.path().to_str().unwrap();
    s.ok(&["build", "-q", "-t", "other", c]);
    s.ok(&[
        "push",
        "--tls-verify=false",
        "other",
        &format!("docker://{r}"),
    ]);
    s.ok(&["rmi", "other"]);
    let (out, err) = run();
    assert!(err.contains(&format!("Trying to pull {r}...")), "{err}");
    assert_eq!(out, "changed\n");
    // Pulled once, it is the registry's: not pulled again.
    let (out, err) = run();
    assert_eq!(out, "changed\n");
    assert!(!err.contains("Trying to pull"), "{err}");
}

#[test]
fn add_extracts_xz_and_bzip2_tars_and_rebuilds_when_they_change() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    std::fs::create_dir(ctx.path().join("subtest")).unwrap();
    write(&ctx.path().join("subtest"), "myfile1", "ORIGINAL\n");
    let tar = |flag: &str, name: &str| {
        let st = std::process::Command::new("tar")
            .args(["-C", c, flag, "-f", &format!("{c}/{name}"), "subtest"])
            .status()
            .unwrap();
        assert!(st.success());
    };
    tar("-cJ", "a.tar.xz");
    tar("-cj", "a.tar.bz2");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nADD a.tar.xz /xz/\nADD a.tar.bz2 /bz/\n"),
    );
    s.ok(&["build", "-q", "-t", "arch", c]);
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "arch",
            "cat",
            "/xz/subtest/myfile1",
            "/bz/subtest/myfile1"
        ]),
        "ORIGINAL\nORIGINAL\n"
    );
    // A new archive's content is not the cached layer's.
    write(&ctx.path().join("subtest"), "myfile2", "NEW\n");
    tar("-cJ", "a.tar.xz");
    let o = s.run(&["build", "-t", "arch", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("Using cache"), "{}", stdout(&o));
    assert_eq!(
        s.ok(&["run", "--rm", "arch", "cat", "/xz/subtest/myfile2"]),
        "NEW\n"
    );
}
