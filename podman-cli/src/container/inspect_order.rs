//! The container inspect document in libpod's field order: Podman's
//! JSON is its Go structs', whose fields print in declaration order.

/// libpod's InspectContainerData field order (its JSON is a Go struct's).
#[rustfmt::skip]
const DATA_ORDER: &[&str] = &[
    "Id", "Created", "Path", "Args", "State", "Image", "ImageDigest", "ImageName", "Rootfs", "Pod",
    "ResolvConfPath", "HostnamePath", "HostsPath", "StaticDir", "OCIConfigPath", "OCIRuntime",
    "ConmonPidFile", "PidFile", "Name", "RestartCount", "Driver", "MountLabel", "ProcessLabel",
    "AppArmorProfile", "EffectiveCaps", "BoundingCaps", "ExecIDs", "GraphDriver", "SizeRw",
    "SizeRootFs", "Mounts", "Dependencies", "NetworkSettings", "Namespace", "IsInfra", "IsService",
    "KubeExitCodePropagation", "lockNumber", "Config", "HostConfig", "UseImageHosts",
    "UseImageHostname",
];
#[rustfmt::skip]
const STATE_ORDER: &[&str] = &[
    "OciVersion", "Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid",
    "ConmonPid", "ExitCode", "Error", "StartedAt", "FinishedAt", "Health", "Checkpointed",
    "CgroupPath", "CheckpointedAt", "RestoredAt", "CheckpointLog", "CheckpointPath", "RestoreLog",
    "Restored", "StoppedByUser",
];
#[rustfmt::skip]
const CONFIG_ORDER: &[&str] = &[
    "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
    "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint",
    "OnBuild", "Labels", "Annotations", "StopSignal", "StartupHealthCheck", "Healthcheck",
    "HealthcheckOnFailureAction", "HealthLogDestination", "HealthcheckMaxLogCount",
    "HealthcheckMaxLogSize", "CreateCommand", "Timezone", "SystemdMode", "Umask", "Secrets",
    "Timeout", "StopTimeout", "Passwd", "ChrootDirs", "sdNotifyMode", "sdNotifySocket",
    "ExposedPorts",
];
#[rustfmt::skip]
const HOST_CONFIG_ORDER: &[&str] = &[
    "Binds", "CgroupManager", "CgroupMode", "ContainerIDFile", "LogConfig", "NetworkMode",
    "PortBindings", "RestartPolicy", "AutoRemove", "AutoRemoveImage", "Annotations",
    "VolumeDriver", "VolumesFrom", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch",
    "ExtraHosts", "HostsFile", "GroupAdd", "IpcMode", "Cgroup", "Cgroups", "Links", "OomScoreAdj",
    "PidMode", "Privileged", "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "Tmpfs",
    "UTSMode", "UsernsMode", "IDMappings", "ShmSize", "Runtime", "ConsoleSize", "Isolation",
    "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice",
    "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
    "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems",
    "Devices", "DiskQuota", "KernelMemory", "MemoryReservation", "MemorySwap", "MemorySwappiness",
    "OomKillDisable", "Init", "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps",
    "IOMaximumBandwidth", "CgroupConf", "IntelRdtClosID",
];

/// `o`'s keys in `order`, the ones it does not name after them as they were.
fn reorder(v: &mut serde_json::Value, order: &[&str]) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    let mut old = std::mem::take(o);
    for k in order {
        if let Some((k, x)) = old.shift_remove_entry(*k) {
            o.insert(k, x);
        }
    }
    o.extend(old);
}

/// The container inspect document in libpod's field order, as Podman's
/// JSON (and `{{json .}}`) prints it.
pub fn podman_order(doc: &mut serde_json::Value) {
    reorder(doc, DATA_ORDER);
    reorder(&mut doc["State"], STATE_ORDER);
    reorder(&mut doc["Config"], CONFIG_ORDER);
    reorder(&mut doc["HostConfig"], HOST_CONFIG_ORDER);
}
