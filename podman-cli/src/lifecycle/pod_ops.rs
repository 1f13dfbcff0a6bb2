//! Acting on a whole pod: start (infra first), stop and removal (members
//! first, infra last), kill, pause and unpause, and the members' current
//! states (refreshed, so a container that died, the infra container
//! killed from outside included, is seen as exited).

use crate::container::model::Status;
use crate::container::store::Record;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::pod::store::{self as pods, PodStoreError};
use crate::pod::PodConfig;

/// A pod and its containers as they are now, oldest first.
pub async fn current(
    engine: &EngineConfig,
    name_or_id: &str,
) -> anyhow::Result<(PodConfig, Vec<Record>)> {
    let db = crate::state::open_state(engine)?;
    let pod = pods::resolve(&db, name_or_id)?;
    let members = refreshed(engine, &pod).await?;
    Ok((pod, members))
}

/// The pod's containers, each brought up to date.
pub async fn refreshed(engine: &EngineConfig, pod: &PodConfig) -> anyhow::Result<Vec<Record>> {
    let db = crate::state::open_state(engine)?;
    let mut out = Vec::new();
    for rec in pods::members(&db, &pod.id)? {
        let r = super::cleanup::refresh(engine, rec).await?;
        if r.1.status != Status::Removing {
            out.push(r);
        }
    }
    Ok(out)
}

fn split(members: Vec<Record>) -> (Vec<Record>, Option<Record>) {
    let (infra, rest): (Vec<Record>, Vec<Record>) =
        members.into_iter().partition(|(c, _)| c.extra.pod_infra);
    (rest, infra.into_iter().next())
}

/// Errors of single containers, joined into one (Podman lists each).
fn joined(errors: Vec<anyhow::Error>) -> anyhow::Result<()> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors
            .into_iter()
            .next()
            .unwrap_or_else(|| anyhow::anyhow!(""))),
        _ => Err(anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{e:#}"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// `pod start`: the infra container, then every member not running.
pub async fn start(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<PodConfig> {
    let (pod, members) = current(engine, name_or_id).await?;
    if members.is_empty() {
        return Err(ExitError::engine(anyhow::anyhow!(
            "no containers in pod {} have no dependencies, cannot start pod: no such container",
            pod.id
        ))
        .into());
    }
    let (rest, infra) = split(members);
    if let Some((c, s)) = &infra {
        if s.status != Status::Running {
            super::start::start(engine, &c.id).await?;
        }
    }
    let mut errors = Vec::new();
    for (c, s) in rest {
        if s.status.is_active() {
            continue;
        }
        if let Err(e) = super::start::start(engine, &c.id).await {
            errors.push(e);
        }
    }
    crate::events::pod("start", &pod.id, &pod.name);
    joined(errors).map(|()| pod)
}

/// `pod stop`: members first, the infra container last; a stopped pod
/// stops again without error.
pub async fn stop(
    engine: &EngineConfig,
    name_or_id: &str,
    timeout: Option<u32>,
) -> anyhow::Result<PodConfig> {
    let (pod, members) = current(engine, name_or_id).await?;
    let (rest, infra) = split(members);
    let mut errors = Vec::new();
    let infra: Vec<Record> = infra.into_iter().collect();
    let stop_one = |c: &crate::container::model::ContainerConfig| {
        let id = c.id.clone();
        async move {
            match super::stop::stop(engine, &id, timeout).await {
                Ok(_) => None,
                // Gone meanwhile (its own --rm).
                Err(e)
                    if e.downcast_ref::<crate::container::store::ContainerStoreError>()
                        .is_some_and(|x| {
                            matches!(x, crate::container::store::ContainerStoreError::NotFound(_))
                        }) =>
                {
                    None
                }
                Err(e) => Some(e),
            }
        }
    };
    // The members at the same time (bounded as `stop -a`), the infra
    // container after them.
    for group in [&rest, &infra] {
        use futures_util::stream::StreamExt;
        let active = group.iter().filter(|(_, s)| s.status.is_active());
        let done: Vec<Option<anyhow::Error>> =
            futures_util::stream::iter(active.map(|(c, _)| stop_one(c)))
                .buffered(super::parallel::workers())
                .collect()
                .await;
        errors.extend(done.into_iter().flatten());
    }
    if errors.is_empty() {
        // Made again, with the pod's limits, when a member next starts.
        super::pod_cgroup::remove(&pod.cgroup_parent);
    }
    crate::events::pod("stop", &pod.id, &pod.name);
    joined(errors).map(|()| pod)
}

/// `pod kill`: signal every running container of the pod.
pub async fn kill(engine: &EngineConfig, name_or_id: &str, sig: i32) -> anyhow::Result<PodConfig> {
    let (pod, members) = current(engine, name_or_id).await?;
    let (rest, infra) = split(members);
    let running: Vec<&Record> = rest
        .iter()
        .chain(infra.iter())
        .filter(|(_, s)| s.status.is_active())
        .collect();
    if running.is_empty() {
        return Err(ExitError {
            code: crate::error::EXIT_ENGINE,
            source: anyhow::anyhow!(
                "pod {} has no running containers to kill: pod state improper",
                pod.name
            ),
        }
        .into());
    }
    let mut errors = Vec::new();
    for (c, _) in running {
        if let Err(e) = super::stop::kill(engine, &c.id, sig).await {
            errors.push(e);
        }
    }
    crate::events::pod("kill", &pod.id, &pod.name);
    joined(errors).map(|()| pod)
}

/// `pod pause` / `pod unpause`: members first, then the infra container.
pub async fn pause(
    engine: &EngineConfig,
    name_or_id: &str,
    pause: bool,
) -> anyhow::Result<PodConfig> {
    let (pod, members) = current(engine, name_or_id).await?;
    let (rest, infra) = split(members);
    let want = if pause {
        Status::Running
    } else {
        Status::Paused
    };
    let mut errors = Vec::new();
    for (c, s) in rest.iter().chain(infra.iter()) {
        if s.status != want {
            continue;
        }
        if let Err(e) = super::pause::pause(engine, &c.id, pause).await {
            errors.push(e);
        }
    }
    crate::events::pod(if pause { "pause" } else { "unpause" }, &pod.id, &pod.name);
    joined(errors).map(|()| pod)
}

/// `pod rm`: without force, a pod with running containers stays; with
/// it, they are stopped (waiting `timeout`). Members go first, the infra
/// container last, then the pod's record and cgroup.
pub async fn remove(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    timeout: Option<u32>,
) -> anyhow::Result<PodConfig> {
    let (pod, members) = current(engine, name_or_id).await?;
    let busy: Vec<&crate::container::model::ContainerConfig> = members
        .iter()
        .filter(|(c, s)| s.status.is_active() && !c.extra.pod_infra)
        .map(|(c, _)| c)
        .collect();
    if !busy.is_empty() && !force {
        // Podman's words: a first line, then one per running container.
        let mut text = format!(
            "not all containers could be removed from pod {}: removing pod containers",
            pod.id
        );
        for c in busy {
            text.push_str(&format!(
                "\nError removing container {} from pod {}: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                c.id, pod.id, c.id
            ));
        }
        return Err(ExitError::engine(anyhow::anyhow!(text)).into());
    }
    if members.iter().any(|(_, s)| s.status.is_active()) {
        stop(engine, &pod.id, timeout).await?;
    }
    let (rest, infra) = split(members);
    let mut errors = Vec::new();
    for (c, _) in rest.iter().chain(infra.iter()) {
        if let Err(e) = super::remove::remove_any(engine, &c.id, true, Some(0), false).await {
            errors.push(e);
        }
    }
    joined(errors)?;
    // As Podman: the anonymous volumes the members used go once none of
    // them is left (a volume another container still uses stays).
    for (c, _) in rest.iter().chain(infra.iter()) {
        if let Err(e) = crate::volume::attach::remove_anonymous(engine, c) {
            tracing::warn!(error = %e, container = %c.id, "removing a pod member's anonymous volumes");
        }
    }
    let db = crate::state::open_state(engine)?;
    pods::delete(&db, &pod.id)?;
    super::pod::release_shm(engine, &pod.id);
    super::pod_cgroup::remove(&pod.cgroup_parent);
    crate::events::pod("remove", &pod.id, &pod.name);
    Ok(pod)
}

/// Whether the error says the pod does not exist.
pub fn is_no_such_pod(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<PodStoreError>(),
        Some(PodStoreError::NotFound(_))
    )
}
