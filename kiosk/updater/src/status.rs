//! `booth-update status`: what a technician needs to know about updates on this booth, as
//! lines or as JSON (the heartbeat's `update` report and more).

use booth_release::{PublicKey, TrustStore};
use kiosk_core::update::{LastFailure, UpdateReport, UpdateState};
use serde::Serialize;

use crate::machine::{MAX_STARTS, NETWORK_UP_BOUND_SECS};
use crate::releases;
use crate::state::{Ending, Phase, State};
use crate::{UpdateError, Updater};

/// Everything `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub report: UpdateReport,
    pub current: String,
    pub previous: Option<String>,
    pub app: String,
    pub store_schema: Option<u32>,
    pub state: State,
    pub trusted_keys: Vec<String>,
    pub retired_keys: Vec<String>,
    pub pending_request: bool,
}

impl Updater {
    /// Reads the state without changing anything (no lock, no recovery).
    pub fn status(&self) -> Result<Status, UpdateError> {
        let layout = &self.layout;
        let state = State::load(&layout.state())?;
        let running = releases::running(layout)?;
        let info = releases::info(layout, running, self.factory_version)?;
        let previous = releases::linked(layout, &layout.previous())?;
        let app = match running {
            crate::state::ReleaseRef::Factory => layout.factory_kiosk.clone(),
            crate::state::ReleaseRef::Installed(_) => layout
                .current()
                .join(releases::FILES_DIR)
                .join(releases::KIOSK_PATH),
        };
        let trust: Option<TrustStore> = std::fs::read(layout.trust())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let ids = |keys: &mut dyn Iterator<Item = &PublicKey>| -> Vec<String> {
            keys.map(|k| format!("{} ({k})", k.key_id())).collect()
        };
        let pending_request = layout.kiosk.install_request().exists();
        let report = UpdateReport {
            running: info.version.to_string(),
            highest_installed: state
                .highest_installed
                .unwrap_or(self.factory_version)
                .max(info.version)
                .to_string(),
            target: state.install.as_ref().map(|i| i.version.to_string()),
            state: report_state(&state, pending_request),
            downloaded_bytes: 0,
            last_failure: state.last.as_ref().and_then(|last| {
                let stage = last.stage?;
                Some(LastFailure {
                    version: last.version.clone(),
                    stage,
                    reason: last.reason.clone().unwrap_or_default(),
                })
            }),
        };
        Ok(Status {
            report,
            current: running.to_string(),
            previous: previous.map(|p| p.to_string()),
            app: app.display().to_string(),
            store_schema: kiosk_core::store::closed::schema_on_disk(&layout.store)?,
            trusted_keys: trust
                .as_ref()
                .map(|t| ids(&mut t.trusted()))
                .unwrap_or_default(),
            retired_keys: trust
                .as_ref()
                .map(|t| ids(&mut t.retired()))
                .unwrap_or_default(),
            state,
            pending_request,
        })
    }
}

fn report_state(state: &State, pending_request: bool) -> UpdateState {
    if let Some(install) = &state.install {
        return match install.phase {
            Phase::Trial => UpdateState::Trial,
            _ => UpdateState::Installing,
        };
    }
    if pending_request {
        return UpdateState::Staged;
    }
    match state.last.as_ref().map(|l| l.ending) {
        Some(Ending::Installed) => UpdateState::Installed,
        Some(Ending::RolledBack) => UpdateState::RolledBack,
        Some(Ending::Failed) => UpdateState::Failed,
        None => UpdateState::Idle,
    }
}

impl Status {
    /// The technician's lines.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("running        {} ({})", self.report.running, self.current),
            format!("app            {}", self.app),
            format!(
                "previous       {}",
                self.previous.as_deref().unwrap_or("none")
            ),
            format!("highest        {}", self.report.highest_installed),
            format!(
                "store schema   {}",
                self.store_schema
                    .map_or_else(|| "no store yet".to_owned(), |s| s.to_string())
            ),
        ];
        let state = serde_json::to_value(self.report.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        lines.push(match &self.state.install {
            Some(install) if install.phase == Phase::Trial => {
                let t = &install.trial;
                format!(
                    "state          trial of {} (from {}): {} of {MAX_STARTS} starts without READY, READY seen: {}, {} s READY, {} of {NETWORK_UP_BOUND_SECS} s with the network up and no heartbeat acknowledged",
                    install.version,
                    install.from,
                    t.starts,
                    if t.ready_seen { "yes" } else { "no" },
                    t.ready_secs,
                    t.network_up_secs
                )
            }
            Some(install) => format!(
                "state          installing {} ({:?}): `booth-update recover` finishes or undoes it",
                install.version, install.phase
            ),
            None => format!("state          {state}"),
        });
        if let Some(last) = &self.state.last {
            let mut line = format!("last           {} {:?}", last.version, last.ending);
            if let Some(stage) = last.stage {
                line.push_str(&format!(" at {stage}"));
            }
            if let Some(reason) = &last.reason {
                line.push_str(&format!(": {reason}"));
            }
            if last.store_restored {
                line.push_str(" (store backup restored, queue merged back)");
            }
            lines.push(line);
        }
        if !self.state.rolled_back.is_empty() {
            let list: Vec<String> = self
                .state
                .rolled_back
                .iter()
                .map(ToString::to_string)
                .collect();
            lines.push(format!("never again    {}", list.join(", ")));
        }
        lines.push(format!(
            "request        {}",
            if self.pending_request {
                "an install request waits in the inbox"
            } else {
                "none"
            }
        ));
        if self.trusted_keys.is_empty() {
            lines.push(
                "trusted keys   (not seeded yet: the image's pinned keys at the first install)"
                    .into(),
            );
        }
        for key in &self.trusted_keys {
            lines.push(format!("trusted key    {key}"));
        }
        for key in &self.retired_keys {
            lines.push(format!("retired key    {key}"));
        }
        lines
    }
}
