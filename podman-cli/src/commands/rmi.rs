//! `podman rmi`.

use clap::Args;
use proto::storage::v1::{RemoveImageRequest, UntagImageRequest};

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct RmiArgs {
    /// Images to remove
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of images in use by containers (removing those containers)
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors if a specified image does not exist
    #[arg(short, long)]
    pub ignore: bool,
}

/// Podman's `rmi` exit codes: 1 when an image did not exist (and nothing
/// worse happened), 2 when an image is in use, 125 otherwise.
pub async fn run(cfg: &EngineConfig, args: &RmiArgs) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    let r = remove_images(cfg, args, &mut lines).await;
    for l in &lines {
        println!("{l}");
    }
    r
}

/// Remove (or untag) the images `args` names; `lines` gets what `rmi`
/// prints (`Untagged: NAME`, `Deleted: ID`), in order.
pub async fn remove_images(
    cfg: &EngineConfig,
    args: &RmiArgs,
    lines: &mut Vec<String>,
) -> anyhow::Result<()> {
    if args.images.is_empty() && !args.all {
        anyhow::bail!("image name or ID must be specified: give one or use --all");
    }
    // A create that died leaves a storage container pinning its image.
    crate::lifecycle::reconcile::pending(cfg).await;
    let mut s = helper_procs::storage(cfg).await?;
    let mut targets = args.images.clone();
    if args.all {
        let list = s
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await?;
        targets = list.images.into_iter().map(|i| i.id).collect();
    }
    let (mut missing, mut in_use, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for t in &targets {
        let img = match find(&mut s, t).await {
            Ok(i) => i,
            Err(e) if e.is_not_found() => {
                // As Podman: --force also ignores images that do not exist.
                if !args.ignore && !args.force {
                    missing.push(format!("{t}: image not known"));
                }
                continue;
            }
            Err(e) => {
                other.push(e.to_string());
                continue;
            }
        };
        // As Podman's libimage: removing by name an image that has other
        // names only untags that name; by ID it needs --force.
        if !args.all && img.names.len() > 1 {
            let by_id = img.id.starts_with(t.strip_prefix("sha256:").unwrap_or(t))
                && t.len() >= 3
                && t.strip_prefix("sha256:")
                    .unwrap_or(t)
                    .chars()
                    .all(|c| c.is_ascii_hexdigit());
            // A bare digest; `repo@sha256:...` is a name and is untagged.
            let by_digest = t.starts_with("sha256:");
            if by_id && !args.force {
                in_use.push(format!(
                    "unable to delete image {:?} by ID with more than one tag ([{}]): please force removal",
                    img.id,
                    img.names.join(" ")
                ));
                continue;
            }
            if !by_id && !by_digest {
                if let Some(name) = matched_name(&img.names, t) {
                    let req = UntagImageRequest {
                        image: img.id.clone(),
                        name: name.clone(),
                    };
                    match s
                        .call(
                            "UntagImage",
                            |mut c| async move { c.untag_image(req).await },
                        )
                        .await
                    {
                        Ok(_) => lines.push(format!("Untagged: {name}")),
                        Err(e) => other.push(e.to_string()),
                    }
                    continue;
                }
            }
        }
        let users = store::using_image(&*crate::state::open_state(cfg)?, &img.id)?;
        if !users.is_empty() {
            if !args.force {
                in_use.push(format!(
                    "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                    users.join(", ")
                ));
                continue;
            }
            for id in &users {
                // `rmi --force` removes the containers that use the image first.
                crate::lifecycle::remove::remove(cfg, id, true, false).await?;
            }
        }
        let req = RemoveImageRequest {
            image: img.id.clone(),
            force: args.force,
        };
        match s
            .call(
                "RemoveImage",
                |mut c| async move { c.remove_image(req).await },
            )
            .await
        {
            Ok(r) => {
                for u in r.untagged {
                    crate::events::image("untag", &img.id, &u);
                    lines.push(format!("Untagged: {u}"));
                }
                if !r.deleted.is_empty() {
                    crate::events::image("remove", &img.id, t);
                    lines.push(format!("Deleted: {}", r.deleted));
                }
            }
            Err(proto::transport::TransportError::Call {
                code: proto::ErrorCode::FailedPrecondition,
                message,
                ..
            }) => in_use.push(message),
            Err(e) => other.push(e.to_string()),
        }
    }
    s.close().await?;
    let code = if !other.is_empty() {
        crate::error::EXIT_ENGINE
    } else if !in_use.is_empty() {
        crate::error::object_exit_code(proto::ErrorCode::FailedPrecondition)
    } else if !missing.is_empty() {
        crate::error::object_exit_code(proto::ErrorCode::NotFound)
    } else {
        return Ok(());
    };
    let all: Vec<String> = other.into_iter().chain(in_use).chain(missing).collect();
    Err(ExitError {
        code,
        source: anyhow::anyhow!("{}", join_errors(&all)),
    }
    .into())
}

/// Podman's errorhandling.JoinErrors: one error as is, several as
/// hashicorp/multierror lists them.
fn join_errors(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        _ => {
            let items: Vec<String> = errs.iter().map(|e| format!("\t* {e}")).collect();
            format!("{} errors occurred:\n{}", errs.len(), items.join("\n"))
        }
    }
}

/// Which of an image's names `typed` refers to: itself, its qualified
/// form (`localhost/x:latest` for `x`), or a stored `HOST/.../x:latest`.
fn matched_name(names: &[String], typed: &str) -> Option<String> {
    if let Some(n) = names.iter().find(|n| *n == typed) {
        return Some(n.clone());
    }
    if let Ok(q) = super::tag::qualify(typed) {
        if let Some(n) = names.iter().find(|n| **n == q) {
            return Some(n.clone());
        }
    }
    let with_tag = if typed.rsplit('/').next().unwrap_or("").contains(':') {
        typed.to_string()
    } else {
        format!("{typed}:latest")
    };
    names
        .iter()
        .find(|n| n.ends_with(&format!("/{with_tag}")))
        .cloned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_typed_by_users() {
        let names = vec![
            "127.0.0.1:5000/bb:latest".to_string(),
            "localhost/x:1".to_string(),
        ];
        assert_eq!(
            super::matched_name(&names, "x:1").as_deref(),
            Some("localhost/x:1")
        );
        assert_eq!(
            super::matched_name(&names, "bb").as_deref(),
            Some("127.0.0.1:5000/bb:latest")
        );
        assert_eq!(super::matched_name(&names, "zz"), None);
        assert_eq!(super::join_errors(&["a".into()]), "a");
        assert_eq!(
            super::join_errors(&["a".into(), "b".into()]),
            "2 errors occurred:\n\t* a\n\t* b"
        );
    }
}
