//! ctr-monitor end to end: real runc, real busybox containers, the gRPC API
//! over the socketpair podman uses and over monitor.sock, the attach socket,
//! exit files, exit commands, kills, exec and the runtime's own errors. The
//! monitor's own lifetime (callers that go away, its memory) is in
//! monitor_lifetime.rs.
//!
//! Needs root, runc, and `cargo build -p ctr-monitor` into the same target
//! directory (or PODMAN_TEST_BIN_DIR).

#[allow(dead_code)]
#[path = "monitor_support/mod.rs"]
mod monitor_support;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use proto::monitor::v1::{
    exec_event, ContainerState, CreateContainerRequest, ExecRequest, ExecState, ExecStatusRequest,
    KillRequest, ReopenLogRequest, ResizeRequest, StartContainerRequest, StatusRequest,
    WaitRequest,
};
use serde_json::json;

use e2e::monitor_env::Env;
use monitor_support::*;

#[tokio::test]
async fn exit_code_and_both_streams_reach_the_k8s_log() -> Result<()> {
    let env = Env::new();
    let id = "mon-exit3";
    let bundle = env.bundle(id, &["sh", "-c", "echo out; echo err >&2; exit 3"], false)?;
    let (mut helper, mut client) = spawn_monitor().await?;
    let created = create_start(&mut client, env.request(id, &bundle)).await?;
    assert!(created.pid > 0 && created.monitor_pid > 0);
    assert_ne!(
        created.monitor_pid as u32,
        helper.pid(),
        "the monitor runs detached from the process podman spawned"
    );
    let status = client
        .wait(WaitRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!(status.state(), ContainerState::Exited);
    assert_eq!(
        status.exit.as_ref().map(|e| (e.exit_code, e.signal)),
        Some((3, 0))
    );
    assert_eq!(
        std::fs::read_to_string(env.path(&format!("exits/{id}")))?,
        "3"
    );
    let j = exit_json(&env, id)?;
    assert_eq!(
        (
            j["exit_code"].as_i64(),
            j["signal"].as_i64(),
            j["oom_killed"].as_bool()
        ),
        (Some(3), Some(0), Some(false))
    );
    let log = std::fs::read_to_string(env.path(&format!("{id}.log")))?;
    let records: Vec<Vec<&str>> = log.lines().map(|l| l.splitn(4, ' ').collect()).collect();
    assert!(
        records.iter().any(|r| r[1..] == ["stdout", "F", "out"]),
        "{log}"
    );
    assert!(
        records.iter().any(|r| r[1..] == ["stderr", "F", "err"]),
        "{log}"
    );
    assert!(
        records
            .iter()
            .all(|r| r[0].len() == 35 && r[0].contains('T')),
        "{log}"
    );
    drop(client);
    helper.finish(Duration::from_secs(5)).await?;
    assert!(
        wait_gone(created.monitor_pid).await,
        "the monitor exits after the container"
    );
    Ok(())
}

#[tokio::test]
async fn attach_sends_stdin_and_streams_output() -> Result<()> {
    let env = Env::new();
    let id = "mon-stdin";
    let bundle = env.bundle(
        id,
        &["sh", "-c", "read line; echo got:$line; cat; echo done >&2"],
        false,
    )?;
    let (_helper, mut client) = spawn_monitor().await?;
    let req = CreateContainerRequest {
        stdin: true,
        stdin_once: true,
        ..env.request(id, &bundle)
    };
    let created = client.create_container(req).await?.into_inner();
    assert_eq!(
        created.attach_socket,
        env.path(&format!("s/{id}/attach")).display().to_string()
    );
    let attach = Attach::connect(&created.attach_socket)?;
    client
        .start_container(StartContainerRequest { id: id.into() })
        .await?;
    attach.send(0, b"hello\n")?;
    attach.send(0, b"more input\n")?;
    attach.send(2, b"")?;
    let got = attach.collect().await?;
    assert_eq!(got.stdout, "got:hello\nmore input\n");
    assert_eq!(got.stderr, "done\n");
    assert_eq!(got.exit, Some(0));
    Ok(())
}

#[tokio::test]
async fn terminal_container_gets_a_pty_that_resizes() -> Result<()> {
    let env = Env::new();
    let id = "mon-tty";
    let bundle = env.bundle(id, &["sh", "-c", "tty; stty size"], true)?;
    let (_helper, mut client) = spawn_monitor().await?;
    let req = CreateContainerRequest {
        terminal: true,
        rows: 24,
        cols: 80,
        ..env.request(id, &bundle)
    };
    let created = client.create_container(req).await?.into_inner();
    client
        .resize(ResizeRequest {
            id: id.into(),
            exec_id: String::new(),
            rows: 33,
            cols: 111,
        })
        .await?;
    let attach = Attach::connect(&created.attach_socket)?;
    client
        .start_container(StartContainerRequest { id: id.into() })
        .await?;
    let got = attach.collect().await?;
    assert!(got.stdout.starts_with("/dev/pts/"), "{got:?}");
    assert!(got.stdout.contains("33 111"), "{got:?}");
    assert_eq!(got.exit, Some(0));
    let log = std::fs::read_to_string(env.path(&format!("{id}.log")))?;
    assert!(log.contains(" stdout F /dev/pts/"), "{log}");
    Ok(())
}

#[tokio::test]
async fn kill_is_recorded_with_its_signal() -> Result<()> {
    let env = Env::new();
    let id = "mon-kill";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let (_helper, mut client) = spawn_monitor().await?;
    let created = create_start(&mut client, env.request(id, &bundle)).await?;
    let st = client
        .status(StatusRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!((st.state(), st.pid), (ContainerState::Running, created.pid));
    assert!(st.started_at_unix_nanos > 0);
    // logrotate moved the log away: ReopenLog starts a new one.
    let log = env.path(&format!("{id}.log"));
    std::fs::rename(&log, env.path("rotated.log"))?;
    client
        .reopen_log(ReopenLogRequest { id: id.into() })
        .await?;
    assert!(log.exists());
    let k = client
        .kill(KillRequest {
            id: id.into(),
            signal: 9,
            all: false,
        })
        .await?
        .into_inner();
    assert!(!k.already_exited);
    let st = client
        .wait(WaitRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!(
        st.exit.as_ref().map(|e| (e.exit_code, e.signal)),
        Some((137, 9))
    );
    assert_eq!(
        std::fs::read_to_string(env.path(&format!("exits/{id}")))?,
        "137"
    );
    assert_eq!(exit_json(&env, id)?["signal"], 9);
    Ok(())
}

#[tokio::test]
async fn exit_command_runs_after_the_exit_file() -> Result<()> {
    let env = Env::new();
    let id = "mon-exitcmd";
    let bundle = env.bundle(id, &["true"], false)?;
    let script = env.path("on-exit.sh");
    let marker = env.path("marker");
    let exit_file = env.path(&format!("exits/{id}"));
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"$@ $(cat \"$2\")\" > \"$1\"\necho exit command ran\n",
    )?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let (mut helper, mut client) = spawn_monitor().await?;
    let req = CreateContainerRequest {
        exit_command: vec![
            script.display().to_string(),
            marker.display().to_string(),
            exit_file.display().to_string(),
        ],
        ..env.request(id, &bundle)
    };
    let created = create_start(&mut client, req).await?;
    drop(client);
    helper.finish(Duration::from_secs(5)).await?;
    assert!(wait_gone(created.monitor_pid).await);
    let got = std::fs::read_to_string(&marker).context("the exit command did not run")?;
    assert_eq!(
        got.trim(),
        format!("{} {} 0", marker.display(), exit_file.display()),
        "it saw the exit file"
    );
    let mlog = std::fs::read_to_string(&created.monitor_log)?;
    assert!(
        mlog.contains("exit command ran"),
        "its output goes to the monitor log: {mlog}"
    );
    Ok(())
}

#[tokio::test]
async fn the_runtimes_own_error_reaches_the_caller() -> Result<()> {
    let env = Env::new();
    let id = "mon-bad";
    let bundle = env.bundle(id, &["/nonexistent"], false)?;
    let (mut helper, mut client) = spawn_monitor().await?;
    let err = client
        .create_container(env.request(id, &bundle))
        .await
        .expect_err("create must fail");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(
        err.message()
            .contains("exec: \"/nonexistent\": stat /nonexistent: no such file or directory"),
        "{:?}",
        err.message()
    );
    let st = helper.finish(Duration::from_secs(5)).await?;
    assert!(st.success());
    assert!(env.runc_status(id).is_empty(), "nothing left in runc");
    Ok(())
}

#[tokio::test]
async fn exec_returns_output_and_exit_code() -> Result<()> {
    let env = Env::new();
    let id = "mon-exec";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let (_helper, mut client) = spawn_monitor().await?;
    create_start(&mut client, env.request(id, &bundle)).await?;
    let process = |args: &[&str]| -> Result<String> {
        let p = env.path(&format!("process-{}.json", args.len()));
        let caps = json!(["CAP_KILL"]);
        let v = json!({"terminal": false, "user": {"uid": 0, "gid": 0}, "args": args, "env": ["PATH=/bin"], "cwd": "/",
                       "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}, "noNewPrivileges": true});
        std::fs::write(&p, serde_json::to_vec(&v)?)?;
        Ok(p.display().to_string())
    };
    let req = ExecRequest {
        id: id.into(),
        exec_id: "e1".into(),
        process_path: process(&["sh", "-c", "echo exec-out; echo exec-err >&2; exit 5"])?,
        attach: true,
        ..Default::default()
    };
    let mut events = client.exec(req).await?.into_inner();
    let Some(exec_event::Event::Ready(ready)) = events.message().await?.and_then(|e| e.event)
    else {
        bail!("no ready event")
    };
    assert_eq!(
        ready.attach_socket,
        env.path(&format!("s/{id}/exec-e1")).display().to_string()
    );
    let attach = Attach::connect(&ready.attach_socket)?;
    let Some(exec_event::Event::Started(started)) = events.message().await?.and_then(|e| e.event)
    else {
        bail!("no started event")
    };
    assert!(started.pid > 0);
    let got = attach.collect().await?;
    assert_eq!(
        (got.stdout.as_str(), got.stderr.as_str(), got.exit),
        ("exec-out\n", "exec-err\n", Some(5))
    );
    let Some(exec_event::Event::Exited(exit)) = events.message().await?.and_then(|e| e.event)
    else {
        bail!("no exited event")
    };
    assert_eq!(exit.exit_code, 5);
    assert!(events.message().await?.is_none());
    let st = client
        .exec_status(ExecStatusRequest {
            id: id.into(),
            exec_id: "e1".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        (st.state(), st.exit.map(|e| e.exit_code)),
        (ExecState::Exited, Some(5))
    );

    // The runtime's refusal ends the stream with its own message.
    let req = ExecRequest {
        id: id.into(),
        exec_id: "e2".into(),
        process_path: process(&["/nonexistent"])?,
        ..Default::default()
    };
    let mut events = client.exec(req).await?.into_inner();
    assert!(matches!(
        events.message().await?.and_then(|e| e.event),
        Some(exec_event::Event::Ready(_))
    ));
    let err = events
        .message()
        .await
        .expect_err("exec of a missing binary fails");
    assert!(
        err.message().contains("/nonexistent"),
        "{:?}",
        err.message()
    );

    // A terminal exec gets its own pty.
    let p = env.path("process-tty.json");
    std::fs::write(
        &p,
        serde_json::to_vec(
            &json!({"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["tty"], "env": ["PATH=/bin"], "cwd": "/"}),
        )?,
    )?;
    let req = ExecRequest {
        id: id.into(),
        exec_id: "e3".into(),
        process_path: p.display().to_string(),
        terminal: true,
        attach: true,
        ..Default::default()
    };
    let mut events = client.exec(req).await?.into_inner();
    let Some(exec_event::Event::Ready(ready)) = events.message().await?.and_then(|e| e.event)
    else {
        bail!("no ready event")
    };
    let got = Attach::connect(&ready.attach_socket)?.collect().await?;
    assert!(got.stdout.starts_with("/dev/pts/"), "{got:?}");
    assert_eq!(got.exit, Some(0));
    client
        .kill(KillRequest {
            id: id.into(),
            signal: 9,
            all: false,
        })
        .await?;
    Ok(())
}
