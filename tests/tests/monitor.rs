//! ctr-monitor end to end: real runc, real busybox containers, the gRPC API
//! over the socketpair podman uses and over monitor.sock, the attach socket,
//! exit files, exit commands, and the monitor's own memory.
//!
//! Needs root, runc, and `cargo build -p ctr-monitor` into the same target
//! directory (or PODMAN_TEST_BIN_DIR).

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};
use proto::monitor::v1::monitor_client::MonitorClient;
use proto::monitor::v1::{
    exec_event, ContainerState, CreateContainerRequest, ExecRequest, ExecState, ExecStatusRequest,
    KillRequest, ReopenLogRequest, ResizeRequest, StartContainerRequest, StatusRequest,
    WaitRequest,
};
use serde_json::json;
use tonic::transport::Channel;

use e2e::monitor_env::{monitor_bin, Env};

/// Start `ctr-monitor serve --grpc-fd 3 --detach` as podman does.
async fn spawn_monitor() -> Result<(proto::transport::Helper, MonitorClient<Channel>)> {
    let args: Vec<OsString> = [
        "--log-level",
        "debug",
        "serve",
        "--grpc-fd",
        "3",
        "--detach",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let helper = proto::transport::spawn_helper("ctr-monitor", &monitor_bin(), &args).await?;
    let client = MonitorClient::new(helper.channel()?);
    Ok((helper, client))
}

/// Create and start; the create response.
async fn create_start(
    client: &mut MonitorClient<Channel>,
    req: CreateContainerRequest,
) -> Result<proto::monitor::v1::CreateContainerResponse> {
    let id = req.id.clone();
    let created = client.create_container(req).await?.into_inner();
    client.start_container(StartContainerRequest { id }).await?;
    Ok(created)
}

/// Wait (without polling) until process `pid` has exited.
async fn wait_gone(pid: i32) -> bool {
    tokio::task::spawn_blocking(move || e2e::monitor_env::wait_gone(pid))
        .await
        .unwrap_or(false)
}

/// A blocking attach client (SOCK_SEQPACKET, protocol in monitor.proto).
struct Attach(OwnedFd);

#[derive(Debug, Default)]
struct Attached {
    stdout: String,
    stderr: String,
    exit: Option<i32>,
}

impl Attach {
    #[allow(unsafe_code)]
    fn connect(path: &str) -> Result<Attach> {
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        connect(fd.as_raw_fd(), &UnixAddr::new(path)?)
            .with_context(|| format!("connecting to {path}"))?;
        let tv = libc::timeval {
            tv_sec: 30,
            tv_usec: 0,
        };
        // SAFETY: setting a timeval option on our socket.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of_val(&tv) as u32,
            )
        };
        Ok(Attach(fd))
    }

    fn send(&self, tag: u8, data: &[u8]) -> Result<()> {
        let mut pkt = vec![tag];
        pkt.extend_from_slice(data);
        send(self.0.as_raw_fd(), &pkt, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// Everything until the monitor closes the socket.
    async fn collect(self) -> Result<Attached> {
        tokio::task::spawn_blocking(move || {
            let mut got = Attached::default();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty())
                    .context("attach recv (timed out?)")?;
                if n == 0 {
                    return Ok(got);
                }
                let text = String::from_utf8_lossy(&buf[1..n]).into_owned();
                match buf[0] {
                    1 => got.stdout.push_str(&text),
                    2 => got.stderr.push_str(&text),
                    3 => got.exit = Some(text.parse()?),
                    t => bail!("unexpected attach tag {t}"),
                }
            }
        })
        .await?
    }
}

fn exit_json(env: &Env, id: &str) -> Result<serde_json::Value> {
    Ok(serde_json::from_slice(&std::fs::read(
        env.path(&format!("exits/{id}.json")),
    )?)?)
}

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
async fn sigkill_of_the_monitor_leaves_the_container_running() -> Result<()> {
    let env = Env::new();
    let id = "mon-sigkill";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let (_helper, mut client) = spawn_monitor().await?;
    let created = create_start(&mut client, env.request(id, &bundle)).await?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(created.monitor_pid),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    assert!(wait_gone(created.monitor_pid).await);
    assert!(
        e2e::poll::running(created.pid),
        "container process {} died with its monitor",
        created.pid
    );
    assert_eq!(env.runc_status(id), "running");
    let out = env.runc(&["delete", "-f", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
async fn a_caller_that_goes_away_after_create_does_not_stop_the_monitor() -> Result<()> {
    let env = Env::new();
    let id = "mon-orphan";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let (mut helper, mut client) = spawn_monitor().await?;
    let created = client
        .create_container(env.request(id, &bundle))
        .await?
        .into_inner();
    drop(client);
    helper.finish(Duration::from_secs(5)).await?;
    assert!(e2e::poll::running(created.monitor_pid));
    // A later podman reaches it on monitor.sock.
    let mut later = MonitorClient::new(
        proto::transport::connect_unix(Path::new(&created.monitor_socket)).await?,
    );
    let st = later
        .status(StatusRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!(st.state(), ContainerState::Created);
    later
        .start_container(StartContainerRequest { id: id.into() })
        .await?;
    assert_eq!(env.runc_status(id), "running");
    later
        .kill(KillRequest {
            id: id.into(),
            signal: 9,
            all: false,
        })
        .await?;
    let st = later
        .wait(WaitRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!(st.exit.map(|e| e.signal), Some(9));
    let again = later
        .kill(KillRequest {
            id: id.into(),
            signal: 9,
            all: false,
        })
        .await;
    assert!(
        again.map(|r| r.into_inner().already_exited).unwrap_or(true),
        "killing an exited container is not an error"
    );
    Ok(())
}

/// An idle monitor gives back what creating the container took (ctr-monitor's
/// footprint module: heap, dead stack, the binary's clean pages) and still
/// serves calls and handles the exit afterwards. How much it keeps is a
/// benchmark figure (bench/containers.sh), not asserted here.
#[tokio::test]
async fn an_idle_monitor_sheds_memory_and_still_works() -> Result<()> {
    let env = Env::new();
    let id = "mon-mem";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let (mut helper, mut client) = spawn_monitor().await?;
    let created = create_start(&mut client, env.request(id, &bundle)).await?;
    let log = PathBuf::from(&created.monitor_log);
    let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    drop(client);
    helper.finish(Duration::from_secs(5)).await?;
    // Once quiet, the monitor sheds (its debug log says so).
    tokio::task::spawn_blocking(move || {
        e2e::poll::until(
            Duration::from_secs(10),
            "the monitor to shed memory",
            || {
                std::fs::read(&log).is_ok_and(|l| {
                    String::from_utf8_lossy(&l[(before as usize).min(l.len())..])
                        .contains("memory shed")
                })
            },
        )
    })
    .await?;
    // Code dropped while idle comes back when needed: a call over
    // monitor.sock, then the exit, are handled as usual.
    let mut sock = MonitorClient::new(
        proto::transport::connect_unix(Path::new(&created.monitor_socket)).await?,
    );
    let status = sock
        .status(StatusRequest { id: id.into() })
        .await?
        .into_inner();
    assert_eq!(status.state, ContainerState::Running as i32);
    drop(sock);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(created.pid),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    assert!(wait_gone(created.monitor_pid).await);
    let exit = exit_json(&env, id)?;
    assert_eq!(exit["exit_code"], 137, "{exit}");
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

#[tokio::test]
async fn a_monitor_that_would_die_with_its_caller_refuses_to_create() -> Result<()> {
    let env = Env::new();
    let id = "mon-nodetach";
    let bundle = env.bundle(id, &["true"], false)?;
    let args: Vec<OsString> = ["serve", "--grpc-fd", "3"]
        .iter()
        .map(OsString::from)
        .collect();
    let mut helper = proto::transport::spawn_helper("ctr-monitor", &monitor_bin(), &args).await?;
    let mut client = MonitorClient::new(helper.channel()?);
    let err = client
        .create_container(env.request(id, &bundle))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(err.message().contains("--detach"), "{}", err.message());
    drop(client);
    assert!(helper.finish(Duration::from_secs(5)).await?.success());
    Ok(())
}
