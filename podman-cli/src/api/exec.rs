//! Exec sessions: create (recorded in the service), start (hijacked, or
//! detached), inspect, resize. The session runs under the container's
//! monitor as `podman exec` runs it; a client that leaves mid-session
//! takes its process with it (SIGKILL), so nothing is left running.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use http::{Method, StatusCode};
use proto::monitor::v1::{exec_event::Event, ExecRequest};
use serde::Deserialize;
use serde_json::json;

use super::errors::{ApiError, ApiResult};
use super::hijack::{self, Seq, Streams};
use super::http::{empty, go_null, json as json_resp, ok_json, read_json, Resp};
use super::router::{not_found_route, Req};
use super::server::Service;
use super::worker::{self, engine_err};
use crate::container::store;
use crate::lifecycle::paths::ContainerPaths;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    #[serde(deserialize_with = "go_null")]
    attach_stdin: bool,
    #[serde(deserialize_with = "go_null")]
    attach_stdout: bool,
    #[serde(deserialize_with = "go_null")]
    attach_stderr: bool,
    #[serde(deserialize_with = "go_null")]
    tty: bool,
    #[serde(deserialize_with = "go_null")]
    cmd: Vec<String>,
    env: Option<Vec<String>>,
    #[serde(deserialize_with = "go_null")]
    working_dir: String,
    #[serde(deserialize_with = "go_null")]
    user: String,
    #[serde(deserialize_with = "go_null")]
    privileged: bool,
    #[serde(deserialize_with = "go_null")]
    detach_keys: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
    tty: Option<bool>,
}

/// One exec session as the service keeps it.
pub struct Session {
    container_id: String,
    process: crate::commands::exec::ProcessOptions,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    detach_keys: String,
    started: bool,
    running: bool,
    exit_code: Option<i32>,
    pid: i32,
    /// The attach connection, for resize.
    attach: Option<Arc<OwnedFd>>,
}

#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

impl Sessions {
    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get_mut(id).map(f)
    }

    /// Sessions of `container` (for its inspect's ExecIDs).
    pub fn of_container(&self, container: &str) -> Vec<String> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.iter()
            .filter(|(_, s)| s.container_id == container)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn no_such_exec(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no container with exec session ID {id} found: no such exec session"
    ))
}

/// `POST /containers/{id}/exec`.
pub async fn create(s: &Rc<Service>, req: Req, container: String) -> ApiResult<Resp> {
    let b: CreateBody = read_json(req.into_body()).await?;
    if b.cmd.is_empty() {
        return Err(ApiError::bad_request(
            "must provide a non-empty command to start an exec session: invalid argument",
        ));
    }
    let cid = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        let rec = store::resolve(&db, &container).map_err(|e| engine_err(e.into()))?;
        drop(db);
        let (cfg, st) = crate::lifecycle::cleanup::refresh(&engine, rec)
            .await
            .map_err(engine_err)?;
        if st.status != crate::container::model::Status::Running {
            return Err(ApiError::conflict(format!(
                "can only create exec sessions on running containers: container {} is {}: container state improper",
                cfg.name,
                st.status.as_str()
            )));
        }
        Ok(cfg.id)
    })
    .await?;
    let env = b
        .env
        .unwrap_or_default()
        .iter()
        .flat_map(|e| crate::container::parse::env_var(e))
        .collect();
    let id = crate::container::names::new_id()
        .map_err(|e| ApiError::internal(format!("making an exec session ID: {e}")))?;
    let session = Session {
        container_id: cid,
        process: crate::commands::exec::ProcessOptions {
            command: b.cmd,
            tty: b.tty,
            user: Some(b.user).filter(|u| !u.is_empty()),
            workdir: Some(b.working_dir).filter(|w| !w.is_empty()),
            privileged: b.privileged,
            env,
        },
        stdin: b.attach_stdin,
        stdout: b.attach_stdout,
        stderr: b.attach_stderr,
        detach_keys: b.detach_keys,
        started: false,
        running: false,
        exit_code: None,
        pid: 0,
        attach: None,
    };
    s.exec
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), session);
    Ok(json_resp(StatusCode::CREATED, &json!({"Id": id})))
}

pub async fn route(s: &Rc<Service>, req: Req, segs: &[&str]) -> ApiResult<Resp> {
    match (req.method.clone(), segs) {
        (Method::POST, [id, "start"]) => {
            let id = id.to_string();
            start(s, req, id).await
        }
        (Method::GET, [id, "json"]) => inspect(s, id),
        (Method::POST, [id, "resize"]) => {
            let (h, w) = hijack::resize_size(&req)?;
            let fd = s
                .exec
                .with(id, |x| x.attach.clone())
                .ok_or_else(|| no_such_exec(id))?;
            match fd {
                Some(fd) => {
                    hijack::send_resize(&fd, h, w).map_err(|e| ApiError::internal(e.to_string()))?
                }
                None => {
                    return Err(ApiError::conflict(format!(
                        "exec session {id} is not running: cannot resize"
                    )))
                }
            }
            Ok(empty(StatusCode::CREATED))
        }
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

fn inspect(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let v = s
        .exec
        .with(id, |x| {
            let (entry, args) = x
                .process
                .command
                .split_first()
                .map(|(e, a)| (e.clone(), a.to_vec()))
                .unwrap_or_default();
            json!({
                "ID": id,
                "Running": x.running,
                "ExitCode": x.exit_code.unwrap_or(0),
                "ProcessConfig": {
                    "tty": x.process.tty,
                    "entrypoint": entry,
                    "arguments": args,
                    "privileged": x.process.privileged,
                    "user": x.process.user.clone().unwrap_or_default(),
                },
                "OpenStdin": x.stdin,
                "OpenStderr": x.stderr,
                "OpenStdout": x.stdout,
                "CanRemove": !x.running,
                "ContainerID": x.container_id,
                "DetachKeys": x.detach_keys,
                "Pid": x.pid,
            })
        })
        .ok_or_else(|| no_such_exec(id))?;
    Ok(ok_json(&v))
}

/// What the session's worker reports back when the process is set up.
enum Setup {
    Attached(OwnedFd),
    Detached,
}

/// `POST /exec/{id}/start`.
async fn start(s: &Rc<Service>, req: Req, id: String) -> ApiResult<Resp> {
    let upgrade = hijack::wants_upgrade(&req);
    // The body comes before the hijack: read it, keeping the request's
    // parts (they carry the pending upgrade).
    let (parts, incoming) = req.inner.into_parts();
    let b = super::http::read_body(incoming, super::http::JSON_BODY_LIMIT).await?;
    let body: StartBody = if b.iter().all(u8::is_ascii_whitespace) {
        StartBody::default()
    } else {
        serde_json::from_slice(&b).map_err(|e| ApiError::bad_request(format!("Decode(): {e}")))?
    };
    start_with(s, http::Request::from_parts(parts, ()), id, body, upgrade).await
}

async fn start_with(
    s: &Rc<Service>,
    req: http::Request<()>,
    id: String,
    body: StartBody,
    upgrade: bool,
) -> ApiResult<Resp> {
    let (container, mut process, streams) = s
        .exec
        .with(&id, |x| {
            if x.started {
                return Err(ApiError::conflict(format!(
                    "exec session {id} has already been started: exec session state improper"
                )));
            }
            x.started = true;
            x.running = true;
            Ok((
                x.container_id.clone(),
                x.process.clone(),
                Streams {
                    stdin: x.stdin,
                    stdout: x.stdout,
                    stderr: x.stderr,
                    tty: x.process.tty,
                },
            ))
        })
        .ok_or_else(|| no_such_exec(&id))??;
    if let Some(t) = body.tty {
        process.tty = t;
    }
    let detach = body.detach;
    let attach = !detach && (streams.stdin || streams.stdout || streams.stderr);
    let (tx, rx) = tokio::sync::oneshot::channel::<ApiResult<Setup>>();
    // Why a session whose streams were already handed over ended without
    // an exit code, for the pump to tell the client.
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<Option<String>>();
    let sessions = s.exec.clone();
    let exec_id = id.clone();
    worker::spawn(&s.engine, move |engine| async move {
        let r = run_session(
            &engine,
            &sessions,
            &exec_id,
            &container,
            &process,
            attach,
            streams.stdin,
            tx,
        )
        .await;
        sessions.with(&exec_id, |x| {
            x.running = false;
            x.attach = None;
            match &r {
                Ok(code) => x.exit_code = Some(*code),
                Err(e) => {
                    tracing::warn!("exec session {exec_id}: {}", e.message);
                    x.exit_code.get_or_insert(-1);
                }
            }
        });
        let _ = failed_tx.send(r.err().map(|e| e.message));
    })?;
    let setup = match rx.await {
        Ok(r) => r?,
        Err(_) => {
            return Err(ApiError::internal(
                "the exec session ended before it started",
            ))
        }
    };
    let fd = match setup {
        Setup::Detached => return Ok(empty(StatusCode::OK)),
        Setup::Attached(fd) => fd,
    };
    if let Ok(dup) = fd.try_clone() {
        s.exec.with(&id, |x| x.attach = Some(Arc::new(dup)));
    }
    let seq = Arc::new(Seq::new(fd).map_err(|e| ApiError::internal(e.to_string()))?);
    let sessions = s.exec.clone();
    let on_end = move |code: Option<i32>| {
        if let Some(c) = code {
            sessions.with(&id, |x| {
                x.exit_code = Some(c);
                x.running = false;
            });
        } else {
            // The client left: end the session's process.
            if let Some(pid) = sessions
                .with(&id, |x| (x.running && x.pid > 0).then_some(x.pid))
                .flatten()
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    };
    if !upgrade {
        return Ok(plain_response(s, seq, streams, on_end, failed_rx));
    }
    Ok(hijack::upgrade_response(
        req,
        streams.tty,
        s,
        move |conn| async move {
            hijack::pump_then(conn, seq, streams, on_end, failure(failed_rx)).await;
        },
    ))
}

/// A start that does not take over the connection (podman-py's
/// `exec_run`), which Podman answers too: the output, framed as on a
/// hijacked connection, is the response's body until the process exits;
/// there is no input. A client that leaves ends the process, as there.
fn plain_response(
    s: &Rc<Service>,
    seq: Arc<Seq>,
    streams: Streams,
    on_end: impl FnOnce(Option<i32>) + 'static,
    failed: tokio::sync::oneshot::Receiver<Option<String>>,
) -> Resp {
    let (resp, tx) = super::http::stream(
        StatusCode::OK,
        if streams.tty {
            "application/vnd.docker.raw-stream"
        } else {
            "application/vnd.docker.multiplexed-stream"
        },
    );
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let busy = s.busy();
    tokio::task::spawn_local(async move {
        let _busy = busy;
        hijack::pump_then(theirs, seq, streams, on_end, failure(failed)).await;
    });
    tokio::task::spawn_local(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut rd, mut wr) = tokio::io::split(ours);
        // No input: the session sees its end at once.
        let _ = wr.shutdown().await;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send(bytes::Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        // Dropping both halves closes the pipe: a pump still writing fails
        // and ends the session's process.
        drop((rd, wr));
    });
    resp
}

async fn failure(rx: tokio::sync::oneshot::Receiver<Option<String>>) -> Option<String> {
    rx.await.ok().flatten()
}

#[allow(clippy::too_many_arguments)]
async fn run_session(
    engine: &crate::engine_config::EngineConfig,
    sessions: &Sessions,
    exec_id: &str,
    container: &str,
    process: &crate::commands::exec::ProcessOptions,
    attach: bool,
    stdin: bool,
    tx: tokio::sync::oneshot::Sender<ApiResult<Setup>>,
) -> ApiResult<i32> {
    let mut tx = Some(tx);
    let fail = |tx: &mut Option<tokio::sync::oneshot::Sender<ApiResult<Setup>>>, e: ApiError| {
        let msg = e.message.clone();
        if let Some(t) = tx.take() {
            let _ = t.send(Err(e));
        }
        ApiError::internal(msg)
    };
    let setup = async {
        let db = crate::state::open_state(engine).map_err(engine_err)?;
        let rec = store::resolve(&db, container).map_err(|e| engine_err(e.into()))?;
        drop(db);
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec)
            .await
            .map_err(engine_err)?;
        if st.status != crate::container::model::Status::Running {
            return Err(ApiError::conflict(format!(
                "can only start exec sessions on running containers: container {} is {}: container state improper",
                cfg.name,
                st.status.as_str()
            )));
        }
        let paths = ContainerPaths::new(engine, &cfg.id);
        let path =
            crate::commands::exec::write_process(engine, &cfg, &st, &paths, exec_id, process)
                .map_err(engine_err)?;
        Ok((cfg, paths, path))
    };
    let (cfg, paths, path) = match setup.await {
        Ok(x) => x,
        Err(e) => return Err(fail(&mut tx, e)),
    };
    let _cleanup = crate::commands::exec::RemoveOnDrop(path.clone());
    let ch = match proto::transport::connect_unix(&paths.monitor_socket(&cfg.id)).await {
        Ok(c) => c,
        Err(e) => {
            return Err(fail(
                &mut tx,
                ApiError::internal(format!("contacting the monitor of {}: {e}", cfg.name)),
            ))
        }
    };
    let mut monitor = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
    let req = ExecRequest {
        id: cfg.id.clone(),
        exec_id: exec_id[..8].to_string(),
        process_path: path.display().to_string(),
        terminal: process.tty,
        stdin,
        stdin_once: stdin,
        attach,
        attach_timeout_ms: 0,
        detach: false,
        rows: 0,
        cols: 0,
        preserve_fds: vec![],
        session_dir: paths.exec_dir().join(&exec_id[..8]).display().to_string(),
    };
    let mut stream = match monitor.exec(req).await {
        Ok(s) => s.into_inner(),
        Err(st) => {
            let e = crate::error::exec_error(&process.command, st.message());
            // 126/127 as the session's code, for the client that asks.
            sessions.with(exec_id, |x| {
                x.exit_code = Some(i32::from(crate::error::exit_code(&e)))
            });
            return Err(fail(&mut tx, engine_err(e)));
        }
    };
    loop {
        let ev = match stream.message().await {
            Ok(Some(m)) => m.event,
            Ok(None) => break,
            Err(st) => {
                let e = crate::error::exec_error(&process.command, st.message());
                sessions.with(exec_id, |x| {
                    x.exit_code = Some(i32::from(crate::error::exit_code(&e)))
                });
                return Err(fail(&mut tx, engine_err(e)));
            }
        };
        match ev {
            Some(Event::Ready(r)) if !r.attach_socket.is_empty() => {
                match crate::lifecycle::attach::connect_socket(std::path::Path::new(
                    &r.attach_socket,
                )) {
                    Ok(fd) => {
                        if let Some(t) = tx.take() {
                            let _ = t.send(Ok(Setup::Attached(fd)));
                        }
                    }
                    Err(e) => return Err(fail(&mut tx, engine_err(e))),
                }
            }
            Some(Event::Started(st)) => {
                sessions.with(exec_id, |x| x.pid = st.pid);
                crate::events::container(&cfg, "exec");
                if !attach {
                    if let Some(t) = tx.take() {
                        let _ = t.send(Ok(Setup::Detached));
                    }
                }
            }
            Some(Event::Exited(e)) => {
                crate::events::exec_died(&cfg, &exec_id[..8], e.exit_code);
                return Ok(e.exit_code);
            }
            _ => {}
        }
    }
    Err(fail(
        &mut tx,
        ApiError::internal("lost the exec session's exit code"),
    ))
}
