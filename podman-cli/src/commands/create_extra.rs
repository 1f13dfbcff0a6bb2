//! Later flags of `run`/`create`: secrets, environment merging,
//! dependencies, chroot directories, the execution domain, pull retries,
//! and the flags this host cannot honour.

use clap::Args;

use crate::lifecycle::create_options::ExtraOptions;

#[derive(Debug, Clone, Default, Args)]
pub struct ExtraArgs {
    /// Add a secret: NAME[,type=mount|env][,target=PATH|VAR][,uid=UID][,gid=GID][,mode=MODE]
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// Preprocess the image's environment: KEY=VALUE with ${VAR} taken from the image (e.g. PATH=${PATH}:/opt/bin)
    #[arg(long = "env-merge", value_name = "KEY=VALUE")]
    pub env_merge: Vec<String>,
    /// Containers started before this one (names or IDs, comma-separated)
    #[arg(long, value_name = "CONTAINERS", value_delimiter = ',')]
    pub requires: Vec<String>,
    /// Directories inside the container treated as chroots: the managed /etc files are mounted there too
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub chrootdirs: Vec<String>,
    /// Execution domain of the container's processes (personality(2)): LINUX or LINUX32
    #[arg(long, value_name = "DOMAIN")]
    pub personality: Option<String>,
    /// Times to retry pulling the image on a network or registry failure (default 3)
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// Delay between pull retries (default: 2s, doubling)
    #[arg(long = "retry-delay", value_name = "DURATION")]
    pub retry_delay: Option<String>,
    /// GPU devices to add (through CDI): all or a vendor's device IDs
    #[arg(long, value_name = "ENTRY")]
    pub gpus: Vec<String>,
    /// Intel RDT class of service (a resctrl group under /sys/fs/resctrl)
    #[arg(long = "rdt-class", value_name = "CLASS")]
    pub rdt_class: Option<String>,
    /// Key[:passphrase] to decrypt an encrypted image being pulled
    #[arg(long = "decryption-key", value_name = "KEY[:PASSPHRASE]")]
    pub decryption_key: Vec<String>,
    /// Host user (name or UID) added to the container's /etc/passwd
    #[arg(long, value_name = "USER")]
    pub hostuser: Vec<String>,
    /// Entry written to /etc/passwd for the container user ($USERNAME, $UID, $GID, $NAME, $HOME)
    #[arg(long = "passwd-entry", value_name = "ENTRY")]
    pub passwd_entry: Option<String>,
    /// Add entries to /etc/passwd and /etc/group for --user (and --hostuser); false leaves them alone
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub passwd: Option<bool>,
    /// Seccomp profile policy: default, or image (the image's io.containers.seccomp.profile label)
    #[arg(long = "seccomp-policy", value_name = "POLICY")]
    pub seccomp_policy: Option<String>,
    /// Path of the registry credentials file (auth.json) for the pull
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<std::path::PathBuf>,
    /// Credentials (USERNAME[:PASSWORD]) for the pull
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Entry written to /etc/group for the container user's group ($GROUPNAME, $GID, $USERLIST)
    #[arg(long = "group-entry", value_name = "ENTRY")]
    pub group_entry: Option<String>,
}

impl ExtraArgs {
    pub fn options(&self) -> ExtraOptions {
        let ExtraArgs {
            secret,
            env_merge,
            requires,
            chrootdirs,
            personality,
            retry,
            retry_delay,
            gpus,
            rdt_class,
            decryption_key,
            hostuser,
            passwd_entry,
            group_entry,
            authfile,
            creds,
            passwd,
            seccomp_policy,
        } = self.clone();
        ExtraOptions {
            secret,
            env_merge,
            requires: crate::cli::pflag::nonempty(requires),
            chrootdirs: crate::cli::pflag::nonempty(chrootdirs),
            personality,
            retry,
            retry_delay,
            gpus,
            rdt_class,
            decryption_key,
            hostuser,
            passwd_entry,
            group_entry,
            authfile,
            creds,
            passwd,
            seccomp_policy,
        }
    }
}
