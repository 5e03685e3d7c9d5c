//! Who may open each staff page and post each form, in one place. Every route under `/staff`
//! is a [`StaffRoute`] that says what it [`Needs`]; [`table`] gathers them from the page
//! modules and [`super::router`] builds the router from it alone, putting [`guard`] in front
//! of every route that needs a session. The guard resolves the session and refuses (403) an
//! account whose role or scope falls short before the handler runs; the handler then finds
//! the session it checked in the request ([`super::session::Staff`] takes it from there).
//!
//! What the guard decides is the coarse part: which roles, and whether the account's scope
//! must span the county. The fine part stays with the pages and the store, which fetch only
//! through the account's scope ("a record outside it answers 404 like a missing one").
//!
//! A new route is a new line in a page module's `routes()`; `tests/server/staff_scope.rs`
//! walks the whole table as village- and township-scoped accounts of every role and fails
//! for a route it has no probe for.

use std::sync::LazyLock;

use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::MethodRouter;

use super::StaffError;
use super::session::Staff;
use crate::domain::access::{Role, Scope};
use crate::state::AppState;

/// What a route asks of the account calling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Needs {
    /// Nothing: the login page, the language switch, the stylesheet.
    Nothing,
    /// A live session of any role; the page shows only what is in the account's scope.
    Session,
    /// A reviewing role (handler, reviewer, approver), acting in its scope.
    Reviewer,
    /// A reviewing role or an administrator: recording a follow-up, in scope.
    Recorder,
    /// An administrator, acting in their scope (accounts, notices, the fleet).
    Admin,
    /// An administrator whose scope spans the county (`*` or a county): the pages whose data
    /// or effect is the whole county's. The holiday calendar moves every deadline; the
    /// service catalogue and its review levels are every booth's; the audit log records every
    /// account's actions and views, failed logins under any typed name included; a release
    /// and its rollouts reach every township's booths.
    CountyAdmin,
}

impl Needs {
    /// Whether an account with `role` and `scope` may call a route that needs this.
    pub fn admits(self, role: Role, scope: &Scope) -> bool {
        match self {
            Self::Nothing | Self::Session => true,
            Self::Reviewer => role.reviews(),
            Self::Recorder => role.reviews() || role == Role::Admin,
            Self::Admin => role == Role::Admin,
            Self::CountyAdmin => role == Role::Admin && scope.is_county_wide(),
        }
    }
}

/// One route of the staff pages: method and path (under `/staff`, axum's syntax), what it
/// needs, and its handler.
#[derive(Debug)]
pub struct StaffRoute {
    pub method: Method,
    pub path: &'static str,
    pub needs: Needs,
    pub handler: MethodRouter<AppState>,
}

/// A [`StaffRoute`]; `handler` is `get(…)` or `post(…)` of `method`.
pub fn route(
    method: Method,
    path: &'static str,
    needs: Needs,
    handler: MethodRouter<AppState>,
) -> StaffRoute {
    StaffRoute {
        method,
        path,
        needs,
        handler,
    }
}

/// Every route of the staff pages.
pub fn table() -> Vec<StaffRoute> {
    [
        super::routes(),
        super::session::routes(),
        super::account::routes(),
        super::review::routes(),
        super::audit::routes(),
        super::calendar::routes(),
        super::accounts::routes(),
        super::guides::routes(),
        super::notices::routes(),
        super::ratings::routes(),
        super::follow_ups::routes(),
        super::fleet::routes(),
        super::releases::routes(),
        super::health::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What a GET of `path` (under `/staff`, as in the table) needs; `None` when no such route.
pub fn needs_of_page(path: &str) -> Option<Needs> {
    static PAGES: LazyLock<Vec<(&'static str, Needs)>> = LazyLock::new(|| {
        table()
            .into_iter()
            .filter(|route| route.method == Method::GET)
            .map(|route| (route.path, route.needs))
            .collect()
    });
    PAGES
        .iter()
        .find(|(page, _)| *page == path)
        .map(|(_, needs)| *needs)
}

/// Middleware in front of every route but [`Needs::Nothing`]'s: the session (else the login
/// page), then what the route needs (else 403), then the handler, with the session in the
/// request for it.
pub async fn guard(
    State((state, needs)): State<(AppState, Needs)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let staff = match Staff::from_request_parts(&mut parts, &state).await {
        Ok(staff) => staff,
        Err(refusal) => return refusal,
    };
    if !needs.admits(staff.user.role, &staff.user.scope) {
        return staff.fail(StaffError::Forbidden).into_response();
    }
    parts.extensions.insert(staff);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_pages_need_an_administrator_whose_scope_spans_the_county() {
        let county: Scope = "示范县".parse().unwrap();
        let township: Scope = "示范县/凤岭乡".parse().unwrap();
        let village: Scope = "示范县/凤岭乡/石门村".parse().unwrap();
        assert!(Needs::CountyAdmin.admits(Role::Admin, &Scope::All));
        assert!(Needs::CountyAdmin.admits(Role::Admin, &county));
        assert!(!Needs::CountyAdmin.admits(Role::Admin, &township));
        assert!(!Needs::CountyAdmin.admits(Role::Admin, &village));
        for role in [Role::Handler, Role::Reviewer, Role::Approver, Role::Viewer] {
            assert!(!Needs::CountyAdmin.admits(role, &Scope::All), "{role}");
            assert!(!Needs::Admin.admits(role, &Scope::All), "{role}");
            assert!(Needs::Session.admits(role, &village), "{role}");
        }
        assert!(Needs::Admin.admits(Role::Admin, &village));
        assert!(Needs::Reviewer.admits(Role::Handler, &village));
        assert!(!Needs::Reviewer.admits(Role::Viewer, &Scope::All));
        assert!(!Needs::Reviewer.admits(Role::Admin, &Scope::All));
        assert!(Needs::Recorder.admits(Role::Admin, &village));
        assert!(!Needs::Recorder.admits(Role::Viewer, &Scope::All));
    }

    #[test]
    fn every_route_is_declared_once() {
        let table = table();
        let mut seen = std::collections::BTreeSet::new();
        for route in &table {
            assert!(
                seen.insert((route.method.to_string(), route.path)),
                "{} {} is declared twice",
                route.method,
                route.path
            );
        }
        assert_eq!(needs_of_page("/audit"), Some(Needs::CountyAdmin));
        assert_eq!(needs_of_page("/inbox"), Some(Needs::Session));
        assert_eq!(needs_of_page("/nowhere"), None);
    }
}
