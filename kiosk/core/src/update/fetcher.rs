//! The download task: from the target a heartbeat answer names to an install request in the
//! inbox. One target at a time, in its own task beside the sync engine's loop, so a bundle
//! never holds up a submission or a heartbeat; and while the engine uploads, the download
//! reads no further ([`crate::sync::UploadsFirst`]).
//!
//! For a target the booth wants ([`UpdateAgent::wants`]): download into
//! `inbox/<sha256>.bundle.partial` (resumed after a cut), rename to `<sha256>.bundle` once its
//! size and SHA-256 are the target's, verify it early ([`super::early_verify`]; a bad bundle
//! is reported `failed`/`verify` and deleted), wait for a quiet moment, write the install
//! request. A newer target abandons the current one at once (its partial file stays until
//! the inbox is tidied); a target that disappears ends the work.

use std::sync::Arc;
use std::time::Duration;

use sync_protocol::release::ReleaseTarget;

use super::UpdateDirs;
use super::agent::UpdateAgent;
use super::early_verify;
use super::report::{FailureStage, UpdateState};
use super::request::InstallRequest;
use crate::atomic_file;
use crate::sync::download::hash_file;
use crate::sync::{Client, DownloadError, UploadsFirst};

/// How long after a failed attempt (network, server) the download is tried again, when the
/// server asked for nothing else.
pub const RETRY_EVERY: Duration = Duration::from_secs(60);

/// Runs until the agent's target channel closes (never, in the app: the task is aborted with
/// the engine).
pub async fn run(client: Arc<Client>, agent: Arc<UpdateAgent>, uploads: UploadsFirst) {
    let mut targets = agent.targets();
    loop {
        let target = targets.borrow_and_update().clone();
        if let Some(target) = target
            && agent.wants(&target)
        {
            tokio::select! {
                () = work_towards(&client, &agent, &uploads, &target) => {}
                changed = targets.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    tracing::info!(version = %target.version, "the release target changed; the work on the previous one stops");
                    agent.clear();
                    continue;
                }
            }
        }
        if targets.changed().await.is_err() {
            return;
        }
    }
}

async fn work_towards(
    client: &Client,
    agent: &UpdateAgent,
    uploads: &UploadsFirst,
    target: &ReleaseTarget,
) {
    let dirs = agent.dirs().clone();
    let Some(bundle) = download(client, agent, uploads, target, &dirs).await else {
        return;
    };
    let trust = agent.dirs().trust();
    let pinned = agent.pinned_keys().to_owned();
    let version = target.version.to_string();
    let path = bundle.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let trust = early_verify::load_trust(&trust, &pinned)?;
        early_verify::verify_bundle(&path, &version, &trust)
    })
    .await;
    match verified {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(%err, version = %target.version, "the downloaded release is refused before the updater sees it");
            let refuse = err.is_bundles_fault();
            if refuse && let Err(io) = std::fs::remove_file(&bundle) {
                tracing::warn!(%io, path = %bundle.display(), "cannot delete the refused bundle");
            }
            agent.fail(target, FailureStage::Verify, &err.to_string(), refuse);
            return;
        }
        Err(join) => {
            agent.fail(target, FailureStage::Verify, &join.to_string(), false);
            return;
        }
    }

    agent.set_state(target, UpdateState::WaitingQuiet);
    agent.quiet().wait().await;
    let request = match InstallRequest::new(
        &target.version.to_string(),
        &target.bundle,
        &UpdateDirs::bundle_name(&target.bundle),
    ) {
        Ok(request) => request,
        Err(err) => {
            agent.fail(target, FailureStage::Stage, &err.to_string(), true);
            return;
        }
    };
    loop {
        match request.write(&dirs) {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(%err, "cannot write the install request; trying again");
                tokio::time::sleep(agent.retry_every()).await;
                agent.quiet().wait().await;
            }
        }
    }
    tracing::info!(version = %target.version, "asked the updater to install the release");
    agent.set_state(target, UpdateState::Staged);
}

/// The verified-size-and-digest bundle in the inbox, downloading what is missing; `None`
/// when there is nothing more to do for this target (gone, or failed for good).
async fn download(
    client: &Client,
    agent: &UpdateAgent,
    uploads: &UploadsFirst,
    target: &ReleaseTarget,
    dirs: &UpdateDirs,
) -> Option<std::path::PathBuf> {
    let bundle = dirs.bundle(&target.bundle);
    let partial = dirs.partial(&target.bundle);
    let inbox = dirs.clone();
    let keep = target.bundle.clone();
    let _ = tokio::task::spawn_blocking(move || tidy_inbox(&inbox, &keep)).await;
    // A bundle completed before a restart is not fetched again.
    let path = bundle.clone();
    if let Ok(Ok((size, digest))) = tokio::task::spawn_blocking(move || hash_file(&path)).await
        && size == target.size
        && digest == target.bundle
    {
        return Some(bundle);
    }
    let progress = agent.progress().yielding_to(uploads);
    loop {
        agent.set_state(target, UpdateState::Downloading);
        uploads.clear().await;
        match client
            .download_release_with(target, &partial, &progress)
            .await
        {
            Ok(done) => {
                let overhead = progress.received().saturating_sub(target.size);
                tracing::info!(
                    version = %target.version,
                    size = done.size,
                    resumed_from = done.resumed_from,
                    restarts = done.restarts,
                    received_total = progress.received(),
                    resume_overhead_bytes = overhead,
                    "downloaded the release bundle"
                );
                agent.downloaded(done);
                if let Err(err) = atomic_file::rename_durably(&partial, &bundle) {
                    tracing::warn!(%err, "cannot move the downloaded bundle into place; trying again");
                    tokio::time::sleep(agent.retry_every()).await;
                    continue;
                }
                return Some(bundle);
            }
            Err(DownloadError::NotTargeted { .. }) => {
                tracing::info!(version = %target.version, "the release is no longer targeted at this booth");
                let _ = std::fs::remove_file(&partial);
                agent.clear();
                return None;
            }
            Err(err) if err.is_retryable() => {
                let wait = err.retry_after().unwrap_or(agent.retry_every());
                tracing::info!(%err, wait_s = wait.as_secs(), "the release download stopped; it resumes later");
                tokio::time::sleep(wait).await;
            }
            Err(err) => {
                agent.fail(target, FailureStage::Download, &err.to_string(), true);
                return None;
            }
        }
    }
}

/// Removes the bundles and partial downloads of earlier targets from the inbox (the data
/// partition is small flash), keeping `keep`'s and the one a pending install request names.
fn tidy_inbox(dirs: &UpdateDirs, keep: &str) {
    let requested = std::fs::read(dirs.install_request())
        .ok()
        .and_then(|bytes| InstallRequest::from_json(&bytes).ok())
        .map(|request| request.bundle);
    let Ok(entries) = std::fs::read_dir(&dirs.inbox) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(digest) = name
            .strip_suffix(super::PARTIAL_SUFFIX)
            .unwrap_or(&name)
            .strip_suffix(super::BUNDLE_SUFFIX)
        else {
            continue;
        };
        if digest == keep || requested.as_deref() == Some(digest) {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => {
                tracing::info!(file = %name, "removed an earlier target's download from the inbox")
            }
            Err(err) => {
                tracing::warn!(%err, file = %name, "cannot remove an earlier download from the inbox")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_keeps_only_the_current_and_the_requested_bundles() {
        let data = tempfile::tempdir().unwrap();
        let dirs = UpdateDirs::new(data.path());
        std::fs::create_dir_all(&dirs.inbox).unwrap();
        let (old, current, requested) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        for path in [
            dirs.bundle(&old),
            dirs.partial(&old),
            dirs.partial(&current),
            dirs.bundle(&requested),
        ] {
            std::fs::write(path, b"x").unwrap();
        }
        InstallRequest::new("2.0.0", &requested, &UpdateDirs::bundle_name(&requested))
            .unwrap()
            .write(&dirs)
            .unwrap();
        tidy_inbox(&dirs, &current);
        let mut left: Vec<String> = std::fs::read_dir(&dirs.inbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{current}.bundle.partial"),
                format!("{requested}.bundle"),
                "install-request.json".to_owned()
            ]
        );
    }
}
