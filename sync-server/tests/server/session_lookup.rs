//! A session cookie is looked up with reads only: a made-up one costs no turn on the single
//! writer that every change of the server waits behind, and neither does a page view of a
//! live session whose expiry need not slide yet.

use reqwest::StatusCode;
use sync_server::domain::access::Role;

use crate::common::{TestServer, test_settings};
use crate::staff_client::{StaffClient, add_account};

/// Requests carrying `cookie` as the session, one GET of a page and one POST of a form.
async fn with_session_cookie(base: &str, cookie: &str) -> Vec<StatusCode> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut statuses = Vec::new();
    for request in [
        client.get(format!("{base}/staff/inbox")),
        client
            .post(format!("{base}/staff/logout"))
            .form(&[("csrf", "x")]),
        client.get(format!("{base}/staff/password")),
    ] {
        let response = request
            .header("cookie", format!("staff_session={cookie}"))
            .send()
            .await
            .expect("request");
        statuses.push(response.status());
    }
    statuses
}

#[tokio::test]
async fn a_made_up_session_cookie_is_refused_without_a_write() {
    let (server, store) = TestServer::start_sqlite(test_settings()).await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut member = StaffClient::logged_in(&server.url, "li").await;
    member.get("/staff/password").await.assert_ok();

    let before = store.write_jobs();
    let made_up = [
        // The shape of a real secret (43 URL-safe base64 characters), naming no session.
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF".to_owned(),
        // And what is not one.
        "whatever".to_owned(),
        "x".repeat(4000),
    ];
    for cookie in &made_up {
        let statuses = with_session_cookie(&server.url, cookie).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
            "{cookie:.20}…: {statuses:?}"
        );
    }
    // A live session's page views within the slide step write nothing either.
    for _ in 0..3 {
        member.get("/staff/password").await.assert_ok();
    }
    assert_eq!(
        store.write_jobs(),
        before,
        "no write job for made-up cookies or plain page views"
    );
    // The real session still works, and logging out is a write, as it should be.
    member.post("/staff/logout", &[]).await;
    assert_eq!(store.write_jobs(), before + 1);
}
