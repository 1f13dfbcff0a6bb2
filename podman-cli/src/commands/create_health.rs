//! The healthcheck flags of `run`/`create`.

use clap::Args;

use crate::lifecycle::health::{HealthFlags, StartupFlags};

#[derive(Debug, Clone, Default, Args)]
pub struct HealthArgs {
    /// Set a healthcheck command for the container ('none' disables the existing healthcheck)
    #[arg(long = "health-cmd", value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Set an interval for the healthcheck (a value of disable results in no automatic timer setup)
    #[arg(long = "health-interval", value_name = "INTERVAL")]
    pub health_interval: Option<String>,
    /// The number of retries allowed before a healthcheck is considered to be unhealthy
    #[arg(long = "health-retries", value_name = "RETRIES")]
    pub health_retries: Option<String>,
    /// The initialization time needed for a container to bootstrap
    #[arg(long = "health-start-period", value_name = "PERIOD")]
    pub health_start_period: Option<String>,
    /// The maximum time allowed to complete the healthcheck before an interval is considered failed
    #[arg(long = "health-timeout", value_name = "TIMEOUT")]
    pub health_timeout: Option<String>,
    /// Action to take once the container turns unhealthy (none, kill, restart, stop)
    #[arg(long = "health-on-failure", value_name = "ACTION")]
    pub health_on_failure: Option<String>,
    /// Disable healthchecks on container
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Set the destination of the HealthCheck log: a directory path, "local" or "events_logger"
    #[arg(long = "health-log-destination", value_name = "DIRECTORY_PATH")]
    pub health_log_destination: Option<String>,
    /// Set the maximum number of attempts in the HealthCheck log file ('0' value means an infinite number of attempts in the log file)
    #[arg(long = "health-max-log-count", value_name = "NUMBER")]
    pub health_max_log_count: Option<String>,
    /// Set the maximum length in characters of stored HealthCheck log ('0' value means an infinite log length)
    #[arg(long = "health-max-log-size", value_name = "SIZE")]
    pub health_max_log_size: Option<String>,
    /// Set a startup healthcheck command for the container
    #[arg(long = "health-startup-cmd", value_name = "COMMAND")]
    pub health_startup_cmd: Option<String>,
    /// Set an interval for the startup healthcheck
    #[arg(long = "health-startup-interval", value_name = "INTERVAL")]
    pub health_startup_interval: Option<String>,
    /// Set the maximum number of retries before the startup healthcheck will restart the container
    #[arg(long = "health-startup-retries", value_name = "RETRIES")]
    pub health_startup_retries: Option<String>,
    /// Set the number of consecutive successes before the startup healthcheck is marked as successful and the normal healthcheck begins (0 indicates any success will start the regular healthcheck)
    #[arg(long = "health-startup-success", value_name = "RETRIES")]
    pub health_startup_success: Option<String>,
    /// Set the maximum amount of time that the startup healthcheck may take before it is considered failed
    #[arg(long = "health-startup-timeout", value_name = "TIMEOUT")]
    pub health_startup_timeout: Option<String>,
}

impl HealthArgs {
    pub fn flags(&self) -> HealthFlags {
        // `--health-cmd none` is Podman's other spelling of --no-healthcheck.
        let none = self.no_healthcheck
            || self
                .health_cmd
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("none"));
        HealthFlags {
            cmd: self
                .health_cmd
                .clone()
                .filter(|c| !c.eq_ignore_ascii_case("none")),
            interval: self.health_interval.clone(),
            retries: self.health_retries.clone(),
            start_period: self.health_start_period.clone(),
            timeout: self.health_timeout.clone(),
            on_failure: self.health_on_failure.clone(),
            none,
            max_log_count: self.health_max_log_count.clone(),
            max_log_size: self.health_max_log_size.clone(),
            log_destination: self.health_log_destination.clone(),
            startup: StartupFlags {
                cmd: self.health_startup_cmd.clone(),
                interval: self.health_startup_interval.clone(),
                retries: self.health_startup_retries.clone(),
                success: self.health_startup_success.clone(),
                timeout: self.health_startup_timeout.clone(),
            },
        }
    }
}
