//! Images from podman's side: references and short names, pulling through
//! the helpers, progress display.

pub mod lookup;
pub mod progress;
pub mod pull;
pub mod view;
pub mod reference;
