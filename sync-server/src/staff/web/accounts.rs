//! Staff accounts, for administrators: list those inside one's scope, add one (its first
//! password made here and shown once), disable or enable, and reset a forgotten password.
//! An administrator hands out only scopes inside their own, and cannot lock themselves out.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use chrono::Utc;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm};
use super::{Frame, PageResult, StaffError, render};
use crate::domain::access::{Role, Scope};
use crate::domain::limits;
use crate::state::AppState;
use crate::store::staff::{NewStaffUser, StaffUser};

pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/accounts", Needs::Admin, get(show)),
        route(Method::POST, "/accounts", Needs::Admin, post(add)),
        route(
            Method::POST,
            "/accounts/{username}/disable",
            Needs::Admin,
            post(disable),
        ),
        route(
            Method::POST,
            "/accounts/{username}/enable",
            Needs::Admin,
            post(enable),
        ),
        route(
            Method::POST,
            "/accounts/{username}/reset",
            Needs::Admin,
            post(reset),
        ),
    ]
}

#[derive(Debug)]
struct AccountLine {
    username: String,
    display_name: String,
    role_key: String,
    scope: String,
    state_key: &'static str,
    disabled: bool,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage {
    frame: Frame,
    accounts: Vec<AccountLine>,
    roles: Vec<(&'static str, String)>,
    problem: Option<&'static str>,
    /// A password to show once: `(username, password)`.
    secret: Option<(String, String)>,
    secret_key: &'static str,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    problem: Option<&'static str>,
    secret: Option<(String, String)>,
    secret_key: &'static str,
    flash: Option<&'static str>,
) -> PageResult {
    let now = Utc::now();
    let accounts = state
        .store()
        .list_users()
        .await
        .map_err(|e| staff.fail(e))?
        .into_iter()
        .filter(|u| staff.user.scope.contains(&u.scope))
        .map(|u: StaffUser| AccountLine {
            state_key: if u.is_disabled() {
                "accounts.disabled"
            } else if u.locked_until.is_some_and(|until| until > now) {
                "accounts.locked"
            } else {
                "accounts.active"
            },
            disabled: u.is_disabled(),
            is_self: u.username == staff.user.username,
            role_key: format!("role.{}", u.role.as_str()),
            scope: u.scope.to_string(),
            username: u.username,
            display_name: u.display_name,
        })
        .collect();
    let mut frame = staff.frame("staff");
    frame.flash = flash;
    let roles = Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str(),
                frame.t(format!("role.{}", r.as_str())).into_owned(),
            )
        })
        .collect();
    let status = if problem.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let mut response = render(
        &AccountsPage {
            frame,
            accounts,
            roles,
            problem,
            secret,
            secret_key,
        },
        staff.lang,
    );
    *response.status_mut() = status;
    Ok(response)
}

async fn show(State(state): State<AppState>, staff: Staff) -> PageResult {
    page(&state, &staff, None, None, "", None).await
}

/// A random first password: 16 characters without look-alikes, in groups of four.
pub fn generated_password() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// A login name as stored, or `None` if it is not a usable one.
pub fn login_name(text: &str) -> Option<String> {
    let name = text.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= limits::LOGIN_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    valid.then_some(name)
}

async fn hashed_new_password(state: &AppState) -> Result<(String, String), StaffError> {
    let password = generated_password().map_err(|_| StaffError::Internal)?;
    let hash = state
        .password_gate()
        .hash(password.clone())
        .await?
        .map_err(|_| StaffError::Internal)?;
    Ok((password, hash))
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

async fn add(State(state): State<AppState>, form: StaffForm<AddForm>) -> PageResult {
    let StaffForm { staff, form } = form;
    let Some(username) = login_name(&form.username) else {
        return page(&state, &staff, Some("accounts.bad_name"), None, "", None).await;
    };
    let scope = form
        .scope
        .parse::<Scope>()
        .ok()
        .filter(|scope| staff.user.scope.contains(scope));
    let (Some(scope), Ok(role)) = (scope, form.role.parse::<Role>()) else {
        return page(&state, &staff, Some("accounts.bad_scope"), None, "", None).await;
    };
    let (secret, hash) = hashed_new_password(&state)
        .await
        .map_err(|e| staff.fail(e))?;
    let display_name = Some(form.display_name.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| username.clone());
    let created = state
        .store()
        .create_user(
            NewStaffUser {
                username: username.clone(),
                display_name,
                role,
                scope: scope.clone(),
                password_hash: hash,
            },
            Utc::now(),
            staff
                .audit("account.create")
                .target(&username)
                .detail(format!("role {role}, scope {scope}")),
        )
        .await
        .map_err(|e| staff.fail(e))?;
    match created {
        Ok(_) => {
            page(
                &state,
                &staff,
                None,
                Some((username, secret)),
                "accounts.created",
                None,
            )
            .await
        }
        Err(_) => page(&state, &staff, Some("accounts.exists"), None, "", None).await,
    }
}

/// The account named in the path, if it lies inside the administrator's scope.
async fn target(
    state: &AppState,
    staff: &Staff,
    username: &str,
) -> Result<StaffUser, super::PageError> {
    state
        .store()
        .find_user(username)
        .await
        .map_err(|e| staff.fail(e))?
        .filter(|u| staff.user.scope.contains(&u.scope))
        .ok_or_else(|| staff.fail(StaffError::NotFound))
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

async fn set_disabled(
    state: &AppState,
    staff: &Staff,
    username: &str,
    disabled: bool,
) -> PageResult {
    let account = target(state, staff, username).await?;
    if disabled && account.username == staff.user.username {
        return page(state, staff, Some("accounts.not_self"), None, "", None).await;
    }
    let action = if disabled {
        "account.disable"
    } else {
        "account.enable"
    };
    state
        .store()
        .set_disabled(
            &account.username,
            disabled,
            staff.audit(action).target(&account.username),
        )
        .await
        .map_err(|e| staff.fail(e))?
        .map_err(|_| staff.fail(StaffError::NotFound))?;
    page(state, staff, None, None, "", Some("accounts.changed")).await
}

async fn disable(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_disabled(&state, &form.staff, &username, true).await
}

async fn enable(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_disabled(&state, &form.staff, &username, false).await
}

async fn reset(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    let staff = form.staff;
    let account = target(&state, &staff, &username).await?;
    let (secret, hash) = hashed_new_password(&state)
        .await
        .map_err(|e| staff.fail(e))?;
    state
        .store()
        .set_password(
            &account.username,
            hash,
            None,
            staff.audit("account.reset").target(&account.username),
        )
        .await
        .map_err(|e| staff.fail(e))?
        .map_err(|_| staff.fail(StaffError::NotFound))?;
    page(
        &state,
        &staff,
        None,
        Some((account.username, secret)),
        "accounts.reset_done",
        None,
    )
    .await
}
