//! Later flags of `run`/`create`: secrets, the container's passwd and
//! group entries, dependencies, and the flags this host cannot honour.

use clap::Args;

use crate::lifecycle::create_options::ExtraOptions;

#[derive(Debug, Clone, Default, Args)]
pub struct ExtraArgs {
    /// Add a secret: NAME[,type=mount|env][,target=PATH|VAR][,uid=UID][,gid=GID][,mode=MODE]
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
}

impl ExtraArgs {
    pub fn options(&self) -> ExtraOptions {
        let ExtraArgs { secret } = self.clone();
        ExtraOptions { secret }
    }
}
