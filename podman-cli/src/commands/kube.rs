//! `podman kube play|down` (and the older `play kube`): Kubernetes YAML
//! from files or stdin.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::kube::{model, plan, play};

#[derive(Debug, Clone, Args)]
pub struct PlayArgs {
    /// Kubernetes YAML files, or - for stdin
    #[arg(required = true, value_name = "KUBEFILE")]
    pub files: Vec<String>,
    /// Connect the pods to these networks (or a network mode)
    #[arg(long = "network", alias = "net")]
    pub network: Vec<String>,
    /// Publish a container port, overriding the YAML's hostPort for it: [[IP:]HOSTPORT:]CTRPORT[/PROTO]
    #[arg(long, value_delimiter = ',')]
    pub publish: Vec<String>,
    /// Add an annotation to the containers (KEY=VALUE)
    #[arg(long)]
    pub annotation: Vec<String>,
    /// Logging driver of the containers
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Files holding ConfigMaps the YAML refers to
    #[arg(long)]
    pub configmap: Vec<PathBuf>,
    /// Start the pods after creating them
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub start: bool,
    /// Remove the YAML's pods first when they exist
    #[arg(long)]
    pub replace: bool,
    /// Stop and remove the YAML's pods instead (as `kube down`)
    #[arg(long)]
    pub down: bool,
    /// With --down: remove the YAML's PersistentVolumeClaim volumes too
    #[arg(long)]
    pub force: bool,
    /// Require HTTPS and verify certificates when pulling
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Suppress pull progress
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// Kubernetes YAML files, or - for stdin
    #[arg(required = true, value_name = "KUBEFILE")]
    pub files: Vec<String>,
    /// Remove the YAML's PersistentVolumeClaim volumes too
    #[arg(long)]
    pub force: bool,
}

/// Every object of the given files ("-" is stdin), in order.
fn read_objects(files: &[String]) -> anyhow::Result<Vec<model::Object>> {
    let mut out = Vec::new();
    for f in files {
        let text = if f == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        } else if f.starts_with("http://") || f.starts_with("https://") {
            anyhow::bail!(
                "kube play: fetching {f} is not supported: download the file and give its path"
            );
        } else {
            std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("reading kube YAML {f}: {e}"))?
        };
        let objects = model::parse_all(&text)
            .map_err(|e| anyhow::anyhow!("unable to read kube YAML {f}: {e}"))?;
        out.extend(objects);
    }
    Ok(out)
}

pub async fn play(engine: &EngineConfig, a: &PlayArgs) -> anyhow::Result<()> {
    if a.force && !a.down {
        anyhow::bail!("--force can only be used with --down");
    }
    if a.down {
        return down(
            engine,
            &DownArgs {
                files: a.files.clone(),
                force: a.force,
            },
        )
        .await;
    }
    if let Some(bad) = a.annotation.iter().find(|x| !x.contains('=')) {
        anyhow::bail!("annotation {bad:?} must include an '=' sign");
    }
    let objects = read_objects(&a.files)?;
    let mut maps = Vec::new();
    for f in &a.configmap {
        let found = read_objects(&[f.display().to_string()])?;
        if !found.iter().any(|o| o.kind == "ConfigMap") {
            anyhow::bail!(
                "{}: no ConfigMap in it: give a file with kind: ConfigMap",
                f.display()
            );
        }
        maps.extend(found.into_iter().filter(|o| o.kind == "ConfigMap"));
    }
    let opts = plan::PlayOptions {
        network: a.network.clone(),
        publish: a.publish.clone(),
        annotations: a.annotation.clone(),
        log_driver: a.log_driver.clone(),
        tls_verify: a.tls_verify,
        quiet: a.quiet,
    };
    let plan = plan::plan(&objects, &maps, &opts)?;
    let report = play::play(engine, &plan, a.start, a.replace).await?;
    for (i, v) in report.volumes.iter().enumerate() {
        if i == 0 {
            println!("Volumes:");
        }
        println!("{v}");
    }
    for (pod, ctrs) in &report.pods {
        println!("Pod:\n{pod}");
        match ctrs.len() {
            0 => continue,
            1 => println!("Container:"),
            _ => println!("Containers:"),
        }
        for c in ctrs {
            println!("{c}");
        }
        println!();
    }
    Ok(())
}

pub async fn down(engine: &EngineConfig, a: &DownArgs) -> anyhow::Result<()> {
    let objects = read_objects(&a.files)?;
    let mut removed = Vec::new();
    for name in plan::pod_names(&objects) {
        if let Some(id) = play::remove_if_present(engine, &name).await? {
            removed.push(id);
        }
    }
    println!("Pods stopped:");
    for id in &removed {
        println!("{id}");
    }
    println!("Pods removed:");
    for id in &removed {
        println!("{id}");
    }
    println!("Secrets removed:");
    println!("Volumes removed:");
    if a.force {
        let db = crate::state::open_state(engine)?;
        for claim in objects.iter().filter(|o| o.kind == "PersistentVolumeClaim") {
            let name = &claim.metadata.name;
            if crate::volume::store::exists(&db, name)? {
                crate::volume::remove(&db, &engine.volume_path, &engine.run_root, name)?;
                println!("{name}");
            }
        }
    }
    Ok(())
}
