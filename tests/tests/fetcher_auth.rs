//! image-fetcher end to end against registries that want credentials
//! (htpasswd, bearer tokens behind a realm, redirects to another host) and
//! under registries.conf (mirrors, blocked registries) and policy.json.
//!
//! Build first: `cargo build -p image-fetcher` (same CARGO_TARGET_DIR).

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod support;

use anyhow::{Context, Result};
use e2e::oci_image::busybox_image;
use e2e::registry::Registry;
use support::*;

#[tokio::test]
async fn htpasswd_registry_needs_credentials() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start_with_htpasswd("e2e-user", "s3cret pass")?;
    let image = busybox_image()?;
    registry.push("private/busybox", "latest", &image)?;
    let reference = registry.reference("private/busybox", "latest");

    let line = error_line(&env.pull(&reference, &env.path("anon"), &[])?);
    assert_eq!(line, format!("Error: image-fetcher: reading manifest latest in {}/private/busybox: authentication required: use --creds or podman login", registry.addr));
    let (_, status) = grpc_pull(pull_request(&reference, &env.path("anon-grpc"))).await?;
    assert_eq!(status.map(|s| s.code()), Some(tonic::Code::Unauthenticated));
    let line = error_line(&env.pull(
        &reference,
        &env.path("wrong"),
        &["--creds", "e2e-user:wrong"],
    )?);
    assert!(
        line.contains("authentication failed for \"e2e-user\""),
        "{line}"
    );

    let done = done_json(&env.pull(
        &reference,
        &env.path("creds"),
        &["--creds", "e2e-user:s3cret pass"],
    )?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&env.path("creds"), &reference, &image.manifest_digest)?;

    // auth.json: by --authfile, by $REGISTRY_AUTH_FILE, and over gRPC.
    let auth = env.path("auth.json");
    let token = e2e::registry_client::base64(b"e2e-user:s3cret pass");
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#,
            registry.addr
        ),
    )?;
    done_json(&env.pull(
        &reference,
        &env.path("authfile"),
        &["--authfile", auth.to_str().context("utf8")?],
    )?)?;
    let out = env
        .cmd()
        .env("REGISTRY_AUTH_FILE", &auth)
        .args(["pull", &reference, "--tls-verify=false", "--json", "--dest"])
        .arg(env.path("envauth"))
        .output()?;
    done_json(&out)?;
    let mut req = pull_request(&reference, &env.path("grpc-auth"));
    req.auth_file = auth.display().to_string();
    let (_, status) = grpc_pull(req).await?;
    assert!(status.is_none(), "{status:?}");
    verify_layout(&env.path("grpc-auth"), &reference, &image.manifest_digest)?;
    Ok(())
}

#[test]
fn registries_conf_mirrors_blocked_registries_and_policy_json() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("library/busybox", "latest", &image)?;
    std::fs::write(
        env.path("registries.conf"),
        format!(
            "[[registry]]\nprefix = \"mirrored.invalid\"\nlocation = \"mirrored.invalid\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n\n[[registry]]\nlocation = \"blocked.invalid\"\nblocked = true\n",
            registry.addr
        ),
    )?;
    // No --tls-verify: the mirror's `insecure` allows plain HTTP.
    let dest = env.path("d");
    let out = env
        .cmd()
        .args([
            "pull",
            "mirrored.invalid/library/busybox:latest",
            "--json",
            "--dest",
        ])
        .arg(&dest)
        .output()?;
    let done = done_json(&out)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(
        &dest,
        "mirrored.invalid/library/busybox:latest",
        &image.manifest_digest,
    )?;

    let out = env
        .cmd()
        .args(["pull", "docker://blocked.invalid/x:1", "--dest"])
        .arg(&dest)
        .output()?;
    assert_eq!(error_line(&out), "Error: image-fetcher: registry blocked.invalid is blocked in registries.conf (\"blocked.invalid\")");

    // policy.json: reject is refused before any request; other scopes pass.
    let policy = env.path("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"default":[{{"type":"insecureAcceptAnything"}}],"transports":{{"docker":{{"{}/library":[{{"type":"reject"}}]}}}}}}"#,
            registry.addr
        ),
    )?;
    let policy_arg = policy.to_str().context("utf8")?;
    let rejected = registry.reference("library/busybox", "latest");
    let line = error_line(&env.pull(
        &rejected,
        &env.path("p1"),
        &["--signature-policy", policy_arg],
    )?);
    assert_eq!(line, format!("Error: image-fetcher: source image rejected: docker:{rejected}: rejected by policy (policy {policy_arg})"));
    registry.push("other/busybox", "latest", &image)?;
    done_json(&env.pull(
        &registry.reference("other/busybox", "latest"),
        &env.path("p2"),
        &["--signature-policy", policy_arg],
    )?)?;
    Ok(())
}

/// Basic credentials reach the registry and nothing else: a blob redirect
/// to another host (127.0.0.2, the "CDN") carries no Authorization, and a
/// 401 with a Basic challenge from that host neither receives the
/// credentials nor replaces the registry's challenge.
#[test]
fn credentials_never_follow_a_redirect_to_another_host() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("private/cdn", "latest", &image)?;
    let creds = ["--creds", "cdn-user:cdn pass"];

    let (port, cdn_log) = cdn_front(registry.addr.clone(), "cdn-user", "cdn pass", false)?;
    let reference = format!("127.0.0.1:{port}/private/cdn:latest");
    let dest = env.path("ok");
    let done = done_json(&env.pull(&reference, &dest, &creds)?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&dest, &reference, &image.manifest_digest)?;
    let seen = cdn_log
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(!seen.is_empty(), "no blob went through the CDN");
    assert!(seen.iter().all(|(_, auth)| auth.is_empty()), "{seen:?}");

    let (port, cdn_log) = cdn_front(registry.addr.clone(), "cdn-user", "cdn pass", true)?;
    let reference = format!("127.0.0.1:{port}/private/cdn:latest");
    let out = env.pull(&reference, &env.path("hostile"), &creds)?;
    assert!(!out.status.success());
    let line = error_line(&out);
    assert!(
        line.contains("HTTP 401 Unauthorized from 127.0.0.2:")
            && line.contains("where the registry redirected us (credentials are never sent there)"),
        "{line}"
    );
    let seen = cdn_log
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(!seen.is_empty(), "the CDN was never asked");
    assert!(seen.iter().all(|(_, auth)| auth.is_empty()), "{seen:?}");
    Ok(())
}

#[test]
fn bearer_token_auth_asks_the_realm_with_basic_credentials_and_follows_blob_redirects() -> Result<()>
{
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("private/bb", "latest", &image)?;
    let (port, tokens) = bearer_front(registry.addr.clone(), "tok-user", "tok pass")?;
    let reference = format!("127.0.0.1:{port}/private/bb:latest");

    let line = error_line(&env.pull(&reference, &env.path("anon"), &[])?);
    assert_eq!(line, format!("Error: image-fetcher: reading manifest latest in 127.0.0.1:{port}/private/bb: authentication required: use --creds or podman login"));
    let line = error_line(&env.pull(
        &reference,
        &env.path("wrong"),
        &["--creds", "tok-user:nope"],
    )?);
    assert!(
        line.contains("authentication failed for \"tok-user\": incorrect username or password"),
        "{line}"
    );

    let dest = env.path("ok");
    let done = done_json(&env.pull(&reference, &dest, &["--creds", "tok-user:tok pass"])?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&dest, &reference, &image.manifest_digest)?;
    let log = tokens
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let granted: Vec<_> = log.iter().filter(|(_, _, ok)| *ok).collect();
    // One token for the pull scope, reused for the manifest and every blob.
    assert_eq!(granted.len(), 1, "{log:?}");
    assert_eq!(
        (granted[0].0.as_str(), granted[0].1.as_str()),
        ("e2e", "repository:private/bb:pull")
    );
    Ok(())
}
