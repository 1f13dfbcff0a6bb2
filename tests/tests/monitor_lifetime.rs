//! ctr-monitor's own lifetime end to end: a monitor outlives its caller
//! and survives a SIGKILL of itself with the container running, sheds
//! memory while idle, and refuses to create what would die with its caller.
//!
//! Needs root, runc, and `cargo build -p ctr-monitor` into the same target
//! directory (or PODMAN_TEST_BIN_DIR).

#[allow(dead_code)]
#[path = "monitor_support/mod.rs"]
mod monitor_support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use proto::monitor::v1::monitor_client::MonitorClient;
use proto::monitor::v1::{
    ContainerState, KillRequest, StartContainerRequest, StatusRequest, WaitRequest,
};

use e2e::monitor_env::{monitor_bin, Env};
use monitor_support::*;

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
