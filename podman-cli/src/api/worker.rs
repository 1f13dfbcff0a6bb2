//! Running lifecycle code for a request: on a thread of its own with a
//! runtime of its own, as one CLI command runs. The lifecycle takes
//! blocking per-container file locks and keeps its helper sessions per
//! thread until the work ends (`helper_procs::idle`), so requests must not
//! share a runtime: one request waiting on a lock cannot stall another.

use std::future::Future;
use std::sync::Arc;

use super::errors::{ApiError, ApiResult};
use crate::engine_config::EngineConfig;

/// Run `work` and hand back its result.
pub async fn run<T, F, Fut>(engine: &Arc<EngineConfig>, work: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<EngineConfig>) -> Fut + Send + 'static,
    Fut: Future<Output = ApiResult<T>> + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawn(engine, move |engine| async move {
        let _ = tx.send(work(engine).await);
    })?;
    rx.await
        .map_err(|_| ApiError::internal("the request's worker ended without an answer"))?
}

/// Start `work` on its own thread and runtime, without waiting for it.
pub fn spawn<F, Fut>(engine: &Arc<EngineConfig>, work: F) -> ApiResult<()>
where
    F: FnOnce(Arc<EngineConfig>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("api-worker".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("api worker: starting a runtime: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                work(engine).await;
                if let Err(e) = crate::helper_procs::idle::finish_all().await {
                    tracing::warn!("api worker: a helper ended badly: {e:#}");
                }
            });
        })
        .map(|_| ())
        .map_err(|e| ApiError::internal(format!("starting a worker thread: {e}")))
}

/// Lifecycle errors as API errors.
pub fn engine_err(e: anyhow::Error) -> ApiError {
    ApiError::from_engine(&e)
}
