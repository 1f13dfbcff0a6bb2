//! `podman port`: a container's published ports.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    pub container: Option<String>,
    /// PORT[/PROTO] to show
    pub port: Option<String>,
    /// All containers
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn run(engine: &EngineConfig, a: &PortArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let recs = if a.all {
        store::list(&db)?
    } else if a.latest {
        vec![store::latest(&db)?]
    } else {
        let c = a.container.as_deref().ok_or_else(|| {
            anyhow::anyhow!("give a container name or ID, or use --all or --latest")
        })?;
        vec![store::resolve(&db, c)?]
    };
    let rows = recs
        .into_iter()
        .map(|(c, st)| (c.id, st.status.is_active(), c.ports))
        .collect::<Vec<_>>();
    print(a, &rows)
}

/// The listing for `rows` (ID, whether running, published ports), from
/// the local store or a service.
pub fn print(
    a: &PortArgs,
    rows: &[(String, bool, Vec<crate::container::model::PortMapping>)],
) -> anyhow::Result<()> {
    let want = a.port.as_deref().map(|p| {
        let (n, proto) = p.split_once('/').unwrap_or((p, "tcp"));
        (n.parse::<u16>().ok(), proto.to_string())
    });
    let mut found = false;
    for (id, active, ports) in rows {
        if !active && !a.all {
            continue;
        }
        for p in ports {
            for i in 0..p.range.max(1) {
                let (cp, hp) = (p.container_port + i, p.host_port + i);
                if let Some((n, proto)) = &want {
                    if Some(cp) != *n || *proto != p.protocol {
                        continue;
                    }
                    found = true;
                    println!(
                        "{}:{hp}",
                        if p.host_ip.is_empty() {
                            "0.0.0.0"
                        } else {
                            &p.host_ip
                        }
                    );
                    continue;
                }
                let prefix = if a.all {
                    format!("{}\t", &id[..id.len().min(12)])
                } else {
                    String::new()
                };
                println!(
                    "{prefix}{cp}/{} -> {}:{hp}",
                    p.protocol,
                    if p.host_ip.is_empty() {
                        "0.0.0.0"
                    } else {
                        &p.host_ip
                    }
                );
            }
        }
    }
    if let (Some(p), false) = (&a.port, found) {
        // libpod's words (exit 125) for a port the container does not publish.
        anyhow::bail!("failed to find published port {p:?}");
    }
    Ok(())
}
