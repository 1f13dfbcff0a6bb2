//! Finding a stored image by what the user typed: storage-helper resolves
//! IDs, ID prefixes, digests and exact names; a short name (`bb`) also
//! matches a stored `HOST/…/bb:latest`, as Podman's local lookup does.

use proto::storage::v1::{GetImageRequest, Image, ListImagesRequest};

use crate::helper_procs::{Session, StorageClient};
use crate::image::reference::Reference;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}: image not known")]
    NotFound(String),
    #[error(
        "short name {name:?} matches several images ({candidates}): use a fully qualified name"
    )]
    Ambiguous { name: String, candidates: String },
    #[error(transparent)]
    Helper(#[from] proto::transport::TransportError),
}

impl LookupError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, LookupError::NotFound(_))
            || matches!(
                self,
                LookupError::Helper(proto::transport::TransportError::Call {
                    code: proto::ErrorCode::NotFound,
                    ..
                })
            )
    }
}

pub async fn find(storage: &mut Session<StorageClient>, name: &str) -> Result<Image, LookupError> {
    let req = GetImageRequest {
        image: name.to_string(),
    };
    match storage
        .call("GetImage", |mut c| async move { c.get_image(req).await })
        .await
    {
        Ok(img) => return Ok(img),
        Err(proto::transport::TransportError::Call {
            code: proto::ErrorCode::NotFound,
            ..
        }) => {}
        Err(e) => return Err(e.into()),
    }
    let Ok(r) = Reference::parse(name) else {
        return Err(LookupError::NotFound(name.to_string()));
    };
    if !r.is_short() {
        return Err(LookupError::NotFound(name.to_string()));
    }
    let r = r.with_default_tag();
    let suffix = format!("/{r}");
    let list = storage
        .call("ListImages", |mut c| async move {
            c.list_images(ListImagesRequest { all: true }).await
        })
        .await?;
    let matches: Vec<Image> = list
        .images
        .into_iter()
        .filter(|i| i.names.iter().any(|n| n.ends_with(&suffix)))
        .collect();
    match matches.len() {
        0 => Err(LookupError::NotFound(name.to_string())),
        1 => Ok(matches
            .into_iter()
            .next()
            .ok_or_else(|| LookupError::NotFound(name.to_string()))?),
        _ => Err(LookupError::Ambiguous {
            name: name.to_string(),
            candidates: matches
                .iter()
                .flat_map(|i| i.names.iter().filter(|n| n.ends_with(&suffix)).cloned())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
