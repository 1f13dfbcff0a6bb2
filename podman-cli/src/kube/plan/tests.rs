use super::*;
use crate::kube::model::parse_all;

fn plan_of(yaml: &str) -> Result<Plan, KubeError> {
    plan(&parse_all(yaml).unwrap(), &[], &PlayOptions::default())
}

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  annotations: {note: hi}
spec:
  hostname: webhost
  restartPolicy: Never
  hostAliases:
  - ip: 10.1.2.3
    hostnames: [db, db.local]
  containers:
  - name: srv
    image: quay.io/x/y:1
    command: [/bin/sh, -c]
    args: [echo hi]
    workingDir: /srv
    env:
    - {name: A, value: "1"}
    - name: B
      valueFrom: {configMapKeyRef: {name: cfg, key: b}}
    envFrom:
    - configMapRef: {name: cfg}
      prefix: P_
    ports:
    - {containerPort: 80, hostPort: 8080}
    - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
    - {containerPort: 9000}
    - {name: hp, hostPort: 7070}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: host, mountPath: "/h:z", readOnly: true}
    - {name: cfgvol, mountPath: /etc/cfg}
    - {name: scratch, mountPath: /tmp/s}
    securityContext:
      runAsUser: 1000
      runAsGroup: 100
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
    resources:
      limits: {memory: 128Mi, cpu: 500m}
      requests: {memory: 64Mi, cpu: "0.25"}
    livenessProbe:
      exec: {command: [cat, /tmp/ok]}
      periodSeconds: 5
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: mydata}
  - name: host
    hostPath: {path: /srv/h, type: DirectoryOrCreate}
  - name: cfgvol
    configMap:
      name: cfg
      items: [{key: b, path: sub/b.txt}]
  - name: scratch
    emptyDir: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {b: bee, c: sea}
---
kind: PersistentVolumeClaim
metadata: {name: mydata}
---
kind: Service
metadata: {name: ignored}
"#;

#[test]
fn a_pod_becomes_pod_and_container_options() {
    let p = plan_of(POD).unwrap();
    assert_eq!(p.claims, ["mydata"]);
    assert_eq!(p.pods.len(), 1);
    let pod = &p.pods[0];
    assert_eq!(pod.name, "web");
    assert_eq!(pod.pod.hostname.as_deref(), Some("webhost"));
    assert_eq!(pod.pod.restart.as_deref(), Some("no"));
    assert_eq!(pod.pod.labels, ["app=web"]);
    assert_eq!(pod.pod.add_host, ["db:10.1.2.3", "db.local:10.1.2.3"]);
    assert_eq!(
        pod.pod.publish,
        ["8080:80/tcp", "127.0.0.1:5353:53/udp", "7070:7070/tcp"]
    );
    let c = &pod.containers[0];
    assert_eq!(c.name.as_deref(), Some("web-srv"));
    assert_eq!(c.pod.as_deref(), Some("web"));
    assert_eq!(c.entrypoint.as_deref(), Some(r#"["/bin/sh","-c"]"#));
    assert_eq!(c.command, ["echo hi"]);
    assert_eq!(c.workdir.as_deref(), Some("/srv"));
    assert_eq!(c.env, ["P_b=bee", "P_c=sea", "A=1", "B=bee"]);
    assert_eq!(c.user.as_deref(), Some("1000:100"));
    assert_eq!(c.read_only, Some(true));
    assert_eq!(c.security_opt, ["no-new-privileges"]);
    assert_eq!(c.cap_add, ["NET_ADMIN"]);
    assert_eq!(c.cap_drop, ["ALL"]);
    assert_eq!(c.resources.memory.as_deref(), Some("134217728"));
    assert_eq!(c.resources.cpus.as_deref(), Some("0.5"));
    assert_eq!(c.resources.memory_reservation.as_deref(), Some("67108864"));
    assert_eq!(c.resources.cpu_shares.as_deref(), Some("256"));
    assert_eq!(c.annotation, ["note=hi"]);
    assert_eq!(c.volume, ["/srv/h:/h:z,ro"]);
    assert_eq!(
        c.mount,
        [
            "type=volume,source=mydata,destination=/data",
            "type=volume,source=cfg,destination=/etc/cfg",
            "type=volume,source=scratch,destination=/tmp/s",
        ]
    );
    assert_eq!(c.health.cmd.as_deref(), Some(r#"["cat","/tmp/ok"]"#));
    assert_eq!(c.health.interval.as_deref(), Some("5s"));
    assert_eq!(c.health.retries.as_deref(), Some("3"));
    // Never restarts, so a failing probe does not restart either.
    assert_eq!(c.health.on_failure, None);
    assert_eq!(
        pod.volumes,
        [
            PodVolume::HostDir("/srv/h".into()),
            PodVolume::Config {
                name: "cfg".into(),
                files: [("sub/b.txt".to_string(), "bee".to_string())].into(),
            },
            PodVolume::Empty {
                volume: "scratch".into()
            },
        ]
    );
}

#[test]
fn a_deployment_plays_its_template_as_name_pod() {
    let p = plan_of(
        "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1\n  template:\n    metadata: {labels: {x: y}}\n    spec:\n      containers: [{name: c, image: i, args: [a]}]\n",
    )
    .unwrap();
    assert_eq!(p.pods[0].name, "d-pod");
    assert_eq!(p.pods[0].containers[0].name.as_deref(), Some("d-pod-c"));
    assert_eq!(p.pods[0].containers[0].entrypoint, None);
    assert_eq!(p.pods[0].containers[0].command, ["a"]);
    assert_eq!(p.pods[0].pod.restart.as_deref(), Some("always"));
    // No tag: pulled when newer, as Podman does; a tag other than latest: when missing.
    assert_eq!(p.pods[0].containers[0].pull, "newer");
    assert!(latest_or_untagged("localhost:5000/x:latest"));
    assert!(latest_or_untagged("localhost:5000/x"));
    assert!(!latest_or_untagged("localhost:5000/x:1"));
    assert!(!latest_or_untagged("x@sha256:00"));
}

#[test]
fn publish_flags_override_the_yaml_for_their_container_port() {
    let objects = parse_all(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 8081}]\n",
    )
    .unwrap();
    let o = PlayOptions {
        publish: vec!["9090:80".into()],
        ..Default::default()
    };
    let p = plan(&objects, &[], &o).unwrap();
    assert_eq!(p.pods[0].pod.publish, ["9090:80", "8081:81/tcp"]);
}

#[test]
fn what_cannot_be_played_is_refused_by_name() {
    let cases = [
        ("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n", "has no image"),
        ("kind: Pod\nmetadata: {}\nspec: {containers: [{name: c, image: i}]}\n", "metadata.name"),
        ("kind: Pod\nmetadata: {name: p}\nspec: {}\n", "no containers"),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i, volumeMounts: [{name: v, mountPath: /v}]}]}\n",
            "not in the pod's volumes",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i, env: [{name: E, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]}]}\n",
            "no such ConfigMap \"nope\"",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {initContainers: [{name: i, image: i}], containers: [{name: c, image: i}]}\n",
            "initContainers",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i, resources: {limits: {memory: lots}}}]}\n",
            "memory quantity",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n  volumes: [{name: v, configMap: {name: m}}]\n---\nkind: ConfigMap\nmetadata: {name: m}\ndata: {../x: y}\n",
            "without '..'",
        ),
    ];
    for (yaml, want) in cases {
        let e = plan_of(yaml).unwrap_err().to_string();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}

#[test]
fn quantities_follow_kubernetes() {
    use serde_yaml_ng::Value;
    assert_eq!(memory(&Value::String("1Gi".into())).unwrap(), 1 << 30);
    assert_eq!(memory(&Value::String("1M".into())).unwrap(), 1_000_000);
    assert_eq!(memory(&Value::Number(512.into())).unwrap(), 512);
    assert_eq!(millicpu(&Value::String("250m".into())).unwrap(), 250);
    assert_eq!(millicpu(&Value::Number(2.into())).unwrap(), 2000);
    assert!(millicpu(&Value::String("-1".into())).is_err());
}
