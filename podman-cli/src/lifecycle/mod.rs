//! The container lifecycle: create, init/start (through a detached
//! ctr-monitor), attach, stop/kill, cleanup, remove.

#[allow(unsafe_code)]
pub mod attach;
pub mod cgroups;
pub mod cleanup;
pub mod create;
pub mod create_extra;
pub mod create_more;
pub mod create_options;
pub mod create_userns;
pub mod etc_files;
pub mod files;
pub mod health;
pub mod health_config;
pub mod health_flags;
pub mod image_mounts;
pub mod intent;
pub mod net_connect;
pub mod net_mode;
pub mod network;
pub mod parallel;
pub mod passwd;
pub mod paths;
pub mod pause;
pub mod pod;
pub mod pod_cgroup;
pub mod pod_ops;
pub mod port_reserve;
#[allow(unsafe_code)]
pub mod preserve_fds;
pub mod reconcile;
pub mod remove;
pub mod runtime;
pub mod secrets;
pub mod start;
pub mod stop;
pub mod subscriptions;
pub mod timer_repair;
pub mod update;
pub mod usernet;
#[allow(unsafe_code)]
pub mod userns_netns;
