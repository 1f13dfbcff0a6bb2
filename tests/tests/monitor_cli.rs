//! ctr-monitor's faces for tools other than podman: `ctr-monitor run` from
//! a shell (pid on stdout, passthrough of the caller's stdio) and
//! `serve --detach --listen unix:PATH`.

use std::path::Path;

use anyhow::{Context, Result};
use e2e::monitor_env::{monitor_bin, wait_gone, Env};
use proto::monitor::v1::monitor_client::MonitorClient;
use proto::monitor::v1::{
    ContainerState, KillRequest, StartContainerRequest, StatusRequest, WaitRequest,
};

#[tokio::test]
async fn run_subcommand_prints_the_pid_and_keeps_monitoring() -> Result<()> {
    let env = Env::new();
    let id = "mon-run";
    let bundle = env.bundle(id, &["sleep", "1000"], false)?;
    let out = env
        .monitor_run(id, &bundle)
        .arg("--json")
        .arg("--log-path")
        .arg(env.path("run.log"))
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let pid = v["pid"].as_i64().context("pid")? as i32;
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let mut c = MonitorClient::new(
        proto::transport::connect_unix(Path::new(v["monitor_socket"].as_str().context("socket")?))
            .await?,
    );
    assert_eq!(
        c.status(StatusRequest { id: id.into() })
            .await?
            .into_inner()
            .state(),
        ContainerState::Running
    );
    c.kill(KillRequest {
        id: id.into(),
        signal: 9,
        all: false,
    })
    .await?;
    assert_eq!(
        c.wait(WaitRequest { id: id.into() })
            .await?
            .into_inner()
            .exit
            .map(|e| e.exit_code),
        Some(137)
    );
    Ok(())
}

#[tokio::test]
async fn passthrough_hands_the_callers_stdio_to_the_container() -> Result<()> {
    let env = Env::new();
    let id = "mon-pass";
    let bundle = env.bundle(
        id,
        &["sh", "-c", "echo to-the-callers-stdout; echo to-stderr >&2"],
        false,
    )?;
    // The container holds the pipes until it exits, so output() returns after it.
    let out = env
        .monitor_run(id, &bundle)
        .args(["--log-driver", "passthrough"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("to-the-callers-stdout\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("to-stderr"));
    assert!(
        !env.path(&format!("s/{id}/attach")).exists(),
        "no attach socket with passthrough"
    );
    Ok(())
}

#[tokio::test]
async fn listen_mode_serves_other_tools() -> Result<()> {
    let env = Env::new();
    let id = "mon-listen";
    let bundle = env.bundle(id, &["sh", "-c", "echo via-listen"], false)?;
    let sock = env.path("listen.sock");
    // The process we start returns once the detached monitor listens.
    let st = std::process::Command::new(monitor_bin())
        .args(["serve", "--detach", "--listen"])
        .arg(format!("unix:{}", sock.display()))
        .status()?;
    assert!(st.success());
    let mut c = MonitorClient::new(proto::transport::connect_unix(&sock).await?);
    let info = c
        .info(proto::common::v1::InfoRequest::default())
        .await?
        .into_inner();
    assert_eq!(
        info.identity.map(|i| i.name).as_deref(),
        Some("ctr-monitor")
    );
    let created = c
        .create_container(env.request(id, &bundle))
        .await?
        .into_inner();
    c.start_container(StartContainerRequest { id: id.into() })
        .await?;
    let st = c.wait(WaitRequest { id: id.into() }).await?.into_inner();
    assert_eq!(st.exit.map(|e| e.exit_code), Some(0));
    drop(c);
    let monitor = created.monitor_pid;
    assert!(tokio::task::spawn_blocking(move || wait_gone(monitor)).await?);
    assert!(!sock.exists(), "the listen socket is removed on exit");
    assert!(
        std::fs::read_to_string(env.path(&format!("{id}.log")))?.contains(" stdout F via-listen")
    );
    Ok(())
}
