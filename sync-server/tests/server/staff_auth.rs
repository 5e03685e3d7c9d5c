//! Staff login, sessions and forms: what gets in, what is refused, and that each is audited.

use std::time::Duration;

use reqwest::StatusCode;
use sync_server::domain::access::{Role, SessionLifetime};
use sync_server::staff::login_limit::LoginLimits;
use sync_server::store::staff::AuditFilter;

use crate::common::{TestServer, test_settings};
use crate::staff_client::{PASSWORD, StaffClient, add_account};

async fn audit_actions(server: &TestServer, actor: &str) -> Vec<String> {
    crate::staff_client::audit_actions(
        server.store(),
        AuditFilter {
            actor: Some(actor.into()),
            ..AuditFilter::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_member_logs_in_sees_pages_and_logs_out() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县/凤岭乡").await;
    let mut client = StaffClient::new(&server.url);

    let before = client.get("/staff/password").await;
    assert_eq!(before.status, StatusCode::SEE_OTHER);
    assert_eq!(
        before.location.as_deref(),
        Some("/staff/login?next=/staff/password")
    );

    let login = client.login("li", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let cookie = login
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("staff_session="))
        .expect("session cookie")
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/staff"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );

    client
        .get("/staff/password")
        .await
        .assert_ok()
        .assert_contains("li 同志");
    let out = client.post("/staff/logout", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/staff/login?out=1"));
    assert_eq!(
        client.get("/staff/password").await.status,
        StatusCode::SEE_OTHER,
        "the session ended"
    );
    assert_eq!(audit_actions(&server, "li").await, ["login.ok", "logout"]);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_names_get_the_same_answer() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::new(&server.url);
    let wrong = client.login("li", "not the password").await;
    let unknown = client.login("nobody", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("用户名或密码不正确");
    unknown.assert_contains("用户名或密码不正确");
    assert_eq!(audit_actions(&server, "li").await, ["login.failed"]);
    assert_eq!(audit_actions(&server, "nobody").await, ["login.failed"]);
}

#[tokio::test]
async fn repeated_failures_from_one_machine_stop_its_guesses_even_the_right_one() {
    let mut settings = test_settings();
    settings.login_limits = LoginLimits {
        per_name_and_address: 3,
        ..LoginLimits::default()
    };
    let server = TestServer::start_with(settings).await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::new(&server.url);
    for _ in 0..3 {
        assert_eq!(
            client.login("li", "wrong one").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let fourth = client.login("li", "wrong one").await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    fourth.assert_contains("已暂时锁定");
    let right = client.login("li", PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "still limited");
    let user = server.store().find_user("li").await.unwrap().unwrap();
    assert_eq!(
        user.locked_until, None,
        "the account itself is never locked"
    );
    assert_eq!(user.failed_logins, 3, "refused attempts are not checked");
}

#[tokio::test]
async fn one_address_guessing_many_names_is_throttled() {
    let mut settings = test_settings();
    settings.login_limits = LoginLimits {
        per_address: 3,
        ..LoginLimits::default()
    };
    let server = TestServer::start_with(settings).await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::new(&server.url);
    for name in ["a", "b", "c"] {
        assert_eq!(
            client.login(name, "guess guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = client.login("li", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    throttled.assert_contains("本机尝试次数过多");
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_loses_its_sessions() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Reviewer, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    client.get("/staff/password").await.assert_ok();
    server
        .store()
        .set_disabled(
            "li",
            true,
            sync_server::store::staff::AuditEntry::new(
                chrono::Utc::now(),
                "cli",
                "account.disable",
            ),
        )
        .await
        .unwrap()
        .unwrap();
    let after = client.get("/staff/password").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location.unwrap().contains("expired=1"));
    let again = StaffClient::new(&server.url).login("li", PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let mut settings = test_settings();
    settings.session_lifetime = SessionLifetime {
        idle: chrono::Duration::milliseconds(300),
        absolute: chrono::Duration::hours(1),
    };
    let server = TestServer::start_with(settings).await;
    add_account(server.store(), "li", Role::Viewer, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    client.get("/staff/password").await.assert_ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let expired = client.get("/staff/password").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    let login = client.get(expired.location.as_deref().unwrap()).await;
    login.assert_contains("登录已过期");
}

#[tokio::test]
async fn forms_without_the_session_token_or_from_elsewhere_are_refused() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    client.get("/staff/password").await.assert_ok();
    let fields = [
        ("current", PASSWORD),
        ("new", "another password 456"),
        ("repeat", "another password 456"),
    ];
    let no_token = client.post_raw("/staff/password", &fields).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    no_token.assert_contains("表单已过期或来源不明");
    let mut wrong: Vec<(&str, &str)> = vec![("csrf", "AAAA")];
    wrong.extend_from_slice(&fields);
    assert_eq!(
        client.post_raw("/staff/password", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    let foreign = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/staff/password", server.url))
        .header("origin", "https://evil.example")
        .header("cookie", "staff_session=whatever")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_ne!(foreign.status(), StatusCode::OK);
    // Nothing changed: the old password still works.
    StaffClient::logged_in(&server.url, "li").await;
    // And with the token it goes through.
    client.post("/staff/password", &fields).await.assert_ok();
    StaffClient::new(&server.url)
        .login("li", "another password 456")
        .await;
}

#[tokio::test]
async fn the_login_form_needs_its_own_token() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::new(&server.url);
    let page = client
        .post_raw(
            "/staff/login",
            &[
                ("username", "li"),
                ("password", PASSWORD),
                ("next", "/staff/"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("登录页已过期");
}

#[tokio::test]
async fn pages_speak_english_when_asked_and_remember_it() {
    let server = TestServer::start().await;
    let mut client = StaffClient::new(&server.url);
    client
        .get("/staff/login")
        .await
        .assert_contains("工作人员登录");
    let switched = client.get("/staff/lang?to=en&back=/staff/login").await;
    assert_eq!(switched.location.as_deref(), Some("/staff/login"));
    client
        .get("/staff/login")
        .await
        .assert_contains("Staff login")
        .assert_lacks("工作人员登录");
    let outside = client
        .get("/staff/lang?to=en&back=https://evil.example/")
        .await;
    assert_eq!(outside.location.as_deref(), Some("/staff/"));
}
