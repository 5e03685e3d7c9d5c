//! Enroll this booth: server address and one-time code typed, or read from an enrollment QR
//! code held under the scanner; the technician PIN is set in the same step.
//!
//! The enrollment QR payload is `booth-enroll:v1?server=<URL>&code=<CODE>[&pin=<PIN>]`, with
//! the values percent-encoded (e.g.
//! `booth-enroll:v1?server=http%3A%2F%2F10.0.0.5%3A8080&code=ABCD-EFGH`): [`EnrollQr`], shared
//! with the county server, whose staff fleet page draws it.
//!
//! The server's certificate fingerprint (its pin, `sync_protocol::pin`): a scanned QR code
//! fills it whole. Typed, the technician gives at least its first 16 hex digits, read from
//! the code slip or over the phone from county staff; the booth enrolls only if the server's
//! certificate starts with them, and stores the whole pin. Typing them (rather than tapping
//! "matches" under a fingerprint the booth shows) makes the comparison actually happen, and
//! 16 digits cannot be matched by a key made to look alike. Left empty, an https server is
//! trusted by the public roots, as before pins.

use std::rc::Rc;

use slint::ComponentHandle;
use sync_protocol::ErrorCode;
use ui::{MainWindow, TechnicianAdapter, TechnicianEnrollState, TechnicianView};

use super::gate::Technician;
use super::{Shared, showing};
use crate::app::bind::{Asserted, Bound, Changes, Flow};
use crate::app::context::Ctx;
use crate::app::services::Services;
use kiosk_core::store::Identity;
use kiosk_core::store::technician_pin::TechnicianPin;
use kiosk_core::sync::{EnrollError, SyncError};
use sync_protocol::pin::PinPrefix;

pub use sync_protocol::enroll::{EnrollQr, parse_enroll_qr};

/// The server as typed: `192.168.1.10 8080` or `192.168.1.10:8080` gets `http://` (the address
/// keyboard has ":" and "/", but technicians used to the old one type a space before the port);
/// a full URL stays as it is.
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

/// What the enrollment page shows: the three fields as the flow last filled them, and what the
/// last try said.
///
/// The server, the code and the new PIN are the technician's own input (the screen's text
/// fields write them); they are read when the technician taps "enroll" (and the server when
/// the booth's enrolled server would prefill it). The flow fills them only when it means to
/// (a scanned QR code, the normalized server, emptied after enrolling).
#[derive(Clone, Default, PartialEq)]
pub struct Enroll {
    server_url: Asserted<String>,
    server_pin: Asserted<String>,
    code: Asserted<String>,
    new_pin: Asserted<String>,
    state: TechnicianEnrollState,
    detail: String,
}

impl std::fmt::Debug for Enroll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code and the PIN are secrets: never printed.
        f.debug_struct("Enroll")
            .field("server_url", self.server_url.get())
            .field("server_pin", self.server_pin.get())
            .field("state", &self.state)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

/// The fields as the technician left them on screen.
#[derive(Clone, Copy)]
struct Typed<'a> {
    server_url: &'a str,
    server_pin: &'a str,
    code: &'a str,
    new_pin: &'a str,
}

/// An enrollment to ask of the server (not `Debug`: the code and the PIN are secrets).
struct Request {
    url: String,
    /// `None`: no fingerprint given (plain http, or the public roots).
    server_pin: Option<PinPrefix>,
    code: String,
    /// `None`: the booth keeps the PIN it has.
    pin: Option<TechnicianPin>,
}

impl Enroll {
    /// The page opens with no message.
    pub fn opened(&mut self) {
        self.say(TechnicianEnrollState::Idle, String::new());
    }

    /// The booth's enrolled identity, read as the page opened: its server (and that server's
    /// pin) fills an empty field.
    pub fn identity_read(&mut self, identity: Option<&Identity>, typed_server: &str) {
        if let Some(identity) = identity
            && typed_server.is_empty()
        {
            self.server_url.set(identity.server_url.clone());
            self.server_pin.set(
                identity
                    .server_pin
                    .map(|pin| pin.to_string())
                    .unwrap_or_default(),
            );
        }
    }

    /// A code held under the scanner: an enrollment QR code fills the server and the code.
    pub fn scanned(&mut self, code: &str) {
        match parse_enroll_qr(code) {
            Some(qr) => {
                tracing::info!(target: "technician", server = %qr.server, "enrollment QR code scanned");
                self.server_url.set(qr.server);
                // Always written: a pin left from another server must not stay beside this one.
                self.server_pin
                    .set(qr.pin.map(|pin| pin.to_string()).unwrap_or_default());
                self.code.set(qr.code);
                self.say(TechnicianEnrollState::Idle, String::new());
            }
            None => {
                // The code itself is not logged: it may be a villager's receipt.
                tracing::info!(target: "technician", "a scanned code is not an enrollment QR code");
                self.say(TechnicianEnrollState::NotEnrollQr, String::new());
            }
        }
    }

    /// "Enroll" tapped: the request, or what is missing. Without a new PIN the booth must
    /// have one already (`pin_set`).
    fn start(&mut self, typed: Typed<'_>, pin_set: bool) -> Option<Request> {
        let url = normalize_server_url(typed.server_url);
        let code = typed.code.trim();
        let new_pin = typed.new_pin.trim();
        let missing = if url.is_empty() {
            Some(TechnicianEnrollState::NeedUrl)
        } else if code.is_empty() {
            Some(TechnicianEnrollState::NeedCode)
        } else {
            None
        };
        if let Some(missing) = missing {
            self.say(missing, String::new());
            return None;
        }
        let server_pin = match typed.server_pin.trim() {
            "" => None,
            typed => match typed.parse::<PinPrefix>() {
                Ok(pin) => Some(pin),
                Err(err) => {
                    self.say(TechnicianEnrollState::BadFingerprint, err.to_string());
                    return None;
                }
            },
        };
        let pin = if new_pin.is_empty() {
            None
        } else {
            match TechnicianPin::parse(new_pin) {
                Ok(pin) => Some(pin),
                Err(_) => {
                    self.say(TechnicianEnrollState::NeedPin, String::new());
                    return None;
                }
            }
        };
        if pin.is_none() && !pin_set {
            self.say(TechnicianEnrollState::NeedPin, String::new());
            return None;
        }
        self.server_url.set(url.clone());
        tracing::info!(target: "technician", server = %url, "enrollment started");
        self.say(TechnicianEnrollState::Enrolling, String::new());
        Some(Request {
            url,
            server_pin,
            code: code.to_owned(),
            pin,
        })
    }

    /// The booth is enrolled: the code and the PIN are emptied, the page names the booth.
    fn enrolled(&mut self, done: &Enrolled) {
        let identity = &done.identity;
        tracing::info!(
            target: "technician",
            kiosk_id = %identity.kiosk_id,
            kiosk_number = identity.kiosk_number,
            "booth enrolled"
        );
        self.new_pin.set(String::new());
        self.code.set(String::new());
        let village = &identity.village;
        self.say(
            if done.restart {
                TechnicianEnrollState::EnrolledRestart
            } else {
                TechnicianEnrollState::Enrolled
            },
            format!(
                "{}{}{} · #{} · {}",
                village.county,
                village.township,
                village.village,
                identity.kiosk_number,
                identity.kiosk_id
            ),
        );
    }

    fn failed(&mut self, failure: Failure) {
        tracing::warn!(target: "technician", detail = %failure.detail, "enrollment failed");
        self.say(failure.state, failure.detail);
    }

    /// The session ended: the code, the PIN and the message go; the server stays (it names
    /// the county's server, nobody's data).
    pub fn session_ended(&mut self) {
        self.code.set(String::new());
        self.new_pin.set(String::new());
        self.say(TechnicianEnrollState::Idle, String::new());
    }

    fn say(&mut self, state: TechnicianEnrollState, detail: String) {
        self.state = state;
        self.detail = detail;
    }
}

impl Flow for Enroll {
    type View = Self;

    fn view(&self) -> Self {
        self.clone()
    }

    fn render(now: &Self, before: Option<&Self>, window: &MainWindow) {
        let adapter = window.global::<TechnicianAdapter>();
        let changes = Changes::new(now, before);
        changes.write(
            |v| &v.server_url,
            |t| adapter.set_server_url(t.get().into()),
        );
        changes.write(
            |v| &v.server_pin,
            |t| adapter.set_server_pin(t.get().into()),
        );
        changes.write(|v| &v.code, |t| adapter.set_enroll_code(t.get().into()));
        changes.write(|v| &v.new_pin, |t| adapter.set_new_pin(t.get().into()));
        changes.write(|v| &v.state, |&s| adapter.set_enroll_state(s));
        changes.write(|v| &v.detail, |d| adapter.set_enroll_detail(d.into()));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let page = Bound::<Enroll>::new(ctx);
    let t = Rc::clone(tech);
    ctx.window()
        .global::<TechnicianAdapter>()
        .on_enroll(page.callback(move |ctx, page| {
            if t.unlocked() {
                start(ctx, page, &t);
            }
        }));
    ctx.on_session_end(move |ctx| page.update(ctx, Enroll::session_ended));
}

/// Prefills the server of an enrolled booth and listens for an enrollment QR code.
pub(super) fn opened(ctx: &Rc<Ctx>) {
    let page = Bound::<Enroll>::of(ctx);
    page.update(ctx, Enroll::opened);
    page.background(
        ctx,
        |services| services.with_store(|store| store.identity().ok().flatten()),
        |ctx, page, identity| {
            // What the technician typed meanwhile stays: read now.
            let typed = ctx.window().global::<TechnicianAdapter>().get_server_url();
            page.update(ctx, |enroll| {
                enroll.identity_read(identity.as_ref(), &typed);
            });
        },
    );
    ctx.capture_scans(move |ctx, code| {
        if showing(ctx, TechnicianView::Enroll) {
            page.update(ctx, |enroll| enroll.scanned(&code));
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

fn start(ctx: &Rc<Ctx>, page: &Bound<Enroll>, tech: &Shared) {
    // The fields are the technician's input, read as they tap "enroll".
    let (url, server_pin, code, new_pin) = {
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        (
            adapter.get_server_url(),
            adapter.get_server_pin(),
            adapter.get_enroll_code(),
            adapter.get_new_pin(),
        )
    };
    let typed = Typed {
        server_url: &url,
        server_pin: &server_pin,
        code: &code,
        new_pin: &new_pin,
    };
    let pin_set = tech.gate.read(Technician::pin_set);
    let Some(request) = page.update(ctx, |enroll| enroll.start(typed, pin_set)) else {
        return;
    };
    let t = Rc::clone(tech);
    page.background(
        ctx,
        move |services| enroll_blocking(services, &request),
        move |ctx, page, result| match result {
            Ok(done) => {
                t.gate.update(ctx, Technician::enrolled_now);
                page.update(ctx, |enroll| enroll.enrolled(&done));
                crate::app::header::refresh_identity_and_queue(ctx);
            }
            Err(failure) => page.update(ctx, |enroll| enroll.failed(failure)),
        },
    );
}

fn enroll_blocking(services: &Services, request: &Request) -> Result<Enrolled, Failure> {
    let was_syncing = services.sync_running();
    let identity = services
        .runtime()
        .block_on(kiosk_core::sync::enroll_pinned(
            services.data_dir(),
            &request.url,
            request.server_pin.as_ref(),
            &request.code,
        ))
        .map_err(|err| classify(&err))?;
    if let Some(pin) = &request.pin {
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
        EnrollError::Server(SyncError::CertificateMismatch { .. }) => {
            TechnicianEnrollState::CertificateMismatch
        }
        EnrollError::Server(SyncError::PinWithoutTls { .. }) => {
            TechnicianEnrollState::BadFingerprint
        }
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
    use sync_protocol::enroll::Village;

    fn typed<'a>(server_url: &'a str, code: &'a str, new_pin: &'a str) -> Typed<'a> {
        Typed {
            server_url,
            server_pin: "",
            code,
            new_pin,
        }
    }

    const PIN: &str = "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef";

    #[test]
    fn a_typed_fingerprint_goes_with_the_request_and_a_bad_one_is_refused() {
        let mut enroll = Enroll::default();
        let with_pin = |server_pin| Typed {
            server_pin,
            ..typed("https://county.example.cn:8443", "ABCD-EFGH", "2468")
        };
        assert!(enroll.start(with_pin("3f2a 9c01"), false).is_none());
        assert_eq!(enroll.view().state, TechnicianEnrollState::BadFingerprint);
        assert!(
            enroll.view().detail.contains("at least the first 16"),
            "{}",
            enroll.view().detail
        );
        let request = enroll
            .start(with_pin("3F2A 9C01 77BE 0D4E"), false)
            .expect("16 digits are enough");
        let expected: PinPrefix = "3f2a9c0177be0d4e".parse().unwrap();
        assert_eq!(request.server_pin, Some(expected));
        assert_eq!(request.url, "https://county.example.cn:8443");
        let request = enroll.start(with_pin(" "), false).expect("no fingerprint");
        assert_eq!(request.server_pin, None);
    }

    #[test]
    fn a_scanned_qr_code_fills_the_fingerprint_or_empties_it() {
        let mut enroll = Enroll::default();
        let pinned = EnrollQr {
            server: "https://10.0.0.5:8443".into(),
            code: "ABCD-EFGH".into(),
            pin: Some(PIN.parse().unwrap()),
        };
        enroll.scanned(&pinned.payload());
        assert_eq!(enroll.view().server_pin.get(), PIN);
        let plain = EnrollQr {
            server: "http://10.0.0.5:8080".into(),
            pin: None,
            ..pinned
        };
        let before = enroll.view();
        enroll.scanned(&plain.payload());
        assert!(enroll.view().server_pin.get().is_empty());
        assert_ne!(
            enroll.view().server_pin,
            before.server_pin,
            "emptied on screen"
        );
    }

    fn identity() -> Identity {
        Identity {
            kiosk_id: "k-7".into(),
            kiosk_number: 7,
            village: Village {
                county: "清河县".into(),
                township: "东乡".into(),
                village: "石桥村".into(),
            },
            server_url: "http://10.0.0.5:8080".into(),
            server_id: "s-1".into(),
            enrolled_at: chrono::Utc::now(),
            server_pin: None,
        }
    }

    #[test]
    fn started_then_enrolled_names_the_booth_and_empties_code_and_pin() {
        let mut enroll = Enroll::default();
        enroll.opened();
        let request = enroll
            .start(typed("10.0.0.5 8080", " ABCD-EFGH ", " 2468 "), false)
            .expect("everything given");
        assert_eq!(request.url, "http://10.0.0.5:8080");
        assert_eq!(request.code, "ABCD-EFGH");
        assert!(request.pin.is_some());
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::Enrolling);
        assert_eq!(
            view.server_url.get(),
            "http://10.0.0.5:8080",
            "as normalized"
        );

        let before = enroll.view();
        enroll.enrolled(&Enrolled {
            identity: identity(),
            restart: false,
        });
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::Enrolled);
        assert_eq!(view.detail, "清河县东乡石桥村 · #7 · k-7");
        assert!(view.code.get().is_empty() && view.new_pin.get().is_empty());
        assert_ne!(
            view.code, before.code,
            "emptied on screen, whatever was typed"
        );
        assert_ne!(view.new_pin, before.new_pin);

        enroll.enrolled(&Enrolled {
            identity: identity(),
            restart: true,
        });
        assert_eq!(enroll.view().state, TechnicianEnrollState::EnrolledRestart);
    }

    #[test]
    fn what_is_missing_is_asked_for_and_nothing_starts() {
        let mut enroll = Enroll::default();
        use TechnicianEnrollState::{NeedCode, NeedPin, NeedUrl};
        let refused = [
            (typed(" ", "ABCD", "2468"), false, NeedUrl),
            (typed("10.0.0.5", " ", "2468"), false, NeedCode),
            (typed("10.0.0.5", "ABCD", ""), false, NeedPin),
            (typed("10.0.0.5", "ABCD", "12"), true, NeedPin),
        ];
        for (typed, pin_set, missing) in refused {
            assert!(enroll.start(typed, pin_set).is_none());
            assert_eq!(enroll.view().state, missing);
        }
        assert!(
            enroll.view().server_url.get().is_empty(),
            "a refused start does not rewrite the server"
        );

        // A booth with a PIN may keep it.
        let request = enroll.start(typed("10.0.0.5", "ABCD", ""), true);
        assert!(request.is_some_and(|r| r.pin.is_none()));
        assert_eq!(enroll.view().state, TechnicianEnrollState::Enrolling);
    }

    #[test]
    fn a_failure_says_why() {
        let mut enroll = Enroll::default();
        enroll.start(typed("10.0.0.5", "ABCD", "2468"), false);
        enroll.failed(Failure {
            state: TechnicianEnrollState::CodeUsed,
            detail: "the code was used".into(),
        });
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::CodeUsed);
        assert_eq!(view.detail, "the code was used");
        enroll.opened();
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::Idle);
        assert!(view.detail.is_empty());
    }

    #[test]
    fn a_scanned_qr_code_fills_the_server_and_the_code() {
        let mut enroll = Enroll::default();
        enroll.scanned("K0012-000042-7");
        assert_eq!(enroll.view().state, TechnicianEnrollState::NotEnrollQr);
        let qr = EnrollQr {
            server: "http://10.0.0.5:8080".into(),
            code: "ABCD-EFGH".into(),
            pin: None,
        };
        enroll.scanned(&qr.payload());
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::Idle);
        assert_eq!(view.server_url.get(), "http://10.0.0.5:8080");
        assert_eq!(view.code.get(), "ABCD-EFGH");
    }

    #[test]
    fn the_enrolled_server_fills_only_an_empty_field() {
        let mut enroll = Enroll::default();
        let before = enroll.view();
        enroll.identity_read(Some(&identity()), "192.168.1.10");
        assert_eq!(enroll.view(), before, "what was typed stays");
        enroll.identity_read(None, "");
        assert_eq!(enroll.view(), before, "a booth not enrolled");
        enroll.identity_read(Some(&identity()), "");
        assert_eq!(enroll.view().server_url.get(), "http://10.0.0.5:8080");
    }

    #[test]
    fn the_session_end_empties_code_pin_and_message_but_keeps_the_server() {
        let mut enroll = Enroll::default();
        enroll.start(typed("10.0.0.5", "ABCD", "2468"), false);
        let before = enroll.view();
        enroll.session_ended();
        let view = enroll.view();
        assert_eq!(view.state, TechnicianEnrollState::Idle);
        assert_eq!(view.server_url, before.server_url, "not written again");
        assert_ne!(view.code, before.code, "emptied on screen");
        assert_ne!(view.new_pin, before.new_pin, "emptied on screen");
    }

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
