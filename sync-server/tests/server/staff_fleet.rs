//! The fleet page over HTTP: administrators only, their scope only, alerts from real
//! heartbeats, an enrollment code whose QR code a booth can scan, revocation, escaping, and
//! the counts kept a short while per scope.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{Village, parse_enroll_qr};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, PrinterHealth};
use sync_protocol::paths;
use sync_server::api::enroll_codes;
use sync_server::domain::access::Role;
use sync_server::settings::Settings;
use sync_server::store::KioskRef;
use sync_server::store::staff::AuditEntry;

use crate::common::{TestKiosk, TestServer, enroll_with_code, refusal, test_settings};
use crate::staff_client::{Page, StaffClient, add_account};

/// Enrolls a booth in `county/township/village` over HTTP.
async fn enroll_at(server: &TestServer, place: &str) -> TestKiosk {
    let parts: Vec<&str> = place.split('/').collect();
    let [county, township, village] = parts.as_slice() else {
        panic!("`{place}` is not county/township/village");
    };
    let village = Village {
        county: (*county).into(),
        township: (*township).into(),
        village: (*village).into(),
    };
    let issued = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        village,
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .expect("issue a code");
    enroll_with_code(&server.url, &issued.code).await
}

async fn audit(server: &TestServer, action: &str) -> Vec<AuditEntry> {
    sync_server::store::conformance::audit_lines(server.store(), action).await
}

async fn is_revoked(server: &TestServer, kiosk: &TestKiosk) -> bool {
    server
        .store()
        .find_kiosk(&KioskRef::Id(kiosk.id().to_owned()))
        .await
        .expect("store")
        .expect("kiosk")
        .is_revoked()
}

fn heartbeat(printer: Option<PrinterHealth>) -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth {
            printer,
            reader_present: true,
            scanner_present: true,
        },
        app_version: "0.3.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 1200,
        update: None,
    }
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(&html[from..to])
}

/// The fleet page's "needs attention" section.
fn alerts_section(page: &Page) -> &str {
    between(&page.body, "id=\"alerts-title\"", "</section>").expect("alerts")
}

/// The booth's row in the fleet page's table.
fn booth_row<'a>(page: &'a Page, kiosk: &TestKiosk) -> &'a str {
    between(
        &page.body,
        &format!("id=\"kiosk-{}\"", kiosk.number()),
        "</tr>",
    )
    .expect("the booth's row")
}

/// A printer whose paper has run out.
fn paper_out() -> PrinterHealth {
    PrinterHealth {
        online: false,
        paper_end: true,
        paper_near_end: true,
        cover_open: false,
    }
}

/// What a scanner reads from the page's inline SVG QR code: its dark rectangles
/// (`M{x} {y}h{w}v{h}H{x}V{y}`) drawn on a white image and decoded.
fn scan_svg_qr(html: &str) -> String {
    let svg = between(html, "<svg", "</svg>").expect("an inline SVG");
    let number = |name: &str| -> usize {
        between(svg, &format!(" {name}=\""), "\"")
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("svg {name}"))
    };
    let (width, height) = (number("width"), number("height"));
    let path = between(svg, " d=\"", "\"").expect("the modules' path");
    let mut dark = vec![false; width * height];
    for rect in path.split('M').filter(|rect| !rect.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().expect("a number"))
            .collect();
        let [x, y, w, h, ..] = numbers[..] else {
            panic!("not a rectangle: {rect}");
        };
        for row in y..y + h {
            for column in x..x + w {
                dark[row * width + column] = true;
            }
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark[y * width + x] { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code decodes").1
}

async fn fleet(client: &mut StaffClient) -> Page {
    let page = client.get("/staff/fleet").await;
    page.assert_ok();
    page
}

#[tokio::test]
async fn an_administrator_sees_the_booths_in_scope_and_no_other() {
    let server = TestServer::start().await;
    let here = enroll_at(&server, "示范县/凤岭乡/石门村").await;
    let there = enroll_at(&server, "示范县/白圩镇/义江村").await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    add_account(server.store(), "county", Role::Admin, "*").await;

    let mut township = StaffClient::logged_in(&server.url, "fengling").await;
    let page = fleet(&mut township).await;
    page.assert_contains("凤岭乡 / 石门村")
        .assert_contains(&format!("id=\"kiosk-{}\"", here.number()))
        .assert_lacks("义江村")
        .assert_lacks("白圩镇")
        .assert_lacks(&format!("id=\"kiosk-{}\"", there.number()))
        .assert_lacks(there.id());

    let mut county = StaffClient::logged_in(&server.url, "county").await;
    fleet(&mut county)
        .await
        .assert_contains("示范县 / 凤岭乡 / 石门村")
        .assert_contains("示范县 / 白圩镇 / 义江村");
    // The administrators' home is the fleet page.
    let home = county.get("/staff").await;
    assert_eq!(home.location.as_deref(), Some("/staff/fleet"));
}

#[tokio::test]
async fn other_roles_may_not_see_or_act_on_the_fleet() {
    let server = TestServer::start().await;
    let kiosk = enroll_at(&server, "示范县/凤岭乡/石门村").await;
    for (name, role) in [("handler", Role::Handler), ("viewer", Role::Viewer)] {
        add_account(server.store(), name, role, "示范县").await;
        let mut client = StaffClient::logged_in(&server.url, name).await;
        assert_eq!(
            client.get("/staff/fleet").await.status,
            StatusCode::FORBIDDEN
        );
        client.get("/staff/password").await.assert_ok();
        let revoke = client
            .post(
                &format!("/staff/fleet/{}/revoke", kiosk.id()),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(revoke.status, StatusCode::FORBIDDEN, "{name}");
        let code = client
            .post(
                "/staff/fleet/enroll-code",
                &[
                    ("county", "示范县"),
                    ("township", "凤岭乡"),
                    ("village", "石门村"),
                    ("ttl", "1h"),
                ],
            )
            .await;
        assert_eq!(code.status, StatusCode::FORBIDDEN, "{name}");
    }
    assert!(!is_revoked(&server, &kiosk).await);
    assert!(audit(&server, "fleet").await.is_empty());
}

#[tokio::test]
async fn a_township_administrator_cannot_act_on_another_township() {
    let server = TestServer::start().await;
    let there = enroll_at(&server, "示范县/白圩镇/义江村").await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "fengling").await;
    fleet(&mut client).await;

    let revoke = client
        .post(
            &format!("/staff/fleet/{}/revoke", there.id()),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND, "{}", revoke.body);
    assert!(!is_revoked(&server, &there).await);
    let unknown = client
        .post("/staff/fleet/no-such-kiosk/revoke", &[("confirm", "yes")])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "the same as outside");

    let code = client
        .post(
            "/staff/fleet/enroll-code",
            &[
                ("county", "示范县"),
                ("township", "白圩镇"),
                ("village", "义江村"),
                ("ttl", "1h"),
            ],
        )
        .await;
    assert_eq!(code.status, StatusCode::FORBIDDEN);
    code.assert_contains("不在您的管辖范围（示范县/凤岭乡）内")
        .assert_contains("value=\"白圩镇\"")
        .assert_lacks("<svg");
    assert!(
        audit(&server, "fleet").await.is_empty(),
        "no code was issued"
    );
}

#[tokio::test]
async fn a_revocation_needs_the_box_ticked_is_audited_and_refuses_the_booth() {
    let server = TestServer::start().await;
    let kiosk = enroll_at(&server, "示范县/凤岭乡/石门村").await;
    add_account(server.store(), "admin", Role::Admin, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "admin").await;
    fleet(&mut client)
        .await
        .assert_contains(&format!("/staff/fleet/{}/revoke", kiosk.id()));
    let path = format!("/staff/fleet/{}/revoke", kiosk.id());

    let unticked = client.post(&path, &[]).await;
    assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
    unticked.assert_contains("请先勾选");
    assert!(!is_revoked(&server, &kiosk).await);

    let done = client.post(&path, &[("confirm", "yes")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/staff/fleet?done=revoked"));
    assert!(is_revoked(&server, &kiosk).await);
    let lines = audit(&server, "fleet.revoke").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].actor, "admin");
    assert_eq!(lines[0].target.as_deref(), Some(kiosk.id()));
    assert_eq!(lines[0].remote.as_deref(), Some("127.0.0.1"));

    let (status, body) = refusal(kiosk.post_json(paths::HEARTBEAT, &heartbeat(None)).await).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::FORBIDDEN, ErrorCode::KioskRevoked)
    );

    let page = client.get("/staff/fleet?done=revoked").await;
    page.assert_ok()
        .assert_contains("服务亭已停用")
        .assert_contains("已停用的服务亭 (1)")
        .assert_contains("在用的服务亭 (0)")
        .assert_lacks(&path);
    // Revoked booths raise no alerts, however long unseen.
    let alerts = alerts_section(&page);
    assert!(alerts.contains("(0)"), "{alerts}");
}

#[tokio::test]
async fn an_issued_code_is_shown_once_with_a_qr_code_that_enrolls_a_booth() {
    let server = TestServer::start().await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "fengling").await;
    let form = fleet(&mut client).await;
    form.assert_contains("name=\"county\" value=\"示范县\"")
        .assert_contains("name=\"township\" value=\"凤岭乡\"");

    let page = client
        .post(
            "/staff/fleet/enroll-code",
            &[
                ("county", "示范县"),
                ("township", "凤岭乡"),
                ("village", " 青山村 "),
                ("ttl", "1d"),
            ],
        )
        .await;
    page.assert_ok()
        .assert_contains("示范县 / 凤岭乡 / 青山村")
        .assert_contains(&server.url);
    let code = between(&page.body, "<dd class=\"code\">", "</dd>")
        .expect("the code")
        .to_owned();
    assert!(enroll_codes::canonical(&code).is_some(), "{code}");

    let scanned = parse_enroll_qr(&scan_svg_qr(&page.body)).expect("the booth's enrollment QR");
    assert_eq!(scanned.server, server.url);
    assert_eq!(scanned.code, code);
    assert_eq!(scanned.pin, None, "plain http has no certificate to pin");

    let lines = audit(&server, "fleet.enroll_code").await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].actor, "fengling");
    assert_eq!(lines[0].target.as_deref(), Some("示范县/凤岭乡/青山村"));
    let line = format!("{:?}", lines[0]);
    assert!(
        !line.contains(&code) && !line.contains(&code.replace('-', "")),
        "the code stays out of the audit log: {line}"
    );

    let kiosk = enroll_with_code(&scanned.server, &scanned.code).await;
    assert_eq!(kiosk.enrolled.village.village, "青山村");
    assert_eq!(kiosk.enrolled.village.township, "凤岭乡");
    fleet(&mut client)
        .await
        .assert_contains(&format!("id=\"kiosk-{}\"", kiosk.number()))
        .assert_contains("未联系过");
}

/// Over https the QR code carries the served certificate's pin, and the page shows it for a
/// technician who types the enrollment; an http address gets none (a booth would refuse it).
#[tokio::test]
async fn the_qr_code_of_an_https_server_carries_its_certificate_pin() {
    let pin: sync_protocol::pin::CertPin =
        "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef"
            .parse()
            .unwrap();
    for (public_url, pinned) in [
        ("https://county.example.cn:8443", true),
        ("http://10.0.0.5:8080", false),
    ] {
        let server = TestServer::start_with(sync_server::settings::Settings {
            public_url: Some(public_url.into()),
            tls_pin: Some(pin),
            ..crate::common::test_settings()
        })
        .await;
        add_account(server.store(), "admin", Role::Admin, "示范县").await;
        let mut client = StaffClient::logged_in(&server.url, "admin").await;
        fleet(&mut client).await;
        let page = client
            .post(
                "/staff/fleet/enroll-code",
                &[
                    ("county", "示范县"),
                    ("township", "凤岭乡"),
                    ("village", "青山村"),
                    ("ttl", "1h"),
                ],
            )
            .await;
        page.assert_ok();
        let scanned = parse_enroll_qr(&scan_svg_qr(&page.body)).expect("an enrollment QR");
        assert_eq!(scanned.server, public_url);
        if pinned {
            assert_eq!(scanned.pin, Some(pin));
            page.assert_contains(&format!("<dd class=\"pin\">{pin}</dd>"));
        } else {
            assert_eq!(scanned.pin, None, "{public_url}");
            page.assert_lacks("class=\"pin\"");
        }
    }
}

#[tokio::test]
async fn a_code_needs_a_village_and_a_listed_validity() {
    let server = TestServer::start().await;
    add_account(server.store(), "admin", Role::Admin, "*").await;
    let mut client = StaffClient::logged_in(&server.url, "admin").await;
    fleet(&mut client).await;
    let field = |village: &'static str, ttl: &'static str| {
        [
            ("county", "示范县"),
            ("township", "凤岭乡"),
            ("village", village),
            ("ttl", ttl),
        ]
    };
    let empty = client
        .post("/staff/fleet/enroll-code", &field("  ", "1h"))
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    empty.assert_contains("请填写村名");
    let long = client
        .post("/staff/fleet/enroll-code", &field("石门村", "30d"))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(audit(&server, "fleet").await.is_empty());
}

#[tokio::test]
async fn a_heartbeat_with_the_paper_out_shows_an_alert_and_the_booths_health() {
    let server = TestServer::start().await;
    let kiosk = enroll_at(&server, "示范县/凤岭乡/石门村").await;
    let quiet = enroll_at(&server, "示范县/凤岭乡/义江村").await;
    add_account(server.store(), "admin", Role::Admin, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "admin").await;
    let before = fleet(&mut client).await;
    before.assert_lacks("打印纸已用完");

    let out = paper_out();
    let sent = Heartbeat {
        queue_depth: 4,
        oldest_pending_age_s: Some(90),
        quarantined: 2,
        ..heartbeat(Some(out))
    };
    let response = kiosk.post_json(paths::HEARTBEAT, &sent).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ok = quiet
        .post_json(
            paths::HEARTBEAT,
            &heartbeat(Some(PrinterHealth {
                online: true,
                ..PrinterHealth::default()
            })),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);

    let page = fleet(&mut client).await;
    let alerts = alerts_section(&page);
    assert!(
        alerts.contains(&format!(
            "#{} 凤岭乡 / 石门村</a> · 打印纸已用完",
            kiosk.number()
        )),
        "{alerts}"
    );
    assert!(alerts.contains("2件被隔离"), "{alerts}");
    assert!(
        !alerts.contains(&format!("#{} ", quiet.number())),
        "a healthy booth raises nothing: {alerts}"
    );
    let row = booth_row(&page, &kiosk);
    for cell in ["在线", "纸已用完", ">4<", "1分钟", ">2<", "0.3.0", "+1.2 s"] {
        assert!(row.contains(cell), "{cell} in {row}");
    }

    let mut english = StaffClient::logged_in(&server.url, "admin").await;
    english.get("/staff/lang?to=en&back=/staff/fleet").await;
    let page = fleet(&mut english).await;
    page.assert_contains("Paper is out")
        .assert_contains("2 quarantined");
}

#[tokio::test]
async fn kept_counts_say_their_age_the_table_stays_live_and_own_changes_count_at_once() {
    let server = TestServer::start_with(Settings {
        fleet_summary_keep: Duration::from_secs(3600),
        ..test_settings()
    })
    .await;
    let kiosk = enroll_at(&server, "示范县/凤岭乡/石门村").await;
    add_account(server.store(), "admin", Role::Admin, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "admin").await;
    let first = fleet(&mut client).await;
    first
        .assert_contains("在用的服务亭 (1)")
        .assert_lacks("以上数字和提醒统计于");
    assert!(
        alerts_section(&first).contains("需要处理 (0)"),
        "{}",
        alerts_section(&first)
    );
    let counted_once = server.state.fleet_summaries().store_counts();

    let response = kiosk
        .post_json(paths::HEARTBEAT, &heartbeat(Some(paper_out())))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let kept = fleet(&mut client).await;
    let kept_alerts = alerts_section(&kept);
    assert!(
        kept_alerts.contains("需要处理 (0)") && !kept_alerts.contains("打印纸已用完"),
        "the counts are the first view's: {kept_alerts}"
    );
    assert!(
        kept_alerts.contains("以上数字和提醒统计于") && kept_alerts.contains("秒前"),
        "and say how old they are: {kept_alerts}"
    );
    assert_eq!(
        server.state.fleet_summaries().store_counts(),
        counted_once,
        "not counted again"
    );
    let row = booth_row(&kept, &kiosk);
    assert!(row.contains("纸已用完"), "the table is read afresh: {row}");

    // A booth enrolled through this instance: counted again, with the paper alert.
    let second = enroll_at(&server, "示范县/凤岭乡/义江村").await;
    let counted = fleet(&mut client).await;
    counted
        .assert_contains("在用的服务亭 (2)")
        .assert_lacks("以上数字和提醒统计于");
    assert!(
        alerts_section(&counted).contains(&format!(
            "#{} 凤岭乡 / 石门村</a> · 打印纸已用完",
            kiosk.number()
        )),
        "{}",
        alerts_section(&counted)
    );

    // A revocation through this instance: counted again at once.
    let done = client
        .post(
            &format!("/staff/fleet/{}/revoke", second.id()),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    client
        .get("/staff/fleet?done=revoked")
        .await
        .assert_ok()
        .assert_contains("在用的服务亭 (1)")
        .assert_contains("已停用的服务亭 (1)");
    assert_eq!(
        server.state.fleet_summaries().store_counts(),
        counted_once + 2
    );
}

#[tokio::test]
async fn names_from_the_store_and_the_form_are_shown_as_text() {
    let server = TestServer::start().await;
    enroll_at(&server, "示范县/凤岭乡/<script>alert(1)村").await;
    add_account(server.store(), "admin", Role::Admin, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "admin").await;
    fleet(&mut client)
        .await
        // askama writes `<` and `>` as numeric references.
        .assert_contains("&#60;script&#62;alert(1)村")
        .assert_lacks("<script");

    let page = client
        .post(
            "/staff/fleet/enroll-code",
            &[
                ("county", "示范县"),
                ("township", "凤岭乡"),
                ("village", "<b>新村"),
                ("ttl", "1h"),
            ],
        )
        .await;
    page.assert_ok()
        .assert_contains("&#60;b&#62;新村")
        .assert_lacks("<b>");
}
