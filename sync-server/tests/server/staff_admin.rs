//! The administrators' pages: accounts inside their scope, the holiday calendar (and that it
//! moves deadlines), and the audit log; and that no other role reaches them.

use reqwest::StatusCode;
use sync_server::domain::access::Role;
use sync_server::store::staff::AuditFilter;

use crate::common::TestServer;
use crate::staff_client::{PASSWORD, StaffClient, add_account};

const ADMIN_PAGES: &[&str] = &["/staff/accounts", "/staff/calendar", "/staff/audit"];

#[tokio::test]
async fn only_administrators_reach_the_admin_pages() {
    let server = TestServer::start().await;
    add_account(server.store(), "admin", Role::Admin, "示范县").await;
    for role in [Role::Handler, Role::Reviewer, Role::Approver, Role::Viewer] {
        add_account(server.store(), role.as_str(), role, "示范县").await;
        let mut client = StaffClient::logged_in(&server.url, role.as_str()).await;
        for page in ADMIN_PAGES {
            assert_eq!(
                client.get(page).await.status,
                StatusCode::FORBIDDEN,
                "{role} {page}"
            );
        }
        client.get("/staff/password").await;
        for (path, fields) in [
            (
                "/staff/accounts",
                vec![("username", "x1"), ("role", "admin"), ("scope", "示范县")],
            ),
            (
                "/staff/calendar",
                vec![("day", "2026-12-01"), ("kind", "holiday"), ("name", "x")],
            ),
            ("/staff/accounts/admin/disable", vec![]),
        ] {
            assert_eq!(
                client.post(path, &fields).await.status,
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }
    }
    assert!(server.store().find_user("x1").await.unwrap().is_none());
    assert!(server.store().calendar_days().await.unwrap().is_empty());
    let mut admin = StaffClient::logged_in(&server.url, "admin").await;
    for page in ADMIN_PAGES {
        admin.get(page).await.assert_ok();
    }
}

#[tokio::test]
async fn an_administrator_manages_accounts_inside_their_scope_only() {
    let server = TestServer::start().await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    add_account(
        server.store(),
        "baixu.handler",
        Role::Handler,
        "示范县/白圩镇",
    )
    .await;
    add_account(
        server.store(),
        "fl.handler",
        Role::Handler,
        "示范县/凤岭乡/石门村",
    )
    .await;
    let mut admin = StaffClient::logged_in(&server.url, "fengling").await;
    admin
        .get("/staff/accounts")
        .await
        .assert_contains("fl.handler")
        .assert_lacks("baixu.handler");

    let created = admin
        .post(
            "/staff/accounts",
            &[
                ("username", "New.Reviewer"),
                ("display_name", "王审查"),
                ("role", "reviewer"),
                ("scope", "示范县/凤岭乡"),
            ],
        )
        .await;
    created.assert_ok().assert_contains("new.reviewer");
    let password = created
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the first password is shown")
        .to_owned();
    StaffClient::new(&server.url)
        .login("new.reviewer", &password)
        .await;

    let outside = admin
        .post(
            "/staff/accounts",
            &[
                ("username", "sneaky"),
                ("role", "admin"),
                ("scope", "示范县"),
            ],
        )
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST);
    outside.assert_contains("不在您的范围之内");
    assert!(server.store().find_user("sneaky").await.unwrap().is_none());

    assert_eq!(
        admin
            .post("/staff/accounts/baixu.handler/disable", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    admin
        .post("/staff/accounts/fl.handler/disable", &[])
        .await
        .assert_ok();
    assert!(
        server
            .store()
            .find_user("fl.handler")
            .await
            .unwrap()
            .unwrap()
            .is_disabled()
    );
    assert_eq!(
        StaffClient::new(&server.url)
            .login("fl.handler", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let reset = admin.post("/staff/accounts/fl.handler/reset", &[]).await;
    reset.assert_ok().assert_contains("密码已重置");
    let own = admin.post("/staff/accounts/fengling/disable", &[]).await;
    own.assert_contains("不能停用自己的账号");

    let trail: Vec<String> = server
        .store()
        .list_audit(&AuditFilter {
            actor: Some("fengling".into()),
            action: Some("account".into()),
            limit: 20,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|r| format!("{} {}", r.entry.action, r.entry.target.unwrap_or_default()))
        .collect();
    assert_eq!(
        trail,
        [
            "account.create new.reviewer",
            "account.disable fl.handler",
            "account.reset fl.handler"
        ]
    );
}

#[tokio::test]
async fn the_calendar_page_lists_adds_and_removes_days() {
    let server = TestServer::start().await;
    add_account(server.store(), "admin", Role::Admin, "*").await;
    let mut admin = StaffClient::logged_in(&server.url, "admin").await;
    admin
        .get("/staff/calendar")
        .await
        .assert_contains("尚未登记");
    let added = admin
        .post(
            "/staff/calendar",
            &[
                ("day", "2026-10-01"),
                ("kind", "holiday"),
                ("name", "国庆节"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    admin
        .get("/staff/calendar")
        .await
        .assert_contains("2026-10-01")
        .assert_contains("国庆节");
    let bad = admin
        .post(
            "/staff/calendar",
            &[("day", "1 October"), ("kind", "holiday"), ("name", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    admin
        .post("/staff/calendar/remove", &[("day", "2026-10-01")])
        .await;
    assert!(server.store().calendar_days().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_log_filters_by_who_and_what() {
    let server = TestServer::start().await;
    add_account(server.store(), "admin", Role::Admin, "*").await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    StaffClient::logged_in(&server.url, "li").await;
    StaffClient::new(&server.url)
        .login("li", "wrong password")
        .await;
    let mut admin = StaffClient::logged_in(&server.url, "admin").await;
    let page = admin.get("/staff/audit?actor=li").await;
    page.assert_ok()
        .assert_contains("login.ok")
        .assert_contains("login.failed")
        .assert_lacks("account.create");
    admin
        .get("/staff/audit?action=login.failed")
        .await
        .assert_lacks("login.ok");
    assert_eq!(
        admin.get("/staff/audit?from=yesterday").await.status,
        StatusCode::BAD_REQUEST
    );
}
