//! Enroll this booth: server address and one-time code typed, or read from an enrollment QR
//! code held under the scanner; the technician PIN is set in the same step.
//!
//! The enrollment QR payload is `booth-enroll:v1?server=<URL>&code=<CODE>`, with the values
//! percent-encoded (e.g. `booth-enroll:v1?server=http%3A%2F%2F10.0.0.5%3A8080&code=ABCD-EFGH`):
//! [`EnrollQr`], shared with the county server, whose staff fleet page draws it.

use std::rc::Rc;

use slint::ComponentHandle;
use sync_protocol::ErrorCode;
use ui::{TechnicianAdapter, TechnicianEnrollState, TechnicianView};

use super::gate::Technician;
use super::{Shared, showing};
use crate::app::context::Ctx;
use crate::app::services::Services;
use kiosk_core::store::Identity;
use kiosk_core::store::technician_pin::TechnicianPin;
use kiosk_core::sync::{EnrollError, SyncError};

pub use sync_protocol::enroll::{EnrollQr, parse_enroll_qr};

/// The server as typed: `192.168.1.10 8080` or `192.168.1.10:8080` gets `http://`, since the
/// on-screen keyboard has no ":" or "/"; a full URL stays as it is.
pub fn normalize_server_url(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.contains("://") {
        return text.to_owned();
    }
    let host_port = match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [host, port] if port.chars().all(|c| c.is_ascii_digit()) => format!("{host}:{port}"),
        _ => text.to_owned(),
    };
    format!("http://{host_port}")
}

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let t = Rc::clone(tech);
    ctx.window()
        .global::<TechnicianAdapter>()
        .on_enroll(ctx.callback(move |ctx| {
            if t.unlocked() {
                start(ctx, &t);
            }
        }));
}

pub(super) fn clear(adapter: &TechnicianAdapter<'_>) {
    adapter.set_enroll_code("".into());
    adapter.set_new_pin("".into());
    adapter.set_enroll_state(TechnicianEnrollState::Idle);
    adapter.set_enroll_detail("".into());
}

/// Prefills the server of an enrolled booth and listens for an enrollment QR code.
pub(super) fn opened(ctx: &Rc<Ctx>) {
    {
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        adapter.set_enroll_state(TechnicianEnrollState::Idle);
        adapter.set_enroll_detail("".into());
    }
    ctx.background(
        |services| services.with_store(|store| store.identity().ok().flatten()),
        |ctx, identity| {
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            if let Some(identity) = identity
                && adapter.get_server_url().is_empty()
            {
                adapter.set_server_url(identity.server_url.into());
            }
        },
    );
    ctx.capture_scans(|ctx, code| {
        if !showing(ctx, TechnicianView::Enroll) {
            return;
        }
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        match parse_enroll_qr(&code) {
            Some(qr) => {
                tracing::info!(target: "technician", server = %qr.server, "enrollment QR code scanned");
                adapter.set_server_url(qr.server.into());
                adapter.set_enroll_code(qr.code.into());
                adapter.set_enroll_state(TechnicianEnrollState::Idle);
                adapter.set_enroll_detail("".into());
            }
            None => {
                // The code itself is not logged: it may be a villager's receipt.
                tracing::info!(target: "technician", "a scanned code is not an enrollment QR code");
                adapter.set_enroll_state(TechnicianEnrollState::NotEnrollQr);
                adapter.set_enroll_detail("".into());
            }
        }
    });
}

/// What went wrong, for the screen (state and a technical detail line).
#[derive(Debug)]
struct Failure {
    state: TechnicianEnrollState,
    detail: String,
}

/// What a finished enrollment hands back to the screen.
#[derive(Debug)]
struct Enrolled {
    identity: Identity,
    /// Sync was already running under the old identity: a restart is needed.
    restart: bool,
}

fn start(ctx: &Rc<Ctx>, tech: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    let url = normalize_server_url(&adapter.get_server_url());
    let code = adapter.get_enroll_code().trim().to_owned();
    let new_pin = adapter.get_new_pin().trim().to_owned();
    let refuse = |state| {
        adapter.set_enroll_state(state);
        adapter.set_enroll_detail("".into());
    };
    if url.is_empty() {
        return refuse(TechnicianEnrollState::NeedUrl);
    }
    if code.is_empty() {
        return refuse(TechnicianEnrollState::NeedCode);
    }
    let pin = if new_pin.is_empty() {
        if !tech.gate.read(Technician::pin_set) {
            return refuse(TechnicianEnrollState::NeedPin);
        }
        None
    } else {
        match TechnicianPin::parse(&new_pin) {
            Ok(pin) => Some(pin),
            Err(_) => return refuse(TechnicianEnrollState::NeedPin),
        }
    };
    adapter.set_server_url(url.clone().into());
    tracing::info!(target: "technician", server = %url, "enrollment started");
    adapter.set_enroll_state(TechnicianEnrollState::Enrolling);
    adapter.set_enroll_detail("".into());
    let t = Rc::clone(tech);
    ctx.background(
        move |services| enroll_blocking(services, &url, &code, pin.as_ref()),
        move |ctx, result| {
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            match result {
                Ok(done) => {
                    let identity = &done.identity;
                    tracing::info!(
                        target: "technician",
                        kiosk_id = %identity.kiosk_id,
                        kiosk_number = identity.kiosk_number,
                        "booth enrolled"
                    );
                    t.gate.update(ctx, Technician::enrolled_now);
                    adapter.set_new_pin("".into());
                    adapter.set_enroll_code("".into());
                    adapter.set_enroll_state(if done.restart {
                        TechnicianEnrollState::EnrolledRestart
                    } else {
                        TechnicianEnrollState::Enrolled
                    });
                    let village = &identity.village;
                    adapter.set_enroll_detail(
                        format!(
                            "{}{}{} · #{} · {}",
                            village.county,
                            village.township,
                            village.village,
                            identity.kiosk_number,
                            identity.kiosk_id
                        )
                        .into(),
                    );
                    crate::app::header::refresh_identity_and_queue(ctx);
                }
                Err(failure) => {
                    tracing::warn!(target: "technician", detail = %failure.detail, "enrollment failed");
                    adapter.set_enroll_state(failure.state);
                    adapter.set_enroll_detail(failure.detail.into());
                }
            }
        },
    );
}

fn enroll_blocking(
    services: &Services,
    url: &str,
    code: &str,
    pin: Option<&TechnicianPin>,
) -> Result<Enrolled, Failure> {
    let was_syncing = services.sync_running();
    let identity = services
        .runtime()
        .block_on(kiosk_core::sync::enroll(services.data_dir(), url, code))
        .map_err(|err| classify(&err))?;
    if let Some(pin) = pin {
        services
            .with_store(|store| store.set_technician_pin(pin))
            .map_err(|err| Failure {
                state: TechnicianEnrollState::Failed,
                detail: format!("enrolled, but the PIN was not saved: {err}"),
            })?;
        tracing::info!(target: "technician", "technician PIN set");
    }
    if let Err(err) = services.start_sync() {
        tracing::error!(target: "technician", %err, "sync did not start after enrollment");
    }
    Ok(Enrolled {
        identity,
        restart: was_syncing,
    })
}

fn classify(err: &EnrollError) -> Failure {
    let state = match err {
        EnrollError::EmptyCode => TechnicianEnrollState::NeedCode,
        EnrollError::Refused(refused) => match refused.code() {
            Some(ErrorCode::EnrollCodeUsed) => TechnicianEnrollState::CodeUsed,
            Some(ErrorCode::EnrollCodeExpired) => TechnicianEnrollState::CodeExpired,
            Some(ErrorCode::EnrollCodeInvalid) => TechnicianEnrollState::CodeInvalid,
            _ => TechnicianEnrollState::Failed,
        },
        EnrollError::RateLimited { .. } | EnrollError::ServerFailed { .. } => {
            TechnicianEnrollState::ServerBusy
        }
        EnrollError::Server(SyncError::BadUrl { .. } | SyncError::Protocol { .. }) => {
            TechnicianEnrollState::BadUrl
        }
        EnrollError::Server(SyncError::Network { .. }) => TechnicianEnrollState::Unreachable,
        _ => TechnicianEnrollState::Failed,
    };
    Failure {
        state,
        detail: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_typed_without_colon_or_slash_becomes_a_url() {
        assert_eq!(
            normalize_server_url(" 192.168.1.10 8080 "),
            "http://192.168.1.10:8080"
        );
        assert_eq!(
            normalize_server_url("county.example.cn"),
            "http://county.example.cn"
        );
        assert_eq!(
            normalize_server_url("https://county.example.cn:8443/"),
            "https://county.example.cn:8443/"
        );
        assert_eq!(normalize_server_url("10.0.0.5:80"), "http://10.0.0.5:80");
        assert_eq!(normalize_server_url("  "), "");
    }
}
