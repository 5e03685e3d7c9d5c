//! The county staff pages in a real browser (headless Chromium over WebDriver), against the
//! real `sync-server` and a real booth (`kiosk` CLI) on loopback: a villager's application
//! taken through its three levels by three people, and the booth then showing the final
//! status.
//!
//! With `UPDATE_SCREENSHOTS=1` the pages it passes through are saved to `docs/screenshots/`
//! for the README (they hold dates and random tokens, so they are pictures, not references).

use booth_tests::booth::{
    Booth, County, Server, free_port, import_catalog, receipt_of, server_cli,
};
use booth_tests::browser::{Driver, screenshot};
use booth_tests::staff::{WAIT, account, log_in, log_out, open_from_inbox, take};
use fantoccini::{Client, Locator};

const COUNTY: &str = "示范县";
const TOWNSHIP: &str = "凤岭乡";
const VILLAGE: &str = "石门村";
/// The township's staff.
const SCOPE: &str = "示范县/凤岭乡";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_take_a_booth_application_through_its_levels_in_a_browser() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    import_catalog(county.path());
    let server = Server::start(county.path(), free_port());
    let code_out = server_cli(
        county.path(),
        &[
            "enroll-code",
            "--county",
            COUNTY,
            "--township",
            TOWNSHIP,
            "--village",
            VILLAGE,
            "--json",
        ],
    );
    let code: serde_json::Value = serde_json::from_str(&code_out.stdout).expect("code JSON");
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, code["code"].as_str().expect("code"));
    booth.ok(&["sync", "--once"]);
    let applied = booth.ok(&[
        "submit",
        "--kind",
        "application",
        "--item",
        "GX-MZ-003",
        "--field",
        "agent_relation=本人申请",
        "--field",
        "phone=13800000001",
        "--name",
        "李秀英",
        "--id-number",
        "450902196208150028",
        "--address",
        "石门村12号",
        "--json",
    ]);
    let receipt = receipt_of(&applied);
    booth.ok(&["sync", "--once"]);

    let handler = account(county.path(), "handler", "handler", SCOPE, "张承办");
    let reviewer = account(county.path(), "reviewer", "reviewer", SCOPE, "王审查");
    let approver = account(county.path(), "approver", "approver", SCOPE, "赵审批");

    let driver = Driver::start();
    let client = driver.browser(1366, 900).await;
    let base = server.url.clone();

    log_in(&client, &base, "handler", &handler).await;
    screenshot(&client, "staff-inbox").await;
    open_from_inbox(&client, &base, &receipt).await;
    screenshot(&client, "staff-submission").await;
    take(&client, "accept", "材料齐全，予以受理").await;
    take(&client, "forward", "").await;
    log_out(&client).await;

    log_in(&client, &base, "reviewer", &reviewer).await;
    open_from_inbox(&client, &base, &receipt).await;
    take(&client, "forward", "符合条件").await;
    log_out(&client).await;

    log_in(&client, &base, "approver", &approver).await;
    open_from_inbox(&client, &base, &receipt).await;
    take(&client, "approve", "准予发放").await;
    screenshot(&client, "staff-approved").await;
    log_out(&client).await;
    client.close().await.expect("close the browser");

    booth.ok(&["sync", "--once"]);
    let shown = booth.ok(&["receipt", "show", &receipt, "--json"]);
    let local: serde_json::Value = serde_json::from_str(&shown.stdout).expect("receipt JSON");
    assert_eq!(local["status"], "approved", "{shown}");
    assert_eq!(local["status_note"], "已办结：准予发放", "{shown}");

    let audit = server_cli(county.path(), &["submissions", "list", "--json"]);
    assert!(audit.stdout.contains(&receipt));
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_fits_a_phone() {
    let county = County::new();
    let server = Server::start(county.path(), free_port());
    let password = account(county.path(), "handler", "handler", SCOPE, "张承办");
    let driver = Driver::start();
    let client = driver.phone(390, 844).await;
    log_in(&client, &server.url, "handler", &password).await;
    let width: serde_json::Value = client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("page width");
    assert!(
        width.as_u64().is_some_and(|w| w <= 390),
        "the inbox is wider than the phone: {width}"
    );
    screenshot(&client, "staff-inbox-phone").await;
    client.close().await.expect("close the browser");
}

/// Fills the text inputs named in `fields` on the current page.
async fn fill(client: &Client, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let input = client
            .find(Locator::Css(&format!("[name={name}]")))
            .await
            .unwrap_or_else(|e| panic!("no field {name}: {e}"));
        input.clear().await.expect("clear the field");
        input.send_keys(value).await.expect("type into the field");
    }
}

async fn submit_form(client: &Client, action: &str) {
    client
        .find(Locator::Css(&format!(
            "form[action='{action}'] button[type=submit]"
        )))
        .await
        .unwrap_or_else(|e| panic!("no form posting to {action}: {e}"))
        .click()
        .await
        .expect("submit the form");
}

async fn wait_for_text(client: &Client, text: &str) {
    let found = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&format!("//main[contains(., '{text}')]")))
        .await;
    if let Err(error) = found {
        panic!(
            "`{text}` did not appear ({error}):\n{}",
            client.source().await.unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_enrolls_a_booth_and_publishes_a_notice_it_shows() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    import_catalog(county.path());
    let server = Server::start(county.path(), free_port());
    let admin = account(county.path(), "admin", "admin", COUNTY, "县管理员");
    let driver = Driver::start();
    let client = driver.browser(1366, 900).await;
    let base = server.url.clone();
    log_in(&client, &base, "admin", &admin).await;

    // The fleet page issues a code; the booth enrolls with it.
    client
        .goto(&format!("{base}/staff/fleet"))
        .await
        .expect("fleet page");
    fill(&client, &[("township", TOWNSHIP), ("village", VILLAGE)]).await;
    submit_form(&client, "/staff/fleet/enroll-code").await;
    let code = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("dd.code"))
        .await
        .expect("the issued code")
        .text()
        .await
        .expect("code text");
    assert!(
        client.source().await.unwrap_or_default().contains("<svg"),
        "the code page shows a QR code"
    );
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, code.trim());
    booth.ok(&["sync", "--once"]);
    let rated = booth.ok(&[
        "submit",
        "--kind",
        "evaluation",
        "--item",
        "GX-MZ-003",
        "--rating",
        "1",
        "--text",
        "等了很久没人理",
        "--json",
    ]);
    let rating_receipt = receipt_of(&rated);
    booth.ok(&[
        "submit",
        "--kind",
        "evaluation",
        "--item",
        "GX-SB-001",
        "--rating",
        "5",
    ]);
    booth.ok(&["sync", "--once"]);
    client
        .goto(&format!("{base}/staff/fleet"))
        .await
        .expect("fleet page");
    wait_for_text(&client, VILLAGE).await;
    screenshot(&client, "staff-fleet").await;

    // A notice for the villages in scope reaches the booth.
    client
        .goto(&format!("{base}/staff/notices"))
        .await
        .expect("notices page");
    fill(
        &client,
        &[
            ("title", "冬季防火通知"),
            ("body", "请村民注意用火安全，不在山林烧荒。"),
        ],
    )
    .await;
    client
        .find(Locator::Css("input[name=audience][value=all]"))
        .await
        .expect("to all villages in scope")
        .click()
        .await
        .expect("choose all");
    submit_form(&client, "/staff/notices").await;
    wait_for_text(&client, "冬季防火通知").await;
    booth.ok(&["sync", "--once"]);
    let notices = booth.ok(&["notices", "--json"]);
    assert!(notices.stdout.contains("冬季防火通知"), "{notices}");

    // The bad rating is a follow-up task; the dashboard counts both.
    client
        .goto(&format!("{base}/staff/follow-ups"))
        .await
        .expect("follow-ups");
    wait_for_text(&client, &rating_receipt).await;
    client
        .goto(&format!("{base}/staff/ratings?by=item"))
        .await
        .expect("ratings");
    wait_for_text(&client, "高龄津贴").await;
    screenshot(&client, "staff-ratings").await;
    client
        .goto(&format!("{base}/staff/guides/GX-MZ-003"))
        .await
        .expect("guide editor");
    wait_for_text(&client, "高龄津贴").await;
    screenshot(&client, "staff-guide").await;
    client
        .goto(&format!("{base}/staff/audit"))
        .await
        .expect("audit log");
    wait_for_text(&client, "notice.create").await;
    wait_for_text(&client, "fleet.enroll_code").await;
    screenshot(&client, "staff-audit").await;
    client.close().await.expect("close the browser");
    drop(server);
}
