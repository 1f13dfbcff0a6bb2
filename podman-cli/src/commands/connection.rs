//! `podman system connection add|ls|rm|default|rename` and Docker's
//! `podman context create|ls|use|rm`: the remote client's named
//! destinations (see [`crate::remote::connections`]). They edit the
//! client's file and never contact a service.

use std::collections::HashMap;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::remote::connections::{Connections, Destination};

#[derive(Debug, Clone, Subcommand)]
pub enum ConnectionCommand {
    /// Record destination for the Podman service
    Add(AddArgs),
    /// List destination for the Podman service(s)
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete named destination
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Set named destination as default
    Default(NameArg),
    /// Rename "old" to "new"
    Rename(RenameArgs),
}

#[derive(Debug, Clone, Subcommand)]
pub enum ContextCommand {
    /// Create a context (a named connection)
    Create(ContextCreateArgs),
    /// List contexts
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove a context
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Set the default context
    Use(NameArg),
}

#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    pub name: String,
    pub destination: String,
    /// Set connection to be default
    #[arg(short, long)]
    pub default: bool,
    /// path to SSH identity file
    #[arg(long)]
    pub identity: Option<String>,
    /// SSH port number for destination
    #[arg(short, long)]
    pub port: Option<u16>,
    /// path to podman socket on remote host
    #[arg(long)]
    pub socket_path: Option<String>,
    /// path to a PEM file containing the TLS client certificate
    #[arg(long)]
    pub tls_cert: Option<String>,
    /// path to a PEM file containing the TLS client certificate private key
    #[arg(long)]
    pub tls_key: Option<String>,
    /// path to a PEM file containing the certificate authority bundle to verify the server's certificate against
    #[arg(long)]
    pub tls_ca: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ContextCreateArgs {
    pub name: String,
    /// set the docker endpoint: host=URI
    #[arg(long)]
    pub docker: String,
    /// Description of the context
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// Custom Go template for printing connections
    #[arg(short, long)]
    pub format: Option<String>,
    /// Print only the connection names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    pub name: Option<String>,
    /// Remove all connections
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct NameArg {
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    pub old: String,
    pub new: String,
}

pub fn run(c: &ConnectionCommand) -> anyhow::Result<()> {
    let mut all = Connections::load()?;
    match c {
        ConnectionCommand::Add(a) => add(&mut all, a)?,
        ConnectionCommand::Ls(a) => return ls(&all, a),
        ConnectionCommand::Rm(a) => rm(&mut all, a)?,
        ConnectionCommand::Default(a) => all.set_default(&a.name)?,
        ConnectionCommand::Rename(a) => all.rename(&a.old, &a.new)?,
    }
    all.save()?;
    Ok(())
}

pub fn context(c: &ContextCommand) -> anyhow::Result<()> {
    let mut all = Connections::load()?;
    match c {
        ContextCommand::Create(a) => {
            let uri = a
                .docker
                .split(',')
                .find_map(|kv| kv.strip_prefix("host="))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--docker {:?}: give the endpoint as host=URI, e.g. host=unix:///run/podman/podman.sock",
                        a.docker
                    )
                })?;
            let uri = checked_uri(uri)?;
            all.add(
                &a.name,
                Destination {
                    uri,
                    ..Default::default()
                },
                false,
            );
        }
        ContextCommand::Ls(a) => return ls(&all, a),
        ContextCommand::Rm(a) => rm(&mut all, a)?,
        ContextCommand::Use(a) => all.set_default(&a.name)?,
    }
    all.save()?;
    Ok(())
}

/// The URI as it will be used: parsed by the client (ssh is refused there).
fn checked_uri(uri: &str) -> anyhow::Result<String> {
    crate::remote::parse_uri(uri, None)?;
    Ok(uri.to_string())
}

fn add(all: &mut Connections, a: &AddArgs) -> anyhow::Result<()> {
    if a.identity.is_some() || a.port.is_some() {
        anyhow::bail!(
            "--identity and --port are for ssh destinations, which podman-rs does not support: add a unix:// or tcp:// destination"
        );
    }
    let mut uri = a.destination.clone();
    if let Some(p) = &a.socket_path {
        if !uri.starts_with("unix:") {
            anyhow::bail!("--socket-path is for ssh destinations, which podman-rs does not support: give unix://{p} as the destination");
        }
        uri = format!("unix://{p}");
    }
    let uri = checked_uri(&uri)?;
    // An empty value (`--tls-ca=`) is the flag unset, as Podman reads it.
    let given = |p: &Option<String>| p.clone().filter(|p| !p.is_empty());
    let (tls_cert, tls_key, tls_ca) = (given(&a.tls_cert), given(&a.tls_key), given(&a.tls_ca));
    if (tls_cert.is_some() || tls_key.is_some() || tls_ca.is_some()) && !uri.starts_with("tcp:") {
        anyhow::bail!("--tls-cert, --tls-key and --tls-ca are for tcp:// destinations only");
    }
    if tls_cert.is_some() != tls_key.is_some() {
        anyhow::bail!("--tls-cert and --tls-key go together: give both for mutual TLS");
    }
    let abs = |p: &Option<String>| -> anyhow::Result<String> {
        Ok(match p {
            Some(p) => std::path::absolute(p)?.display().to_string(),
            None => String::new(),
        })
    };
    let dest = Destination {
        uri,
        tls_cert: abs(&tls_cert)?,
        tls_key: abs(&tls_key)?,
        tls_ca: abs(&tls_ca)?,
        ..Default::default()
    };
    all.add(&a.name, dest, a.default);
    Ok(())
}

fn rm(all: &mut Connections, a: &RmArgs) -> anyhow::Result<()> {
    match (&a.name, a.all) {
        (Some(_), true) => anyhow::bail!("--all takes no connection name"),
        (None, true) => all.remove_all(),
        (Some(n), false) => {
            // As Podman: removing a connection that is not there is no error.
            all.remove(n);
        }
        (None, false) => anyhow::bail!("accepts 1 arg(s), received 0"),
    }
    Ok(())
}

fn ls(all: &Connections, a: &LsArgs) -> anyhow::Result<()> {
    let default = all.default_name();
    let rows: Vec<serde_json::Value> = all
        .list()
        .map(|(name, d)| {
            json!({
                "Name": name,
                "URI": d.uri,
                "Identity": d.identity,
                "IsMachine": d.is_machine,
                "TLSCA": d.tls_ca,
                "TLSCert": d.tls_cert,
                "TLSKey": d.tls_key,
                "Default": Some(name.as_str()) == default,
                "ReadWrite": true,
            })
        })
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", r["Name"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    let format = match a.format.as_deref() {
        None | Some("") => "table {{.Name}}\t{{.URI}}\t{{.Identity}}\t{{.Default}}\t{{.ReadWrite}}",
        Some("tls") => "table {{.Name}}\t{{.URI}}\t{{.Identity}}\t{{.TLSCA}}\t{{.TLSCert}}\t{{.TLSKey}}\t{{.Default}}\t{{.ReadWrite}}",
        Some(f) if crate::format::report::is_json(f) => {
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(());
        }
        Some(f) => f,
    };
    // Podman titles these columns with the field names as they are (a
    // first row of literal titles, not report.Headers' upper case).
    let mut table = Vec::with_capacity(rows.len() + 1);
    if format.starts_with("table") {
        table.push(json!({
            "Name": "Name", "URI": "URI", "Identity": "Identity", "IsMachine": "IsMachine",
            "TLSCA": "TLSCA", "TLSCert": "TLSCert", "TLSKey": "TLSKey",
            "Default": "Default", "ReadWrite": "ReadWrite",
        }));
    }
    table.extend(rows);
    print!(
        "{}",
        crate::format::table::render_rows(format, &table, &HashMap::new(), true)?
    );
    Ok(())
}
