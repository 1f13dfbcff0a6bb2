//! `podman secret create|ls|inspect|rm|exists`.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use clap::Args;
use serde_json::json;

use crate::engine_config::EngineConfig;
use crate::error::{ExitError, EXIT_NO_SUCH_OBJECT};
use crate::secret::{CreateOptions, SecretError, SecretStore};

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Name of the secret
    pub name: String,
    /// A file with the secret's data, - for standard input, or with --env a variable's name
    #[arg(value_name = "FILE|-")]
    pub source: String,
    /// Secret driver (only file is available)
    #[arg(short, long, default_value = "file")]
    pub driver: String,
    /// Driver options: path=DIR for the file driver
    #[arg(long = "driver-opts", value_name = "KEY=VALUE", value_delimiter = ',')]
    pub driver_opts: Vec<String>,
    /// Read the secret's data from the environment variable named by the second argument
    #[arg(long)]
    pub env: bool,
    /// If a secret with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// If a secret with the same name exists, keep it and print its ID
    #[arg(long)]
    pub ignore: bool,
    /// Labels on the secret (KEY=VALUE)
    #[arg(short, long = "label")]
    pub label: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// Filter: name=REGEX, id=REGEX
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Print secret IDs only
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    #[arg(required = true, value_name = "SECRET")]
    pub names: Vec<String>,
    /// Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Print in a human-readable format
    #[arg(long)]
    pub pretty: bool,
    /// Show the secret's data
    #[arg(long)]
    pub showsecret: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    #[arg(value_name = "SECRET")]
    pub names: Vec<String>,
    /// Remove all secrets
    #[arg(short, long)]
    pub all: bool,
    /// A missing secret is no error
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    #[arg(value_name = "SECRET")]
    pub name: String,
}

fn store(engine: &EngineConfig) -> SecretStore {
    SecretStore::new(&engine.graph_root)
}

fn pairs(flag: &str, list: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None if flag == "--label" => Ok((kv.clone(), String::new())),
            None => anyhow::bail!("invalid {flag} {kv:?}: give KEY=VALUE"),
        })
        .collect()
}

pub async fn create(engine: &EngineConfig, a: &CreateArgs) -> anyhow::Result<()> {
    if a.ignore && a.replace {
        return Err(SecretError::IgnoreAndReplace.into());
    }
    let data = if a.env {
        match std::env::var_os(&a.source) {
            Some(v) if !v.is_empty() => std::os::unix::ffi::OsStringExt::into_vec(v),
            _ => anyhow::bail!(
                "cannot create store secret data: environment variable {} is not set",
                a.source
            ),
        }
    } else if a.source == "-" || a.source == "/dev/stdin" {
        let mut b = Vec::new();
        std::io::stdin()
            .take(crate::secret::MAX_SIZE as u64)
            .read_to_end(&mut b)?;
        b
    } else {
        let mut b = Vec::new();
        std::fs::File::open(&a.source)
            .map_err(|e| anyhow::anyhow!("open {}: {e}", a.source))?
            .take(crate::secret::MAX_SIZE as u64)
            .read_to_end(&mut b)
            .map_err(|e| anyhow::anyhow!("read {}: {e}", a.source))?;
        b
    };
    let o = CreateOptions {
        driver: a.driver.clone(),
        driver_options: pairs("--driver-opts", &a.driver_opts)?,
        labels: pairs("--label", &a.label)?,
        replace: a.replace,
        ignore: a.ignore,
    };
    let id = store(engine).create(&a.name, &data, &o)?;
    crate::events::secret("create", &id);
    println!("{id}");
    Ok(())
}

/// `--filter name=|id=`: each key's values are regular expressions, one
/// of which must match.
fn filters(given: &[String]) -> anyhow::Result<Vec<(String, Vec<regex::Regex>)>> {
    let mut out: Vec<(String, Vec<regex::Regex>)> = Vec::new();
    for f in given {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: give KEY=VALUE"))?;
        let k = k.to_ascii_lowercase();
        if k != "name" && k != "id" {
            anyhow::bail!("invalid filter {k:?}");
        }
        let re = regex::Regex::new(v).map_err(|e| anyhow::anyhow!("invalid filter {f:?}: {e}"))?;
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some((_, list)) => list.push(re),
            None => out.push((k, vec![re])),
        }
    }
    Ok(out)
}

pub async fn ls(engine: &EngineConfig, a: &LsArgs) -> anyhow::Result<()> {
    let filters = filters(&a.filter)?;
    let secrets: Vec<_> = store(engine)
        .list()?
        .into_iter()
        .filter(|s| {
            filters.iter().all(|(k, res)| {
                let field = if k == "name" { &s.name } else { &s.id };
                res.iter().any(|r| r.is_match(field))
            })
        })
        .collect();
    if a.quiet && a.format.is_none() {
        for s in &secrets {
            println!("{}", s.id);
        }
        return Ok(());
    }
    let ago = |t: &str| {
        let secs = common::time::parse_rfc3339(t)
            .map(|ns| ns.div_euclid(common::time::NANOS_PER_SEC))
            .unwrap_or(0);
        crate::format::human::since(secs)
    };
    let rows: Vec<serde_json::Value> = secrets
        .iter()
        .map(|s| {
            json!({
                "ID": s.id,
                "Name": s.name,
                "Driver": s.driver,
                "CreatedAt": ago(&s.created_at),
                "UpdatedAt": ago(s.updated()),
            })
        })
        .collect();
    if a.format.as_deref().map(str::trim) == Some("json") {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let headers: HashMap<&str, &str> = [("CreatedAt", "CREATED"), ("UpdatedAt", "UPDATED")]
        .into_iter()
        .collect();
    let format = a.format.clone().unwrap_or_else(|| {
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}".into()
    });
    print!(
        "{}",
        crate::format::table::render_rows(&format, &rows, &headers, a.noheading)?
    );
    Ok(())
}

const PRETTY: &str = "ID:              {{.ID}}
Name:              {{.Spec.Name}}
{{- if .Spec.Labels }}
Labels:
{{- range $k, $v := .Spec.Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Driver:            {{.Spec.Driver.Name}}
Created at:        {{.CreatedAt}}
Updated at:        {{.UpdatedAt}}
";

pub async fn inspect(engine: &EngineConfig, a: &InspectArgs) -> anyhow::Result<()> {
    let st = store(engine);
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        let found = if a.showsecret {
            st.lookup_data(n).map(|(s, d)| s.inspect_json(Some(&d)))
        } else {
            st.lookup(n).map(|s| s.inspect_json(None))
        };
        match found {
            Ok(d) => docs.push(d),
            Err(e @ SecretError::NotFound(_)) => errors.push(e),
            Err(e) => return Err(e.into()),
        }
    }
    let format = if a.pretty {
        Some(PRETTY)
    } else {
        a.format.as_deref()
    };
    crate::format::print_inspect(&docs, format)?;
    if let Some((first, rest)) = errors.split_first() {
        for e in rest {
            eprintln!("error inspecting secret: {e}");
        }
        anyhow::bail!("inspecting secret: {first}");
    }
    Ok(())
}

pub async fn rm(engine: &EngineConfig, a: &RmArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("`podman secret rm` requires one argument, or the --all flag");
    }
    let st = store(engine);
    let names: Vec<String> = if a.all {
        st.list()?.into_iter().map(|s| s.id).collect()
    } else {
        a.names.clone()
    };
    let mut errors: Vec<SecretError> = Vec::new();
    for n in &names {
        match st.remove(n) {
            Ok(id) => {
                crate::events::secret("remove", &id);
                println!("{id}");
            }
            Err(SecretError::NotFound(_)) if a.ignore => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some((last, rest)) = errors.split_last() {
        for e in rest {
            eprintln!("Error: {e}");
        }
        anyhow::bail!("{last}");
    }
    Ok(())
}

pub async fn exists(engine: &EngineConfig, a: &ExistsArgs) -> anyhow::Result<()> {
    match store(engine).lookup(&a.name) {
        Ok(_) => Ok(()),
        Err(SecretError::NotFound(_)) => Err(ExitError {
            code: EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}
