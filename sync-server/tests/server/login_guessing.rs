//! Guessing staff passwords: no lockout that an attacker can impose on everybody, names that
//! exist answering exactly like names that do not (argon2 work included), the own-password
//! page counted like a login, and every argon2 run waiting in one bounded queue.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::StatusCode;
use sync_server::domain::access::Role;
use sync_server::settings::Settings;
use sync_server::staff::login_limit::LoginLimits;

use crate::common::{TestServer, test_settings};
use crate::staff_client::{PASSWORD, Page, StaffClient, add_account, hidden_value};

fn loopback(last: u8) -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, last]))
}

fn settings(limits: LoginLimits) -> Settings {
    Settings {
        login_limits: limits,
        ..test_settings()
    }
}

/// The page with what differs by design taken out: the form's fresh token and the name
/// typed, which the form shows again.
fn normalized(page: &Page, typed: &str) -> String {
    let token = hidden_value(&page.body, "login_token").expect("login token");
    page.body
        .replace(&token, "TOKEN")
        .replace(&format!("value=\"{typed}\""), "value=\"NAME\"")
}

#[tokio::test]
async fn known_and_unknown_names_answer_alike_and_cost_the_same_work() {
    let server = TestServer::start_with(settings(LoginLimits {
        per_name_and_address: 3,
        window: Duration::from_secs(3600),
        ..LoginLimits::default()
    }))
    .await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let gate = server.state.password_gate();

    let mut answers = Vec::new();
    for (name, address) in [("li", loopback(2)), ("nobody", loopback(3))] {
        let mut client = StaffClient::from_address(&server.url, address);
        let runs_before = gate.runs();
        let mut pages = Vec::new();
        for _ in 0..5 {
            pages.push(client.login(name, "not the password").await);
        }
        let statuses: Vec<StatusCode> = pages.iter().map(|p| p.status).collect();
        let bodies: Vec<String> = pages.iter().map(|p| normalized(p, name)).collect();
        answers.push((statuses, bodies, gate.runs() - runs_before));
    }
    let (known, unknown) = (&answers[0], &answers[1]);
    assert_eq!(
        known.0,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(known.0, unknown.0, "the same statuses in the same order");
    assert_eq!(known.1, unknown.1, "the same pages");
    assert_eq!(
        (known.2, unknown.2),
        (3, 3),
        "one argon2 run per checked attempt, for the unknown name too"
    );
}

#[tokio::test]
async fn someone_hammering_an_account_does_not_lock_its_owner_out() {
    let server = TestServer::start_with(settings(LoginLimits {
        per_name_and_address: 3,
        per_name: 10,
        per_address: 100,
        window: Duration::from_secs(3600),
        ..LoginLimits::default()
    }))
    .await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    add_account(server.store(), "wang", Role::Handler, "示范县").await;
    // The owner's usual browser has logged in before.
    let mut owner = StaffClient::from_address(&server.url, loopback(1));
    assert_eq!(
        owner.login("li", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    owner.post("/staff/logout", &[]).await;

    // Ten machines guess li's password, four times each.
    let mut unauthorized = 0;
    for last in 10..20 {
        let mut attacker = StaffClient::from_address(&server.url, loopback(last));
        for _ in 0..4 {
            let status = attacker.login("li", "guess guess guess").await.status;
            match status {
                StatusCode::UNAUTHORIZED => unauthorized += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("{other}"),
            }
        }
    }
    assert_eq!(
        unauthorized, 10,
        "the name's own limit stopped the guessing"
    );

    // A browser new to li waits out the window, even with the right password …
    let mut stranger = StaffClient::from_address(&server.url, loopback(50));
    let page = stranger.login("li", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("已暂时锁定");
    // … the owner's browser, which logged in as li before, gets in …
    assert_eq!(
        owner.login("li", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // … and nobody else is locked out, not even from a guessing machine.
    let mut colleague = StaffClient::from_address(&server.url, loopback(10));
    assert_eq!(
        colleague.login("wang", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let mut office = StaffClient::from_address(&server.url, loopback(1));
    assert_eq!(
        office.login("wang", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_like_failed_logins() {
    let server = TestServer::start_with(settings(LoginLimits {
        per_name_and_address: 3,
        per_device: 3,
        window: Duration::from_secs(3600),
        ..LoginLimits::default()
    }))
    .await;
    add_account(server.store(), "li", Role::Viewer, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    client.get("/staff/password").await.assert_ok();
    let change = |current: &'static str| {
        [
            ("current", current),
            ("new", "another password 456"),
            ("repeat", "another password 456"),
        ]
    };
    for _ in 0..3 {
        let page = client
            .post("/staff/password", &change("a wrong guess"))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        page.assert_contains("当前密码不正确");
    }
    let runs = server.state.password_gate().runs();
    let limited = client
        .post("/staff/password", &change("a wrong guess"))
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    limited.assert_contains("当前密码错误次数过多");
    let right = client.post("/staff/password", &change(PASSWORD)).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "still limited");
    assert_eq!(
        server.state.password_gate().runs(),
        runs,
        "a limited guess costs no argon2 run"
    );
    // The same budget as this browser's logins.
    let login = client.login("li", PASSWORD).await;
    assert_eq!(login.status, StatusCode::TOO_MANY_REQUESTS);
    // And nothing changed: the old password still works.
    let user = server.store().find_user("li").await.unwrap().unwrap();
    assert_eq!(user.password_changed_at, user.created_at);
}

/// Waits (without a deadline of its own: the test harness has one) until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn argon2_runs_wait_in_a_bounded_queue_and_the_rest_are_told_to_retry() {
    let server = TestServer::start_with(Settings {
        password_slots: 1,
        password_queue: 2,
        ..test_settings()
    })
    .await;
    let mut clients = Vec::new();
    for name in ["li", "wang", "zhao"] {
        add_account(server.store(), name, Role::Viewer, "示范县").await;
        let mut client = StaffClient::logged_in(&server.url, name).await;
        client.get("/staff/password").await.assert_ok();
        clients.push(client);
    }
    let fields = [
        ("current", PASSWORD),
        ("new", "another password 456"),
        ("repeat", "another password 456"),
    ];
    // Every slot taken, as a flood of checks would.
    let gate = server.state.password_gate();
    let held = gate.hold_all().await.expect("the gate");
    let mut third = clients.pop().expect("three clients");
    let mut waiting = Vec::new();
    for mut client in clients {
        waiting.push(tokio::spawn(async move {
            client.post("/staff/password", &fields).await.status
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), until(|| gate.waiting() == 2))
        .await
        .expect("two requests queued");

    let busy = third.post("/staff/password", &fields).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    busy.assert_contains("服务器正忙");
    assert_eq!(
        busy.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let login = StaffClient::new(&server.url).login("zhao", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
    login.assert_contains("服务器正忙于核对其他密码");

    drop(held);
    for request in waiting {
        assert_eq!(request.await.expect("request"), StatusCode::OK);
    }
    // A refusal for a full queue is not a failed guess: zhao may try again at once.
    let retried = third.post("/staff/password", &fields).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
}
