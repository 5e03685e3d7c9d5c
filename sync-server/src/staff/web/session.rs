//! Logging in and out, and the two extractors every other page uses: [`Staff`] (a live
//! session) and [`StaffForm`] (a live session posting a form with its CSRF token).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::access::{Needs, StaffRoute, route};
use super::return_path;
use super::{
    DEVICE_COOKIE, Frame, LANG_COOKIE, LOGIN_COOKIE, PageError, SESSION_COOKIE, StaffError,
    UserView, cookie, render, set_cookie,
};
use crate::domain::access::LockPolicy;
use crate::domain::limits;
use crate::staff::i18n::{Lang, Tr};
use crate::staff::login_limit::Refused;
use crate::staff::password::Busy;
use crate::staff::token;
use crate::state::AppState;
use crate::store::staff::{AuditEntry, NewSession, StaffUser};

pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/login", Needs::Nothing, get(show_login)),
        route(Method::POST, "/login", Needs::Nothing, post(login)),
        route(Method::POST, "/logout", Needs::Session, post(logout)),
        route(Method::GET, "/lang", Needs::Nothing, get(switch_language)),
    ]
}

/// A logged-in staff member, for one request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: StaffUser,
    pub csrf: String,
    pub lang: Lang,
    pub remote: Option<String>,
    token_hash: String,
    path: String,
}

impl Staff {
    /// The frame of a page this member sees.
    pub fn frame(&self, nav: &'static str) -> Frame {
        Frame {
            tr: Tr::new(self.lang),
            user: Some(UserView::of(&self.user)),
            csrf: self.csrf.clone(),
            nav,
            here: self.path.clone(),
            flash: None,
        }
    }

    /// An audit line by this member, from their address.
    pub fn audit(&self, action: &str) -> AuditEntry {
        AuditEntry::new(Utc::now(), &self.user.username, action).remote(self.remote.clone())
    }

    pub fn fail(&self, error: impl Into<StaffError>) -> PageError {
        PageError {
            error: error.into(),
            lang: self.lang,
        }
    }

    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
}

/// The path as the browser sent it (a nested router sees it without `/staff`).
fn original_path(parts: &Parts) -> String {
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    uri.path_and_query()
        .map_or("/staff/", |p| p.as_str())
        .to_owned()
}

fn remote_of(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// Where the login form goes after a login: a return path ([`return_path::local`]) that is
/// not the login or logout page itself.
fn safe_return(path: Option<&str>) -> String {
    match path.and_then(return_path::local) {
        Some(path) if !path.starts_with("/staff/login") && !path.starts_with("/staff/logout") => {
            path.to_owned()
        }
        _ => return_path::HOME.to_owned(),
    }
}

/// Not logged in (or the session ended): to the login page, then back here.
#[derive(Debug)]
pub struct LoginRequired {
    back: String,
    expired: bool,
    secure: bool,
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        let mut target = format!("/staff/login?next={}", encode_query(&self.back));
        if self.expired {
            target.push_str("&expired=1");
        }
        let mut response = Redirect::to(&target).into_response();
        if self.expired
            && let Ok(value) = set_cookie(SESSION_COOKIE, "", Some(0), self.secure).parse()
        {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        response
    }
}

fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Resolved and checked already by the route's guard (`access::guard`).
        if let Some(staff) = parts.extensions.get::<Self>() {
            return Ok(staff.clone());
        }
        let lang = Lang::from_headers(&parts.headers);
        let path = original_path(parts);
        let back = if parts.method == Method::GET {
            return_path::or_home(Some(&path))
        } else {
            return_path::HOME.to_owned()
        };
        let secure = state.settings().secure_cookies;
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()) else {
            return Err(LoginRequired {
                back,
                expired: false,
                secure,
            }
            .into_response());
        };
        // A cookie that cannot be one of ours is not looked up at all.
        if !token::well_formed(&secret) {
            return Err(LoginRequired {
                back,
                expired: true,
                secure,
            }
            .into_response());
        }
        let token_hash = token::digest(&secret);
        let session = state
            .store()
            .resume_session(&token_hash, Utc::now(), state.settings().session_lifetime)
            .await
            .map_err(|e| StaffError::Store(e).render(lang))?;
        let Some(session) = session else {
            return Err(LoginRequired {
                back,
                expired: true,
                secure,
            }
            .into_response());
        };
        Ok(Self {
            user: session.user,
            csrf: session.csrf_token,
            lang,
            remote: remote_of(parts),
            token_hash,
            path,
        })
    }
}

/// A form posted by a logged-in member: the session, then the same-origin check, then the
/// form's `csrf` field against the session's token, and only then the fields as `T`.
#[derive(Debug)]
pub struct StaffForm<T> {
    pub staff: Staff,
    pub form: T,
}

/// Whether the browser says the request came from another site. Browsers send `Origin` on
/// every POST; a request without it (a script, an old client) still needs the token.
pub(crate) fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    origin == "null" || origin_host != host
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        if cross_origin(&parts.headers) {
            return Err(staff.fail(StaffError::Csrf).into_response());
        }
        let bytes = axum::body::to_bytes(body, state.settings().body_limit)
            .await
            .map_err(|_| {
                staff
                    .fail(StaffError::BadRequest("the form is too large".into()))
                    .into_response()
            })?;
        let pairs = form_pairs(&bytes);
        let sent = pairs
            .iter()
            .find(|(key, _)| key == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !token::same(sent, &staff.csrf) {
            return Err(staff.fail(StaffError::Csrf).into_response());
        }
        // Every field of every staff form, before any handler can store it.
        limits::check_form(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(
            |too_long| {
                staff
                    .fail(StaffError::BadRequest(too_long.to_string()))
                    .into_response()
            },
        )?;
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            staff
                .fail(StaffError::BadRequest(e.to_string()))
                .into_response()
        })?;
        Ok(Self { staff, form })
    }
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    frame: Frame,
    next: String,
    username: String,
    login_token: String,
    message: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    out: Option<String>,
}

fn login_page(
    lang: Lang,
    next: String,
    username: String,
    message: Option<&'static str>,
    secure: bool,
    status: StatusCode,
) -> Response {
    let Ok(login_token) = token::random() else {
        return StaffError::Internal.render(lang);
    };
    let page = LoginPage {
        frame: Frame {
            tr: Tr::new(lang),
            user: None,
            csrf: String::new(),
            nav: "",
            here: format!("/staff/login?next={}", encode_query(&next)),
            flash: None,
        },
        next,
        username,
        login_token: login_token.clone(),
        message,
    };
    let mut response = render(&page, lang);
    *response.status_mut() = status;
    if let Ok(value) = set_cookie(LOGIN_COOKIE, &login_token, Some(3600), secure).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let message = if query.expired.is_some() {
        Some("login.expired")
    } else if query.out.is_some() {
        Some("login.logged_out")
    } else {
        None
    };
    login_page(
        Lang::from_headers(&headers),
        safe_return(query.next.as_deref()),
        String::new(),
        message,
        state.settings().secure_cookies,
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    login_token: String,
}

pub async fn login(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let headers = &parts.headers;
    let lang = Lang::from_headers(headers);
    let secure = state.settings().secure_cookies;
    let next = safe_return(Some(&form.next));
    let typed = form.username.trim().to_lowercase();
    // No account has a longer name (accounts::login_name), so refusing one tells nothing
    // about accounts; it is neither echoed nor looked up, and only its clipped form is kept.
    let too_long = limits::check_form([
        ("username", typed.as_str()),
        ("password", form.password.as_str()),
        ("next", form.next.as_str()),
    ])
    .is_err();
    let username = limits::clip(&typed, limits::LOGIN_NAME).into_owned();
    let shown = if too_long {
        String::new()
    } else {
        typed.clone()
    };
    let refuse = |message, status| {
        login_page(
            lang,
            next.clone(),
            shown.clone(),
            Some(message),
            secure,
            status,
        )
    };
    let expected = cookie(headers, LOGIN_COOKIE).unwrap_or_default();
    if cross_origin(headers) || expected.is_empty() || !token::same(&expected, &form.login_token) {
        return refuse("login.form_expired", StatusCode::FORBIDDEN);
    }
    let remote = remote_of(&parts);
    let address = remote.as_deref().and_then(|r| r.parse().ok());
    let device = cookie(headers, DEVICE_COOKIE);
    let limiter = state.login_limiter();
    let attempt = match limiter.admit(&username, address, device.as_deref()).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(Refused::Address { .. })) => {
            return refuse("login.throttled", StatusCode::TOO_MANY_REQUESTS);
        }
        Ok(Err(Refused::Name { .. })) => {
            return refuse("login.locked", StatusCode::TOO_MANY_REQUESTS);
        }
        // Fail closed: a password checked without counting is a guess without a limit.
        Err(error) => {
            tracing::error!(error = %error, "login refused: the guessing limits cannot be counted");
            return busy(refuse("login.unavailable", StatusCode::SERVICE_UNAVAILABLE));
        }
    };
    let now = Utc::now();
    let audit = |action: &str| AuditEntry::new(now, &username, action).remote(remote.clone());
    // Counted on the account if there is one (it never locks it: see `LockPolicy::COUNT_ONLY`),
    // and audited either way.
    let failed = |why: String| {
        state.store().record_login_failure(
            &username,
            LockPolicy::COUNT_ONLY,
            audit("login.failed").detail(why),
        )
    };
    if too_long {
        let why = format!(
            "a name or password over the limit ({} characters of name)",
            typed.chars().count()
        );
        return match failed(why).await {
            Ok(_) => refuse("login.too_long", StatusCode::BAD_REQUEST),
            Err(error) => StaffError::Store(error).render(lang),
        };
    }
    let user = match state.store().find_user(&username).await {
        Ok(user) => user,
        Err(error) => return StaffError::Store(error).render(lang),
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = match state.password_gate().verify(form.password, stored).await {
        Ok(matches) => matches,
        Err(Busy) => {
            limiter.not_checked(attempt).await;
            return busy(refuse("login.busy", StatusCode::SERVICE_UNAVAILABLE));
        }
    };
    let Some(user) = user.filter(|u| matches && !u.is_disabled()) else {
        let why = if matches {
            "disabled"
        } else {
            "wrong password or unknown name"
        };
        return match failed(why.into()).await {
            Ok(_) => refuse("login.failed", StatusCode::UNAUTHORIZED),
            Err(error) => StaffError::Store(error).render(lang),
        };
    };
    limiter.succeeded(attempt).await;
    let (Ok(secret), Ok(csrf), Ok(device)) = (
        token::random(),
        token::random(),
        limiter.remember_device(&user.username).await,
    ) else {
        return StaffError::Internal.render(lang);
    };
    let lifetime = state.settings().session_lifetime;
    let session = NewSession {
        token_hash: token::digest(&secret),
        username: user.username.clone(),
        csrf_token: csrf,
        now,
        expires_at: now + lifetime.idle,
        remote: remote.clone(),
    };
    if let Err(error) = state.store().open_session(session, audit("login.ok")).await {
        return StaffError::Store(error).render(lang);
    }
    let mut response = Redirect::to(&next).into_response();
    let device_age = i64::try_from(limiter.device_lifetime().as_secs()).unwrap_or(i64::MAX);
    let cookies = [
        set_cookie(
            SESSION_COOKIE,
            &secret,
            Some(lifetime.absolute.num_seconds()),
            secure,
        ),
        set_cookie(LOGIN_COOKIE, "", Some(0), secure),
        set_cookie(DEVICE_COOKIE, &device, Some(device_age), secure),
    ];
    for value in cookies {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A 503 page asks to come back in a few seconds.
pub fn busy(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn logout(State(state): State<AppState>, form: StaffForm<NoFields>) -> Response {
    let staff = form.staff;
    if let Err(error) = state
        .store()
        .close_session(staff.token_hash(), staff.audit("logout"))
        .await
    {
        return staff.fail(error).into_response();
    }
    let mut response = Redirect::to("/staff/login?out=1").into_response();
    if let Ok(value) =
        set_cookie(SESSION_COOKIE, "", Some(0), state.settings().secure_cookies).parse()
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// Remembers the language for a year and goes back. A GET: it changes a preference of this
/// browser, nothing on the server.
pub async fn switch_language(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = Lang::parse(&query.to).unwrap_or_default();
    // The login page too: a visitor switches language before logging in.
    let back = return_path::or_home(query.back.as_deref());
    let mut response = Redirect::to(&back).into_response();
    let mut value = format!(
        "{LANG_COOKIE}={}; Path=/staff; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    if state.settings().secure_cookies {
        value.push_str("; Secure");
    }
    if let Ok(value) = value.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_the_staff_site_are_returned_to() {
        assert_eq!(
            safe_return(Some("/staff/inbox?page=2")),
            "/staff/inbox?page=2"
        );
        for outside in [
            "https://evil.example/",
            "//evil.example",
            "/staff/logout",
            "/api/v1/health",
            "/staff\\..",
        ] {
            assert_eq!(safe_return(Some(outside)), "/staff/", "{outside}");
        }
    }

    #[test]
    fn a_foreign_origin_is_told_apart_from_our_own() {
        let headers = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, "county.example:8443".parse().unwrap());
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            headers
        };
        assert!(!cross_origin(&headers("https://county.example:8443")));
        assert!(cross_origin(&headers("https://evil.example")));
        assert!(cross_origin(&headers("null")));
        assert!(!cross_origin(&HeaderMap::new()));
    }
}
