//! `podman images` / `podman image ls`: one storage call, then Podman's
//! filters, sorting and report fields (cmd/podman/images/list.go).

use std::collections::{HashMap, HashSet};

use clap::Args;
use proto::storage::v1::{Image, ListImagesRequest};
use serde_json::{json, Value};

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::format::table;
use crate::helper_procs;
use crate::image::view;

#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Show all images (by default intermediate images are hidden)
    #[arg(short, long)]
    pub all: bool,
    /// Show only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not print column headings
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Filter output based on conditions provided (before, since, dangling, label, reference, readonly, until, id, digest, intermediate, containers)
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Change the output format to JSON or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Sort by created, id, repository, size, tag
    #[arg(long, default_value = "created", value_parser = ["created", "id", "repository", "size", "tag"])]
    pub sort: String,
    /// Only images whose name matches this reference pattern
    pub reference: Option<String>,
}

/// Shell-style `*`/`?` matching (for reference filters).
fn glob(pattern: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn reference_matches(pattern: &str, img: &Image) -> bool {
    let pattern = pattern.strip_prefix("sha256:").unwrap_or(pattern);
    if img.id.starts_with(pattern)
        && pattern.len() >= 3
        && pattern.chars().all(|c| c.is_ascii_hexdigit())
    {
        return true;
    }
    img.names.iter().any(|n| {
        let last = pattern.rsplit('/').next().unwrap_or("");
        let no_tag_pattern = !last.contains(':') && !pattern.contains('@');
        let candidates: Vec<String> = {
            let repo = n
                .split_once('@')
                .map(|(r, _)| r.to_string())
                .or_else(|| {
                    n.rsplit_once(':')
                        .filter(|(_, t)| !t.contains('/'))
                        .map(|(r, _)| r.to_string())
                })
                .unwrap_or_else(|| n.clone());
            let short_repo = repo.rsplit('/').next().unwrap_or(&repo).to_string();
            let short_full = n.rsplit('/').next().unwrap_or(n).to_string();
            if no_tag_pattern {
                let mut v = vec![repo.clone(), short_repo];
                // "localhost/x" is what `x` names.
                if let Some(r) = repo.strip_prefix("localhost/") {
                    v.push(r.to_string());
                }
                v
            } else {
                let mut v = vec![n.clone(), short_full];
                if let Some(r) = n.strip_prefix("localhost/") {
                    v.push(r.to_string());
                }
                v
            }
        };
        candidates.iter().any(|c| glob(pattern, c))
    })
}

fn created(img: &Image) -> i64 {
    view::created_unix(img)
}

/// One `--filter`: key, value and whether it was given as `key!=value`.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    key: String,
    value: String,
    negate: bool,
}

fn parse_filter(f: &str) -> anyhow::Result<Filter> {
    let bad = || {
        anyhow::anyhow!(
            "invalid image filter {f:?}: must be in the format \"filter=value or filter!=value\""
        )
    };
    let (k, v) = f.split_once('=').ok_or_else(bad)?;
    let (k, negate) = match k.strip_suffix('!') {
        Some(k) => (k, true),
        None => (k, false),
    };
    if k.is_empty() {
        return Err(bad());
    }
    const KEYS: &[&str] = &[
        "after",
        "since",
        "before",
        "dangling",
        "label",
        "reference",
        "readonly",
        "until",
        "id",
        "digest",
        "intermediate",
        "containers",
    ];
    if !KEYS.contains(&k) {
        anyhow::bail!("unsupported image filter {k:?}");
    }
    Ok(Filter {
        key: k.to_string(),
        value: v.to_string(),
        negate,
    })
}

fn parse_bool(f: &Filter) -> anyhow::Result<bool> {
    match f.value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => anyhow::bail!(
            "{}: invalid value {:?}: must be true or false",
            f.key,
            f.value
        ),
    }
}

/// The context filters look things up in.
struct Ctx<'a> {
    all: &'a [Image],
    /// image id -> ids (and names) of the containers using it.
    users: &'a HashMap<String, Vec<(String, String)>>,
    now: i64,
}

fn find_created(ctx: &Ctx, name: &str) -> anyhow::Result<i64> {
    let n = name.strip_prefix("sha256:").unwrap_or(name);
    ctx.all
        .iter()
        .find(|i| i.id == n)
        .or_else(|| ctx.all.iter().find(|i| i.names.iter().any(|x| x == name)))
        .or_else(|| ctx.all.iter().find(|i| reference_matches(name, i)))
        .or_else(|| ctx.all.iter().find(|i| i.id.starts_with(n)))
        .map(created)
        .ok_or_else(|| anyhow::anyhow!("{name}: image not known"))
}

fn matches(f: &Filter, i: &Image, ctx: &Ctx) -> anyhow::Result<bool> {
    let v = f.value.as_str();
    let hit = match f.key.as_str() {
        "dangling" => i.names.is_empty() == parse_bool(f)?,
        "intermediate" => !parse_bool(f)?,
        "readonly" => !parse_bool(f)?,
        "reference" => reference_matches(v, i),
        "id" => i.id.starts_with(v.strip_prefix("sha256:").unwrap_or(v)),
        "digest" => i.digest == v || i.digests.iter().any(|d| d == v),
        "label" => {
            let (lk, lv) = v
                .split_once('=')
                .map(|(a, b)| (a, Some(b)))
                .unwrap_or((v, None));
            let labels = view::config_json(i)["config"]["Labels"].clone();
            match (&labels[lk], lv) {
                (Value::String(s), Some(want)) => s == want,
                (Value::String(_), None) => true,
                _ => false,
            }
        }
        "before" => created(i) < find_created(ctx, v)?,
        "since" | "after" => created(i) > find_created(ctx, v)?,
        "until" => {
            let until_ns =
                crate::timestamp::go_timestamp_ns(v, ctx.now.saturating_mul(1_000_000_000))?;
            created(i) < until_ns.div_euclid(1_000_000_000)
        }
        "containers" => {
            let users = ctx.users.get(&i.id).map(Vec::as_slice).unwrap_or(&[]);
            match v.to_ascii_lowercase().as_str() {
                "true" => !users.is_empty(),
                "false" => users.is_empty(),
                _ => users
                    .iter()
                    .any(|(id, name)| id.starts_with(v) || name == v),
            }
        }
        _ => false,
    };
    Ok(hit != f.negate)
}

/// Podman's rule: filters with the same key match if any does (labels:
/// all must), different keys must all match.
fn apply_filters(filters: &[Filter], images: Vec<Image>, ctx: &Ctx) -> anyhow::Result<Vec<Image>> {
    let mut out = Vec::new();
    for i in images {
        let mut keys: Vec<&str> = filters.iter().map(|f| f.key.as_str()).collect();
        keys.dedup();
        let mut ok = true;
        for k in keys.iter().collect::<HashSet<_>>() {
            let group: Vec<&Filter> = filters.iter().filter(|f| f.key == *k).collect();
            let r = if *k == "label" {
                group.iter().try_fold(true, |a, f| {
                    Ok::<_, anyhow::Error>(a && matches(f, &i, ctx)?)
                })?
            } else {
                group.iter().try_fold(false, |a, f| {
                    Ok::<_, anyhow::Error>(a || matches(f, &i, ctx)?)
                })?
            };
            if !r {
                ok = false;
                break;
            }
        }
        if ok {
            out.push(i);
        }
    }
    Ok(out)
}

/// `image prune --filter`: the images of `all` that `given` (the filters
/// `podman images` takes) select.
pub fn select(given: &[String], all: Vec<Image>) -> anyhow::Result<Vec<Image>> {
    let filters = given
        .iter()
        .map(|f| parse_filter(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let users = HashMap::new();
    let ctx = Ctx {
        all: &all,
        users: &users,
        now,
    };
    apply_filters(&filters, all.clone(), &ctx)
}

/// Podman's report rows (one per repository:tag) and their sort.
fn sort_rows(rows: &mut [Value], by: &str) {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    match by {
        "id" => rows.sort_by_key(|r| s(r, "Id")),
        "repository" => rows.sort_by_key(|r| (s(r, "Repository"), s(r, "Tag"))),
        "tag" => rows.sort_by_key(|r| s(r, "Tag")),
        "size" => rows.sort_by_key(|r| n(r, "VirtualSize")),
        _ => rows.sort_by_key(|r| std::cmp::Reverse(n(r, "CreatedUnix"))),
    }
}

/// Containers per image ID: (container ID, name).
pub type Users = HashMap<String, Vec<(String, String)>>;

pub async fn run(cfg: &EngineConfig, args: &ImagesArgs) -> anyhow::Result<()> {
    check_args(args)?;
    let mut storage = helper_procs::storage(cfg).await?;
    let req = ListImagesRequest { all: args.all };
    let listed = storage
        .call(
            "ListImages",
            |mut c| async move { c.list_images(req).await },
        )
        .await;
    storage.close().await?;
    let all = listed?.images;
    // Containers per image, from our own database (no helper call).
    let mut users: Users = HashMap::new();
    if let Ok(db) = crate::state::open_state(cfg) {
        if let Ok(list) = crate::container::store::list(&db) {
            for (c, _) in list {
                users
                    .entry(c.image_id.clone())
                    .or_default()
                    .push((c.id.clone(), c.name.clone()));
            }
        }
    }
    report(args, all, &users)
}

fn check_args(args: &ImagesArgs) -> anyhow::Result<()> {
    if !args.filter.is_empty() && args.reference.is_some() {
        return Err(ExitError {
            code: 125,
            source: anyhow::anyhow!("cannot specify an image and a filter(s)"),
        }
        .into());
    }
    parse_filters(args).map(|_| ())
}

fn parse_filters(args: &ImagesArgs) -> anyhow::Result<Vec<Filter>> {
    args.filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| {
            ExitError {
                code: 125,
                source: e,
            }
            .into()
        })
}

/// The listing of `all` (every image of the store; `users` its
/// containers) as `args` asks: the local store's or a service's.
pub fn report(args: &ImagesArgs, all: Vec<Image>, users: &Users) -> anyhow::Result<()> {
    check_args(args)?;
    let filters = parse_filters(args)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ctx = Ctx {
        all: &all,
        users,
        now,
    };
    let mut images = apply_filters(&filters, all.clone(), &ctx)?;
    if let Some(r) = &args.reference {
        images.retain(|i| reference_matches(r, i));
    }
    let containers = |i: &Image| users.get(&i.id).map(Vec::len).unwrap_or(0);
    let mut rows: Vec<Value> = images
        .iter()
        .flat_map(|i| view::rows(i, containers(i)))
        .collect();
    sort_rows(&mut rows, &args.sort);
    if args.format.as_deref() == Some("json") || args.format.as_deref() == Some("{{json .}}") {
        // As Podman: one entry per row (an image with two tags twice).
        let by_id: HashMap<&str, &Image> = images.iter().map(|i| (i.id.as_str(), i)).collect();
        let docs: Vec<SummaryJson> = rows
            .iter()
            .filter_map(|r| by_id.get(r["Id"].as_str().unwrap_or("")))
            .map(|i| list_json(i, containers(i)))
            .collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    if args.no_trunc {
        for r in &mut rows {
            r["ID"] = json!(format!("sha256:{}", r["Id"].as_str().unwrap_or("")));
        }
    }
    if args.quiet {
        let mut seen = HashSet::new();
        for r in &rows {
            let id = r["ID"].as_str().unwrap_or("").to_string();
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(());
    }
    let out = match args.format.as_deref() {
        Some(f) => table::render_rows(f, &rows, &headers(), args.noheading)?,
        None => {
            let f = if args.digests {
                "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
            } else {
                "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
            };
            table::render_rows(f, &rows, &headers(), args.noheading)?
        }
    };
    print!("{out}");
    Ok(())
}

fn headers() -> HashMap<&'static str, &'static str> {
    [("ID", "IMAGE ID"), ("ReadOnly", "R/O")]
        .into_iter()
        .collect()
}

/// `podman images --format json`: Podman 5's ImageSummary as its CLI
/// prints it, one entry per listed row, fields in Go's order (nil slices
/// and maps are null, `omitempty` fields absent when empty).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct SummaryJson {
    #[serde(rename = "Id")]
    id: String,
    parent_id: String,
    repo_tags: Option<Vec<String>>,
    repo_digests: Option<Vec<String>>,
    size: u64,
    shared_size: u64,
    #[serde(skip_serializing_if = "is_zero")]
    virtual_size: u64,
    labels: Option<serde_json::Map<String, Value>>,
    containers: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dangling: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<String>>,
    created: i64,
    created_at: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn list_json(i: &Image, containers: usize) -> SummaryJson {
    let config = view::config_json(i);
    let some_if_any = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let labels = match &config["config"]["Labels"] {
        Value::Object(m) if !m.is_empty() => Some(m.clone()),
        _ => None,
    };
    let c = created(i);
    let created_at = config["created"]
        .as_str()
        .filter(|s| common::time::parse_rfc3339_secs(s).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| {
            common::time::rfc3339_nanos(c * 1_000_000_000).replace(".000000000Z", "Z")
        });
    SummaryJson {
        id: i.id.clone(),
        parent_id: String::new(),
        repo_tags: None,
        repo_digests: some_if_any(view::repo_digests(i)),
        size: i.size,
        shared_size: 0,
        virtual_size: i.size,
        labels,
        containers,
        read_only: false,
        dangling: i.names.is_empty(),
        names: some_if_any(i.names.clone()),
        digest: i.digest.clone(),
        history: some_if_any(view::tagged_names(i)),
        created: c,
        created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(id: &str, names: &[&str], created: &str, size: u64) -> Image {
        Image {
            id: id.into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            created: created.into(),
            size,
            ..Default::default()
        }
    }

    #[test]
    fn reference_patterns() {
        let img = img("ab", &["127.0.0.1:5000/team/bb:1.0"], "", 0);
        assert!(reference_matches("bb", &img));
        assert!(reference_matches("127.0.0.1:5000/team/bb", &img));
        assert!(reference_matches("bb:1.0", &img));
        assert!(reference_matches("*bb*", &img));
        assert!(reference_matches("127.0.0.1:5000/*/bb:1.?", &img));
        assert!(!reference_matches("bb:2.0", &img));
        assert!(!reference_matches("b", &img));
        let local = super::tests::img("cd", &["localhost/x:latest"], "", 0);
        assert!(reference_matches("x", &local));
        assert!(reference_matches("x:latest", &local));
    }

    #[test]
    fn filters_parse_like_podman() {
        let e = parse_filter("json").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid image filter \"json\": must be in the format \"filter=value or filter!=value\""
        );
        assert!(parse_filter("bogus=1")
            .unwrap_err()
            .to_string()
            .contains("unsupported image filter"));
        let f = parse_filter("label!=a=b").unwrap();
        assert_eq!(
            (f.key.as_str(), f.value.as_str(), f.negate),
            ("label", "a=b", true)
        );
    }

    #[test]
    fn filters_and_sorting() {
        let a = img("aaa1", &["localhost/a:1"], "2020-01-01T00:00:00Z", 30);
        let b = img(
            "bbb2",
            &["localhost/b:2", "localhost/a:0"],
            "2021-01-01T00:00:00Z",
            10,
        );
        let d = img("ccc3", &[], "2022-01-01T00:00:00Z", 20);
        let all = vec![a.clone(), b.clone(), d.clone()];
        let users: HashMap<String, Vec<(String, String)>> = [(
            "bbb2".to_string(),
            vec![("c1".to_string(), "web".to_string())],
        )]
        .into();
        let ctx = Ctx {
            all: &all,
            users: &users,
            now: 1_700_000_000,
        };
        let ids = |fs: &[&str]| -> Vec<String> {
            let fs: Vec<Filter> = fs.iter().map(|f| parse_filter(f).unwrap()).collect();
            apply_filters(&fs, all.clone(), &ctx)
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect()
        };
        assert_eq!(ids(&["dangling=true"]), ["ccc3"]);
        assert_eq!(ids(&["dangling=false"]), ["aaa1", "bbb2"]);
        assert_eq!(ids(&["since=localhost/a:1"]), ["bbb2", "ccc3"]);
        assert_eq!(ids(&["after=aaa1", "before=ccc3"]), ["bbb2"]);
        assert_eq!(ids(&["until=2021-06-01T00:00:00Z"]), ["aaa1", "bbb2"]);
        assert_eq!(ids(&["reference=a", "reference=b"]), ["aaa1", "bbb2"]);
        assert_eq!(ids(&["reference!=b"]), ["aaa1", "ccc3"]);
        assert_eq!(ids(&["containers=true"]), ["bbb2"]);
        assert_eq!(ids(&["containers=web"]), ["bbb2"]);
        assert_eq!(ids(&["id=ccc"]), ["ccc3"]);
        assert_eq!(ids(&["readonly=true"]), Vec::<String>::new());

        let mut rows: Vec<Value> = all.iter().flat_map(|i| view::rows(i, 0)).collect();
        let col = |rows: &[Value]| -> Vec<String> {
            rows.iter()
                .map(|r| {
                    format!(
                        "{}:{}",
                        r["Repository"].as_str().unwrap(),
                        r["Tag"].as_str().unwrap()
                    )
                })
                .collect()
        };
        sort_rows(&mut rows, "repository");
        assert_eq!(
            col(&rows),
            [
                "<none>:<none>",
                "localhost/a:0",
                "localhost/a:1",
                "localhost/b:2"
            ]
        );
        sort_rows(&mut rows, "created");
        assert_eq!(col(&rows)[0], "<none>:<none>");
        sort_rows(&mut rows, "size");
        let mut smallest = col(&rows)[..2].to_vec();
        smallest.sort();
        assert_eq!(smallest, ["localhost/a:0", "localhost/b:2"]);
        sort_rows(&mut rows, "tag");
        assert_eq!(
            col(&rows),
            [
                "localhost/a:0",
                "localhost/a:1",
                "localhost/b:2",
                "<none>:<none>"
            ]
        );
    }
}
