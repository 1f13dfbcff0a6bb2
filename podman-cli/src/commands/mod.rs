//! One module per podman command (or family of small ones).

pub mod containers;
pub mod exec;
pub mod image_ops;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod load;
pub mod login;
pub mod logs;
pub mod more;
pub mod network;
pub mod ps;
pub mod pull;
pub mod push;
pub mod run;
pub mod save;
pub mod top;
pub mod version;
pub mod wait;

use crate::engine_config::EngineConfig;

/// For `top`, which reaches the state through `super::`.
pub use crate::state::open_state;

/// IDs of the containers created from image `image_id`.
pub fn containers_using_image(cfg: &EngineConfig, image_id: &str) -> anyhow::Result<Vec<String>> {
    let db = open_state(cfg)?;
    Ok(crate::container::store::list(&db)?
        .into_iter()
        .filter(|(c, _)| c.image_id == image_id)
        .map(|(c, _)| c.id)
        .collect())
}

/// `rmi --force` removes the containers that use the image first.
pub async fn remove_container_for_rmi(cfg: &EngineConfig, id: &str) -> anyhow::Result<()> {
    crate::lifecycle::remove::remove(cfg, id, true, false).await
}

/// Print `inspect` documents: a JSON array, or a template per document.
pub fn print_inspect(docs: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(docs)?),
        Some(f) => {
            for d in docs {
                print!("{}", crate::format::render(f, d)?);
            }
        }
    }
    Ok(())
}
