//! The member's own account: changing the password.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm};
use super::{DEVICE_COOKIE, Frame, cookie, render};
use crate::staff::password::PasswordError;
use crate::state::AppState;

pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/password", Needs::Session, get(show)),
        route(Method::POST, "/password", Needs::Session, post(act)),
    ]
}

#[derive(Template)]
#[template(path = "staff/password.html")]
struct PasswordPage {
    frame: Frame,
    problem: Option<&'static str>,
}

pub async fn show(staff: Staff) -> Response {
    render(
        &PasswordPage {
            frame: staff.frame("password"),
            problem: None,
        },
        staff.lang,
    )
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: StaffForm<PasswordForm>,
) -> Response {
    let StaffForm { staff, form } = form;
    let refuse = |problem: &'static str| {
        let mut response = render(
            &PasswordPage {
                frame: staff.frame("password"),
                problem: Some(problem),
            },
            staff.lang,
        );
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    // The current password is a guess like a login's, and counts against the same limits: a
    // session left open is not a way to try passwords without end.
    let limiter = state.login_limiter();
    let address = staff.remote.as_deref().and_then(|r| r.parse().ok());
    let device = cookie(&headers, DEVICE_COOKIE);
    let attempt = match limiter
        .admit(&staff.user.username, address, device.as_deref())
        .await
    {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(_)) => {
            let mut response = refuse("password.throttled");
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return response;
        }
        // Fail closed, as the login does.
        Err(error) => {
            tracing::error!(error = %error, "password check refused: the guessing limits cannot be counted");
            let mut response = refuse("login.unavailable");
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return super::session::busy(response);
        }
    };
    let gate = state.password_gate();
    let stored = staff.user.password_hash.clone();
    let current_ok = match gate.verify(form.current.clone(), Some(stored)).await {
        Ok(ok) => ok,
        Err(busy) => {
            limiter.not_checked(attempt).await;
            return staff.fail(busy).into_response();
        }
    };
    if !current_ok {
        return refuse("password.wrong_current");
    }
    limiter.succeeded(attempt).await;
    if form.new != form.repeat {
        return refuse("password.mismatch");
    }
    let hash = match gate
        .hash_new(staff.user.username.clone(), form.new.clone())
        .await
    {
        Ok(Ok(hash)) => hash,
        Ok(Err(PasswordError::TooShort)) => return refuse("password.too_short"),
        Ok(Err(PasswordError::SameAsUsername)) => return refuse("password.same_as_user"),
        Ok(Err(_)) => return refuse("error.internal"),
        Err(busy) => return staff.fail(busy).into_response(),
    };
    let changed = state
        .store()
        .set_password(
            &staff.user.username,
            hash,
            Some(staff.token_hash().to_owned()),
            staff.audit("account.password").target(&staff.user.username),
        )
        .await;
    match changed {
        Ok(Ok(())) => {
            let mut frame = staff.frame("password");
            frame.flash = Some("password.changed");
            render(
                &PasswordPage {
                    frame,
                    problem: None,
                },
                staff.lang,
            )
        }
        Ok(Err(_)) => refuse("error.not_found"),
        Err(error) => staff.fail(error).into_response(),
    }
}

use axum::response::IntoResponse as _;
