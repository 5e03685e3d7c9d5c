//! The member's own account: changing the password.

use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm};
use super::{Frame, render};
use crate::staff::password::{self, PasswordError};
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

pub async fn act(State(state): State<AppState>, form: StaffForm<PasswordForm>) -> Response {
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
    let stored = staff.user.password_hash.clone();
    let current = form.current.clone();
    let current_ok = tokio::task::spawn_blocking(move || password::verify(&current, &stored))
        .await
        .unwrap_or(false);
    if !current_ok {
        return refuse("password.wrong_current");
    }
    if form.new != form.repeat {
        return refuse("password.mismatch");
    }
    let username = staff.user.username.clone();
    let new = form.new.clone();
    let hashed = tokio::task::spawn_blocking(move || {
        password::check_strength(&username, &new)?;
        password::hash(&new)
    })
    .await;
    let hash = match hashed {
        Ok(Ok(hash)) => hash,
        Ok(Err(PasswordError::TooShort)) => return refuse("password.too_short"),
        Ok(Err(PasswordError::SameAsUsername)) => return refuse("password.same_as_user"),
        _ => return refuse("error.internal"),
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
