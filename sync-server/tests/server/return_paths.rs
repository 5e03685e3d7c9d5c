//! Every place a staff page sends the browser back to a path from the request (the language
//! switch's `back`, the login form's `next`, the page asked for before logging in) keeps it on
//! the staff pages, and a hostile value is a redirect home, never an error.

use reqwest::StatusCode;
use sync_server::domain::access::Role;

use crate::common::TestServer;
use crate::staff_client::{PASSWORD, StaffClient, add_account, hidden_value};

/// Every byte percent-encoded but the unreserved ones, as a browser sends a query value.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

const HOSTILE: &[&str] = &[
    "/staff/\x01",
    "/staff/\r\nSet-Cookie: staff_session=x",
    "/staff/\n",
    "/staff/\t",
    "/staff/\x7f",
    "/staff/\u{85}",
    "/staff/ inbox",
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "/staff\\..\\api",
    "/staff/../api/v1/metrics",
    "/staff/%2e%2e/api/v1/metrics",
    "/staffevil",
    "/api/v1/health",
    "javascript:alert(1)",
    "",
];

#[tokio::test]
async fn the_language_switch_goes_home_for_every_hostile_back_value() {
    let server = TestServer::start().await;
    let mut client = StaffClient::new(&server.url);
    let long = format!("/staff/inbox?q={}", "a".repeat(5000));
    for back in HOSTILE.iter().copied().chain([long.as_str()]) {
        let page = client
            .get(&format!("/staff/lang?to=en&back={}", encoded(back)))
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{back:?}: {}",
            page.body
        );
        assert_eq!(page.location.as_deref(), Some("/staff/"), "{back:?}");
    }
    let fine = client
        .get("/staff/lang?to=zh&back=%2Fstaff%2Finbox%3Fpage%3D2")
        .await;
    assert_eq!(fine.location.as_deref(), Some("/staff/inbox?page=2"));
}

#[tokio::test]
async fn the_login_form_goes_home_for_every_hostile_next_value() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县/凤岭乡").await;
    for next in HOSTILE.iter().copied().chain(["/staff/logout"]) {
        let mut client = StaffClient::new(&server.url);
        let form = client
            .get(&format!("/staff/login?next={}", encoded(next)))
            .await;
        assert_eq!(form.status, StatusCode::OK, "{next:?}");
        assert_eq!(
            hidden_value(&form.body, "next").as_deref(),
            Some("/staff/"),
            "{next:?}"
        );
        let token = hidden_value(&form.body, "login_token").expect("login token");
        let page = client
            .post_raw(
                "/staff/login",
                &[
                    ("username", "li"),
                    ("password", PASSWORD),
                    ("login_token", &token),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{next:?}: {}",
            page.body
        );
        assert_eq!(page.location.as_deref(), Some("/staff/"), "{next:?}");
    }
}

#[tokio::test]
async fn a_long_page_address_asked_for_before_login_is_not_echoed_back() {
    let server = TestServer::start().await;
    let mut client = StaffClient::new(&server.url);
    let page = client
        .get(&format!("/staff/inbox?q={}", "a".repeat(5000)))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/staff/login?next=/staff/"),
        "the return path is bounded"
    );
}
