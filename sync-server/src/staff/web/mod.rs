//! The staff pages under `/staff`: server-rendered HTML (askama templates in
//! `sync-server/templates/staff/`), plain forms, no script. One file per page group, each with
//! the same verbs: `show` renders, `act` handles the page's form.
//!
//! Every route is declared once in its module's `routes()` with what it needs of the account
//! ([`access::Needs`]); [`router`] is built from [`access::table`] alone and puts
//! [`access::guard`] (a session, then the role and the scope's reach, else 403) in front of
//! each. Every page then goes through [`session::Staff`] (the session the guard checked);
//! every form through [`session::StaffForm`] (session + CSRF token + same origin). Anything
//! in scope is fetched with the account's scope, so out-of-scope data is never loaded; a
//! record outside it answers 404 like a missing one.

pub mod access;
pub mod account;
pub mod accounts;
pub mod audit;
pub mod calendar;
pub mod csv;
pub mod fleet;
pub mod follow_ups;
pub mod guides;
pub mod health;
pub mod notices;
pub mod pages;
pub mod ratings;
pub mod releases;
pub mod return_path;
pub mod review;
pub mod session;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use self::access::{Needs, StaffRoute};
use super::i18n::{Lang, Tr};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::staff::StaffUser;

/// The session cookie: the session's secret (the store keeps only its hash).
pub const SESSION_COOKIE: &str = "staff_session";
/// The login form's double-submit token (no session exists yet to hold one).
pub const LOGIN_COOKIE: &str = "staff_login";
/// A browser that logged in before, for the login limits (`staff::login_limit`).
pub const DEVICE_COOKIE: &str = "staff_device";
/// The chosen language.
pub const LANG_COOKIE: &str = "lang";

static STYLESHEET: &str = include_str!("../../../templates/staff/staff.css");

/// The `/staff` router, to be nested under `/staff`: every route of [`access::table`], each
/// behind [`access::guard`] unless it needs nothing.
///
/// Each page module brings its own routes (`routes()`); its texts are its table in
/// [`crate::staff::i18n`].
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for route in access::table() {
        let handler = match route.needs {
            Needs::Nothing => route.handler,
            // route_layer: a wrong method still gets 405, not a login redirect.
            needs => route
                .handler
                .route_layer(from_fn_with_state((state.clone(), needs), access::guard)),
        };
        router = router.route(route.path, handler);
    }
    router.fallback(not_found).layer(from_fn(security_headers))
}

/// The two routes of this module: the start page and the stylesheet.
fn routes() -> Vec<StaffRoute> {
    vec![
        access::route(Method::GET, "/", Needs::Session, get(home)),
        access::route(Method::GET, "/staff.css", Needs::Nothing, get(stylesheet)),
    ]
}

/// Where `/staff` leads: reviewers and viewers to their inbox, administrators to the fleet.
async fn home(staff: session::Staff) -> Redirect {
    if staff.user.role == crate::domain::access::Role::Admin {
        Redirect::to("/staff/fleet")
    } else {
        Redirect::to("/staff/inbox")
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    StaffError::NotFound.render(Lang::from_headers(&headers))
}

/// No script may run, nothing may frame the pages, forms post only here, and pages with
/// personal data are not cached.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, scoped to `/staff`, Secure over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_s: Option<i64>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/staff; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_s {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// What the frame of every page needs: language, the account, the form token, the menu.
#[derive(Debug, Clone)]
pub struct Frame {
    pub tr: Tr,
    pub user: Option<UserView>,
    pub csrf: String,
    /// The menu entry to highlight (`inbox`, `guides` …).
    pub nav: &'static str,
    /// Where the language switch returns to.
    pub here: String,
    /// A one-line message at the top (a translation key).
    pub flash: Option<&'static str>,
}

impl Frame {
    pub fn t(&self, key: impl AsRef<str>) -> std::borrow::Cow<'static, str> {
        self.tr.t(key)
    }

    pub fn other_lang(&self) -> &'static str {
        self.tr.lang.other().code()
    }

    /// Menu entries this account sees: those of its role whose page it may open.
    pub fn menu(&self) -> Vec<MenuEntry> {
        self.menu_keys()
            .into_iter()
            .filter(|(_, path)| {
                let page = path.strip_prefix("/staff").unwrap_or(path);
                self.user.as_ref().is_some_and(|user| {
                    access::needs_of_page(page)
                        .is_some_and(|needs| needs.admits(user.role, &user.scope_value))
                })
            })
            .map(|(key, path)| MenuEntry {
                label: self.t(format!("nav.{key}")).into_owned(),
                path,
                current: key == self.nav,
            })
            .collect()
    }

    fn menu_keys(&self) -> Vec<(&'static str, &'static str)> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let mut menu = Vec::new();
        if user.reviews || user.is_viewer {
            menu.extend([
                ("inbox", "/staff/inbox"),
                ("followups", "/staff/follow-ups"),
                ("ratings", "/staff/ratings"),
            ]);
        }
        if user.is_admin {
            menu.extend([
                ("ratings", "/staff/ratings"),
                ("followups", "/staff/follow-ups"),
                ("guides", "/staff/guides"),
                ("notices", "/staff/notices"),
                ("fleet", "/staff/fleet"),
                ("releases", "/staff/releases"),
                ("staff", "/staff/accounts"),
                ("calendar", "/staff/calendar"),
                ("audit", "/staff/audit"),
            ]);
        }
        menu
    }
}

/// One entry of the menu.
#[derive(Debug, Clone)]
pub struct MenuEntry {
    pub label: String,
    pub path: &'static str,
    pub current: bool,
}

/// The account as pages show it.
#[derive(Debug, Clone)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role_key: String,
    pub scope: String,
    pub reviews: bool,
    pub is_admin: bool,
    pub is_viewer: bool,
    pub role: crate::domain::access::Role,
    pub scope_value: crate::domain::access::Scope,
}

impl UserView {
    pub fn of(user: &StaffUser) -> Self {
        Self {
            role: user.role,
            scope_value: user.scope.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role_key: format!("role.{}", user.role.as_str()),
            scope: user.scope.to_string(),
            reviews: user.role.reviews(),
            is_admin: user.role == crate::domain::access::Role::Admin,
            is_viewer: user.role == crate::domain::access::Role::Viewer,
        }
    }
}

/// Renders a page, or the error page if the template fails.
pub fn render(template: &impl Template, lang: Lang) -> Response {
    match template.render() {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "a staff page failed to render");
            StaffError::Internal.render(lang)
        }
    }
}

/// Why a staff request failed, as a page.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("not found")]
    NotFound,
    #[error("this role cannot do that")]
    Forbidden,
    #[error("missing or wrong form token")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("someone else acted first")]
    Conflict,
    #[error(transparent)]
    Busy(#[from] crate::staff::password::Busy),
    #[error("internal error")]
    Internal,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Template)]
#[template(path = "staff/error.html")]
struct ErrorPage {
    frame: Frame,
    status: u16,
    message: String,
}

impl StaffError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal | Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn render(&self, lang: Lang) -> Response {
        let tr = Tr::new(lang);
        let message = match self {
            Self::NotFound => tr.t("error.not_found").into_owned(),
            Self::Forbidden => tr.t("error.forbidden").into_owned(),
            Self::Csrf => tr.t("error.csrf").into_owned(),
            Self::BadRequest(problem) => format!("{}{problem}", tr.t("error.bad_request")),
            Self::Conflict => tr.t("error.conflict").into_owned(),
            Self::Busy(_) => tr.t("error.busy").into_owned(),
            Self::Internal | Self::Store(_) => tr.t("error.internal").into_owned(),
        };
        if let Self::Store(error) = self {
            tracing::error!(error = %error, "a staff page failed");
        }
        let page = ErrorPage {
            frame: Frame {
                tr,
                user: None,
                csrf: String::new(),
                nav: "",
                here: "/staff/".into(),
                flash: None,
            },
            status: self.status().as_u16(),
            message,
        };
        let html = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>error</title>".into());
        let response = (
            self.status(),
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        if matches!(self, Self::Busy(_)) {
            session::busy(response)
        } else {
            response
        }
    }
}

/// The language rides along so the error page speaks it.
#[derive(Debug)]
pub struct PageError {
    pub error: StaffError,
    pub lang: Lang,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.error.render(self.lang)
    }
}

/// What page handlers return.
pub type PageResult = Result<Response, PageError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The pager alone, called as the list pages call it.
    #[derive(Template)]
    #[template(
        source = r#"{% import "staff/pager.html" as pager %}{% call pager::pager(frame, "/staff/inbox", prev, "inbox.prev", next, "inbox.next") %}{% endcall %}"#,
        ext = "html"
    )]
    struct PagerOnly {
        frame: Frame,
        prev: Option<String>,
        next: Option<String>,
    }

    fn pager(prev: Option<&str>, next: Option<&str>) -> String {
        let frame = Frame {
            tr: Tr::new(Lang::En),
            user: None,
            csrf: String::new(),
            nav: "inbox",
            here: String::new(),
            flash: None,
        };
        PagerOnly {
            frame,
            prev: prev.map(Into::into),
            next: next.map(Into::into),
        }
        .render()
        .expect("render the pager")
    }

    #[test]
    fn the_pager_links_the_neighbouring_pages_and_is_absent_on_a_single_page() {
        let both = pager(Some("show=open&page=1"), Some("show=open&page=3"));
        // askama escapes `&` in attributes as `&#38;`, which a browser reads as `&`.
        assert!(
            both.contains(r#"<a href="/staff/inbox?show=open&#38;page=1">Previous</a>"#),
            "{both}"
        );
        assert!(both.contains(r#"page=3">Next</a>"#), "{both}");
        let first = pager(None, Some("page=2"));
        assert!(first.contains(r#"<nav class="pager">"#) && !first.contains("Previous"));
        assert!(!pager(None, None).contains("pager"));
    }
}
