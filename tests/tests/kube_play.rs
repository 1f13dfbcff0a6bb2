//! `kube play` / `kube down` end to end with real runc: Kubernetes YAML
//! as a pod whose containers share an emptyDir, read a ConfigMap as env
//! and as files, bind a hostPath made on demand and keep a claim's named
//! volume; `--replace`, `--start=false`, `play kube` and bad YAML that
//! leaves nothing behind.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use e2e::podman::{refused, stderr};
use e2e::poll;

fn yaml(image: &str, host_dir: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: kpcfg
data:
  greeting: hello
  app.conf: "level=3"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: kpclaim
---
apiVersion: v1
kind: Pod
metadata:
  name: kpweb
  labels:
    app: kpweb
spec:
  restartPolicy: Never
  containers:
  - name: writer
    image: {image}
    command: ["sh", "-c"]
    args: ["echo shared > /scratch/f; echo kept > /claim/f; echo host > /host/f; sleep 600"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: kpcfg, key: greeting}}
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
    - {{name: claim, mountPath: /claim}}
    - {{name: host, mountPath: /host}}
  - name: reader
    image: {image}
    command: ["sleep", "600"]
    envFrom:
    - configMapRef: {{name: kpcfg}}
      prefix: CFG_
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
    - {{name: conf, mountPath: /etc/app, readOnly: true}}
  volumes:
  - name: scratch
    emptyDir: {{}}
  - name: claim
    persistentVolumeClaim: {{claimName: kpclaim}}
  - name: host
    hostPath: {{path: {host_dir}, type: DirectoryOrCreate}}
  - name: conf
    configMap:
      name: kpcfg
      items: [{{key: app.conf, path: conf.d/app.conf}}]
"#
    )
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn a_pod_yaml_plays_with_its_volumes_and_config_and_goes_down() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    let tmp = tempfile::tempdir().unwrap();
    let host_dir = tmp.path().join("made/here");
    let file = write(
        tmp.path(),
        "pod.yaml",
        &yaml(&image, &host_dir.display().to_string()),
    );

    let out = s.ok(&["kube", "play", "--network", "none", &file]);
    // Podman's report: the claim's volume, then the pod and its containers.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0..2], ["Volumes:", "kpclaim"], "{out}");
    assert_eq!(lines[2], "Pod:", "{out}");
    let pod_id = lines[3];
    assert_eq!(lines[4], "Containers:", "{out}");
    assert_eq!(lines.len(), 8, "{out}");
    assert_eq!(lines[7], "");
    assert_eq!(
        s.ok(&["pod", "inspect", "--format", "{{.ID}}", "kpweb"])
            .trim(),
        pod_id
    );
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Id}}", "kpweb-writer"])
            .trim(),
        lines[5]
    );
    assert_eq!(
        s.ok(&["pod", "inspect", "--format", "{{.Labels.app}}", "kpweb"])
            .trim(),
        "kpweb"
    );

    // The writer's files appear for the reader (shared emptyDir), in the
    // claim's volume and in the host directory made for the hostPath.
    poll::until(Duration::from_secs(30), "the writer's files", || {
        s.run(&["exec", "kpweb-reader", "cat", "/scratch/f"]).stdout == b"shared\n"
    });
    let vol = s.ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Mountpoint}}",
        "kpclaim",
    ]);
    poll::until(Duration::from_secs(10), "the claim's file", || {
        std::fs::read_to_string(std::path::Path::new(vol.trim()).join("f"))
            .ok()
            .as_deref()
            == Some("kept\n")
    });
    assert_eq!(
        std::fs::read_to_string(host_dir.join("f")).unwrap(),
        "host\n"
    );

    // ConfigMap values as env and as files.
    assert_eq!(
        s.ok(&["exec", "kpweb-writer", "sh", "-c", "echo $GREETING"]),
        "hello\n"
    );
    let env = s.ok(&["exec", "kpweb-reader", "env"]);
    assert!(
        env.contains("CFG_greeting=hello") && env.contains("CFG_app.conf=level=3"),
        "{env}"
    );
    assert_eq!(
        s.ok(&["exec", "kpweb-reader", "cat", "/etc/app/conf.d/app.conf"]),
        "level=3"
    );
    let o = s.run(&["exec", "kpweb-reader", "touch", "/etc/app/x"]);
    assert_ne!(o.status.code(), Some(0), "the ConfigMap mount is read-only");

    // Playing it again is refused while the pod exists, and changes nothing.
    let o = s.run(&["kube", "play", "--network", "none", &file]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("kpweb"), "{}", stderr(&o));
    assert_eq!(
        s.ok(&["pod", "inspect", "--format", "{{.ID}}", "kpweb"])
            .trim(),
        pod_id
    );

    // --replace makes it anew.
    let out = s.ok(&["kube", "play", "--replace", "--network", "none", &file]);
    let new_id = out.lines().nth(1).unwrap();
    assert_ne!(new_id, pod_id, "{out}");

    // down: the pod and its containers go; the claim stays without --force.
    let out = s.ok(&["kube", "down", &file]);
    assert_eq!(
        out,
        format!("Pods stopped:\n{new_id}\nPods removed:\n{new_id}\nSecrets removed:\nVolumes removed:\n")
    );
    assert_eq!(s.ok(&["pod", "ps", "-q"]), "");
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert_eq!(s.ok(&["volume", "exists", "kpclaim"]), "");
    // The emptyDir's anonymous volume went with the pod, as in Podman.
    assert_ne!(
        s.run(&["volume", "exists", "scratch"]).status.code(),
        Some(0)
    );
    let out = s.ok(&["play", "kube", "--down", "--force", &file]);
    assert!(out.ends_with("Volumes removed:\nkpclaim\n"), "{out}");
    assert_ne!(
        s.run(&["volume", "exists", "kpclaim"]).status.code(),
        Some(0)
    );
}

#[test]
fn a_deployment_from_stdin_plays_one_pod_and_start_false_leaves_it_created() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    let text = format!(
        "kind: Deployment\nmetadata: {{name: kpdep}}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: main\n        image: {image}\n        args: [sleep, '600']\n"
    );
    let mut child = s
        .cmd()
        .args(["play", "kube", "--start=false", "--network", "none", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Limiting replica count to 1"),
        "{}",
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("Pod:\n") && out.contains("\nContainer:\n"),
        "{out}"
    );
    assert_eq!(
        s.ok(&[
            "ps",
            "-a",
            "--filter",
            "pod=kpdep-pod",
            "--format",
            "{{.Names}} {{.State}}"
        ])
        .lines()
        .filter(|l| !l.contains("infra"))
        .collect::<Vec<_>>(),
        ["kpdep-pod-main created"]
    );
    // Config.Env shows libpod's defaults under the image's variables.
    let env = s.ok(&["inspect", "--format", "{{.Config.Env}}", "kpdep-pod-main"]);
    assert!(
        env.contains("container=podman") && env.contains("PATH=/"),
        "{env}"
    );
    s.ok(&["pod", "start", "kpdep-pod"]);
    poll::until(Duration::from_secs(20), "the pod running", || {
        s.ok(&["inspect", "--format", "{{.State.Status}}", "kpdep-pod-main"])
            .trim()
            == "running"
    });
}

#[test]
fn bad_yaml_is_refused_in_one_line_and_leaves_nothing() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("kind: Pod\nmetadata: {name: kpbad}\nspec: {containers: [{name: c}]}\n", "has no image"),
        (
            &*format!("kind: Pod\nmetadata: {{name: kpbad}}\nspec: {{containers: [{{name: c, image: {image}, volumeMounts: [{{name: v, mountPath: /v}}]}}]}}\n"),
            "not in the pod's volumes",
        ),
        (
            &*format!("kind: Pod\nmetadata: {{name: kpbad}}\nspec:\n  containers: [{{name: c, image: {image}}}]\n  volumes: [{{name: v, hostPath: {{path: /nonexistent/kp, type: Directory}}}}]\n"),
            "/nonexistent/kp",
        ),
        ("kind: Pod\nmetadata: {name: kpbad\nspec: [\n", "unable to read kube YAML"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = write(tmp.path(), &format!("bad{i}.yaml"), text);
        refused(&s, &["kube", "play", "--network", "none", &f], want);
        assert_eq!(s.ok(&["pod", "ps", "-q"]), "", "{text}");
        assert_eq!(s.ok(&["ps", "-aq"]), "", "{text}");
    }
    let good = write(
        tmp.path(),
        "good.yaml",
        &format!("kind: Pod\nmetadata: {{name: kpbad}}\nspec: {{containers: [{{name: c, image: {image}}}]}}\n"),
    );
    refused(
        &s,
        &["kube", "play", "--annotation", "val", &good],
        "annotation \"val\" must include an '=' sign",
    );
    assert_eq!(s.ok(&["pod", "ps", "-q"]), "");
    // A container that fails to be made takes its pod with it.
    let f = write(
        tmp.path(),
        "missing-image.yaml",
        "kind: Pod\nmetadata: {name: kpbad}\nspec: {containers: [{name: c, image: localhost/kp-no-such-image, imagePullPolicy: Never}]}\n",
    );
    let o = s.run(&["kube", "play", "--network", "none", &f]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(s.ok(&["pod", "ps", "-q"]), "");
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}
