//! Support for the image-fetcher tests (fetcher*.rs) and the podman image
//! tests: an isolated environment for the
//! fetcher binary, gRPC clients over the real socketpair transport, layout
//! checks, image and archive builders, and two loopback proxies in front of
//! the real registry (one slow, one demanding bearer tokens).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use e2e::binaries::bin;
use e2e::oci_image::{
    host_arch, read_blob, read_index_json, sha256_digest, Image, ImageBuilder, Layer, LayerBuilder,
    REF_NAME_ANNOTATION,
};
use proto::fetcher::v1::{
    fetcher_client::FetcherClient, pull_event, push_event, PullRequest, PushRequest,
};
use serde_json::Value;
use tempfile::TempDir;

pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A registries.conf with nothing in it and an auth file that does not
/// exist, so the host's configuration cannot change what a test sees.
pub struct Env {
    dir: TempDir,
}

impl Env {
    pub fn new() -> Result<Env> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("registries.conf"), "")?;
        Ok(Env { dir })
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin("image-fetcher"));
        c.env("CONTAINERS_REGISTRIES_CONF", self.path("registries.conf"))
            .env("REGISTRY_AUTH_FILE", self.path("no-auth.json"))
            .env_remove("XDG_RUNTIME_DIR");
        c
    }
    /// `image-fetcher pull REF --dest DIR --tls-verify=false --json ARGS...`
    pub fn pull(&self, reference: &str, dest: &Path, args: &[&str]) -> Result<Output> {
        let out = self
            .cmd()
            .args(["pull", reference, "--tls-verify=false", "--json", "--dest"])
            .arg(dest)
            .args(args)
            .output()?;
        Ok(out)
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON Done line of a successful `pull --json`.
pub fn done_json(o: &Output) -> Result<Value> {
    if !o.status.success() {
        bail!("image-fetcher failed ({}): {}", o.status, stderr(o));
    }
    serde_json::from_slice(&o.stdout)
        .with_context(|| format!("stdout: {}", String::from_utf8_lossy(&o.stdout)))
}

/// The one error line of a failed run (exit 125).
pub fn error_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(125), "stderr: {}", stderr(o));
    let e = stderr(o);
    let line = e
        .lines()
        .find(|l| l.starts_with("Error: image-fetcher: "))
        .unwrap_or_else(|| panic!("no error line in {e}"));
    line.to_string()
}

/// Every blob matches its name, `ref_name` points at `manifest_digest`,
/// every blob of that manifest is present, and no temp file is left.
pub fn verify_layout(dir: &Path, ref_name: &str, manifest_digest: &str) -> Result<Value> {
    for f in std::fs::read_dir(dir.join("blobs/sha256"))? {
        let f = f?;
        let name = f.file_name().to_string_lossy().into_owned();
        assert_eq!(
            sha256_digest(&std::fs::read(f.path())?),
            format!("sha256:{name}")
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    let index = read_index_json(dir)?;
    let entries: Vec<&Value> = index["manifests"]
        .as_array()
        .context("manifests")?
        .iter()
        .filter(|m| m["annotations"][REF_NAME_ANNOTATION] == ref_name)
        .collect();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["digest"], manifest_digest);
    let manifest: Value = serde_json::from_slice(&read_blob(dir, manifest_digest)?)?;
    assert_eq!(entries[0]["mediaType"], manifest["mediaType"]);
    let mut descs = vec![manifest["config"].clone()];
    descs.extend(
        manifest["layers"]
            .as_array()
            .context("layers")?
            .iter()
            .cloned(),
    );
    for d in descs {
        let bytes = read_blob(dir, d["digest"].as_str().context("digest")?)?;
        assert_eq!(bytes.len() as u64, d["size"].as_u64().context("size")?);
    }
    Ok(manifest)
}

pub fn has_blob(dir: &Path, digest: &str) -> bool {
    dir.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
        .exists()
}

pub fn other_arch() -> (&'static str, &'static str) {
    if host_arch() == "arm64" {
        ("amd64", "")
    } else {
        ("arm64", "v8")
    }
}

pub async fn spawn_fetcher() -> Result<proto::transport::Helper> {
    let args: Vec<OsString> = ["serve", "--grpc-fd", "3"]
        .iter()
        .map(OsString::from)
        .collect();
    Ok(proto::transport::spawn_helper("image-fetcher", &bin("image-fetcher"), &args).await?)
}

pub fn pull_request(reference: &str, dest: &Path) -> PullRequest {
    PullRequest {
        reference: reference.into(),
        dest_dir: dest.display().to_string(),
        tls_verify: Some(false),
        ..Default::default()
    }
}

/// Pull over gRPC; the events, and the final error status if any.
pub async fn grpc_pull(
    req: PullRequest,
) -> Result<(Vec<pull_event::Event>, Option<tonic::Status>)> {
    let mut helper = spawn_fetcher().await?;
    let mut client = FetcherClient::new(helper.channel()?);
    let mut events = Vec::new();
    let status = match client.pull(req).await {
        Err(s) => Some(s),
        Ok(resp) => {
            let mut stream = resp.into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(ev)) => events.push(ev.event.context("empty event")?),
                    Ok(None) => break None,
                    Err(s) => break Some(s),
                }
            }
        }
    };
    drop(client);
    let exit = helper.finish(Duration::from_secs(5)).await?;
    assert!(exit.success(), "fetcher exited with {exit}");
    Ok((events, status))
}

pub fn reused_of(events: &[pull_event::Event]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            pull_event::Event::BlobDone(b) => Some((b.digest.clone(), b.reused)),
            _ => None,
        })
        .collect()
}

/// A loopback proxy that slows registry -> client traffic to ~8 MiB/s, so
/// a test can act in the middle of a download. Threads end with the sockets.
pub fn throttling_proxy(upstream: String) -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            let (mut client, mut server) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n) = server.read(&mut buf) {
                    if n == 0 || client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    // The workload: a slow link (64 KiB per 8 ms).
                    std::thread::sleep(Duration::from_millis(8));
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    Ok(port)
}

/// A real gzip layer holding `len` incompressible bytes (level 0: the
/// deflate stream just stores them, which is fast even in debug builds)
/// in `random.bin`, root-owned, so it also unpacks into a store.
pub fn random_layer(len: usize) -> Result<Layer> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(len as u64);
    h.set_mode(0o644);
    // Unset, the uid and gid fields are empty, which tar readers refuse.
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(e2e::oci_image::FIXED_MTIME);
    h.set_cksum();
    tar.append_data(&mut h, "random.bin", &data[..len])?;
    let tar = tar.into_inner()?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::none());
    gz.write_all(&tar)?;
    let tar_gz = gz.finish()?;
    Ok(Layer {
        digest: sha256_digest(&tar_gz),
        diff_id: sha256_digest(&tar),
        tar_gz,
    })
}

/// Push over gRPC; the events, and the final error status if any.
pub async fn grpc_push(
    req: PushRequest,
) -> Result<(Vec<push_event::Event>, Option<tonic::Status>)> {
    let mut helper = spawn_fetcher().await?;
    let mut client = FetcherClient::new(helper.channel()?);
    let mut events = Vec::new();
    let status = match client.push(req).await {
        Err(s) => Some(s),
        Ok(resp) => {
            let mut stream = resp.into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(ev)) => events.push(ev.event.context("empty event")?),
                    Ok(None) => break None,
                    Err(s) => break Some(s),
                }
            }
        }
    };
    drop(client);
    helper.finish(Duration::from_secs(5)).await?;
    Ok((events, status))
}

pub fn two_layer_image(text: &str) -> Result<Image> {
    ImageBuilder::busybox()?
        .layer(LayerBuilder::new().file("hello", text, 0o644).build()?)
        .build()
}

/// `docker save` layout: manifest.json, the config, uncompressed layer tars.
pub fn write_docker_archive(path: &Path, image: &Image, tag: &str) -> Result<()> {
    let mut b = tar::Builder::new(std::fs::File::create(path)?);
    let mut add = |name: &str, data: &[u8]| -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data)?;
        Ok(())
    };
    let config_name = format!("{}.json", image.config_digest.trim_start_matches("sha256:"));
    let mut layers = Vec::new();
    for (i, l) in image.layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        add(&name, &l.tar()?)?;
        layers.push(name);
    }
    add(&config_name, &image.config_bytes)?;
    let manifest =
        serde_json::json!([{"Config": config_name, "RepoTags": [tag], "Layers": layers}]);
    add("manifest.json", &serde_json::to_vec(&manifest)?)?;
    b.finish()?;
    Ok(())
}

/// What the bearer front saw: `service` and `scope` of each token request,
/// and whether it carried the right credentials.
pub type TokenLog = Arc<Mutex<Vec<(String, String, bool)>>>;

/// A front for `upstream` that demands bearer tokens the way Docker Hub
/// does: `/v2/...` without `Authorization: Bearer <token>` answers 401 with
/// `WWW-Authenticate: Bearer realm=.../token,service="e2e",scope=...`;
/// `/token` hands out the token for basic `user:password` only; blob GETs
/// are redirected (307) to the registry itself, as registries that serve
/// blobs from a CDN do; anything else is forwarded. One request per
/// connection (`Connection: close`).
pub fn bearer_front(upstream: String, user: &str, password: &str) -> Result<(u16, TokenLog)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let log: TokenLog = Arc::default();
    let basic = format!(
        "Basic {}",
        e2e::registry_client::base64(format!("{user}:{password}").as_bytes())
    );
    let seen = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (upstream, basic, seen) = (upstream.clone(), basic.clone(), seen.clone());
            std::thread::spawn(move || {
                let _ = serve_bearer(conn, port, &upstream, &basic, &seen);
            });
        }
    });
    Ok((port, log))
}

fn serve_bearer(
    conn: TcpStream,
    port: u16,
    upstream: &str,
    basic: &str,
    log: &TokenLog,
) -> Result<()> {
    const TOKEN: &str = "e2e-token-1";
    let h = read_head(&conn)?;
    let (method, target) = (h.method.as_str(), h.target.as_str());
    let auth = h.headers.get("authorization").cloned().unwrap_or_default();
    let mut conn = conn;
    if let Some(query) = target.strip_prefix("/token") {
        let param = |k: &str| {
            query
                .trim_start_matches('?')
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .replace("%3A", ":")
                .replace("%2F", "/")
        };
        let ok = auth == basic;
        if let Ok(mut l) = log.lock() {
            l.push((param("service"), param("scope"), ok));
        }
        return if ok {
            respond(
                &mut conn,
                "200 OK",
                "",
                &format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#),
            )
        } else {
            respond(
                &mut conn,
                "401 Unauthorized",
                "",
                r#"{"details":"incorrect username or password"}"#,
            )
        };
    }
    if auth != format!("Bearer {TOKEN}") {
        let repo = target.strip_prefix("/v2/").and_then(|r| {
            ["/manifests/", "/blobs/"]
                .iter()
                .find_map(|m| r.split_once(m).map(|(repo, _)| repo.to_string()))
        });
        let scope = repo
            .map(|r| format!(",scope=\"repository:{r}:pull\""))
            .unwrap_or_default();
        let challenge = format!("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"e2e\"{scope}\r\n");
        return respond(
            &mut conn,
            "401 Unauthorized",
            &challenge,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    if method == "GET" && target.contains("/blobs/") {
        let location = format!("Location: http://{upstream}{target}\r\n");
        return respond(&mut conn, "307 Temporary Redirect", &location, "");
    }
    forward(h, upstream, &mut conn)
}

/// One HTTP/1.1 request head: method, target, lowercased headers, and the
/// reader positioned at the body.
struct Head {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: BufReader<TcpStream>,
}

fn read_head(conn: &TcpStream) -> Result<Head> {
    let mut body = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    body.read_line(&mut request_line)?;
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        body.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    Ok(Head {
        method: parts.next().unwrap_or("").to_string(),
        target: parts.next().unwrap_or("/").to_string(),
        headers,
        body,
    })
}

/// Send `h` on to `upstream` (without its Authorization) and copy the answer back.
fn forward(h: Head, upstream: &str, conn: &mut TcpStream) -> Result<()> {
    let mut up = TcpStream::connect(upstream)?;
    write!(
        up,
        "{} {} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n",
        h.method, h.target
    )?;
    for (k, v) in &h.headers {
        if !["host", "connection", "authorization"].contains(&k.as_str()) {
            write!(up, "{k}: {v}\r\n")?;
        }
    }
    write!(up, "\r\n")?;
    let len: u64 = h
        .headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut h.body.take(len), &mut up)?;
    std::io::copy(&mut up, conn)?;
    Ok(())
}

fn respond(conn: &mut TcpStream, status: &str, extra: &str, body: &str) -> Result<()> {
    write!(conn, "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    Ok(())
}

/// What the "CDN" of [`cdn_front`] saw: (target, Authorization or "").
pub type HeaderLog = Arc<Mutex<Vec<(String, String)>>>;

/// A registry front on 127.0.0.1 that wants basic `user:password` (401
/// with `WWW-Authenticate: Basic` otherwise) and redirects blob GETs (307)
/// to a second server on 127.0.0.2, another host to the client, as
/// registries serving blobs from a CDN do. That server records every
/// request's Authorization header and forwards to `upstream`; with
/// `hostile` it answers 401 with a Basic challenge of its own instead,
/// fishing for the credentials. Returns (front port, the CDN's log).
pub fn cdn_front(
    upstream: String,
    user: &str,
    password: &str,
    hostile: bool,
) -> Result<(u16, HeaderLog)> {
    let cdn = TcpListener::bind("127.0.0.2:0")?;
    let cdn_addr = cdn.local_addr()?;
    let log: HeaderLog = Arc::default();
    let (seen, up) = (log.clone(), upstream.clone());
    std::thread::spawn(move || {
        for mut conn in cdn.incoming().flatten() {
            let Ok(h) = read_head(&conn) else { continue };
            let auth = h.headers.get("authorization").cloned().unwrap_or_default();
            if let Ok(mut l) = seen.lock() {
                l.push((h.target.clone(), auth));
            }
            let _ = if hostile {
                respond(
                    &mut conn,
                    "401 Unauthorized",
                    "WWW-Authenticate: Basic realm=\"cdn\"\r\n",
                    "",
                )
            } else {
                forward(h, &up, &mut conn)
            };
        }
    });
    let front = TcpListener::bind("127.0.0.1:0")?;
    let port = front.local_addr()?.port();
    let basic = format!(
        "Basic {}",
        e2e::registry_client::base64(format!("{user}:{password}").as_bytes())
    );
    std::thread::spawn(move || {
        for mut conn in front.incoming().flatten() {
            let Ok(h) = read_head(&conn) else { continue };
            let _ = if h.headers.get("authorization") != Some(&basic) {
                respond(
                    &mut conn,
                    "401 Unauthorized",
                    "WWW-Authenticate: Basic realm=\"registry\"\r\n",
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                )
            } else if h.method == "GET" && h.target.contains("/blobs/") {
                respond(
                    &mut conn,
                    "307 Temporary Redirect",
                    &format!("Location: http://{cdn_addr}{}\r\n", h.target),
                    "",
                )
            } else {
                forward(h, &upstream, &mut conn)
            };
        }
    });
    Ok((port, log))
}
