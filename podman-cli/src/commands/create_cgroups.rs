//! The cgroup flags of `run`/`create`.

use clap::Args;

use crate::lifecycle::cgroups::CgroupFlags;

#[derive(Debug, Clone, Default, Args)]
pub struct CgroupArgs {
    /// cgroup namespace to use (host, private, ns:PATH, container:ID)
    #[arg(long = "cgroupns", value_name = "CGROUPNS")]
    pub cgroupns: Option<String>,
    /// control container cgroup configuration ("enabled"|"disabled"|"no-conmon"|"split")
    #[arg(long = "cgroups", value_name = "MODE")]
    pub cgroups: Option<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// Configure cgroup v2 (key=value)
    #[arg(long = "cgroup-conf", value_name = "KEY=VALUE")]
    pub cgroup_conf: Vec<String>,
}

impl CgroupArgs {
    pub fn flags(&self) -> CgroupFlags {
        CgroupFlags {
            cgroupns: self.cgroupns.clone(),
            cgroups: self.cgroups.clone(),
            cgroup_parent: self.cgroup_parent.clone(),
            cgroup_conf: self.cgroup_conf.clone(),
        }
    }
}
