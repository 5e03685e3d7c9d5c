//! The county staff pages as staff use them, in a real browser ([`crate::browser`]): accounts
//! made on the command line, logging in, opening a submission from the inbox, and taking an
//! action on it. Shared by the browser tests and the booth VM scenario.

use std::path::Path;

use fantoccini::{Client, Locator};

use crate::booth::server_cli;

/// Creates an account on the command line, its scope a county path (`示范县/凤岭乡`); returns
/// the password it printed.
pub fn account(county: &Path, user: &str, role: &str, scope: &str, name: &str) -> String {
    let out = server_cli(
        county,
        &[
            "staff", "add", "--user", user, "--role", role, "--scope", scope, "--name", name,
        ],
    );
    out.stdout
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password printed\n{out}"))
        .to_owned()
}

/// Logs in on the login page; panics with the page it stayed on.
pub async fn log_in(client: &Client, base: &str, user: &str, password: &str) {
    client
        .goto(&format!("{base}/staff/login"))
        .await
        .expect("login page");
    client
        .find(Locator::Css("input[name=username]"))
        .await
        .expect("user name field")
        .send_keys(user)
        .await
        .expect("type the user name");
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type the password");
    client
        .find(Locator::Css("main button[type=submit]"))
        .await
        .expect("login button")
        .click()
        .await
        .expect("log in");
    if let Err(error) = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("nav.menu"))
        .await
    {
        panic!(
            "{user} did not get past the login page ({error}):\n{}",
            client.source().await.unwrap_or_default()
        );
    }
}

/// How long a page may take to arrive after a click (a form post and its redirect).
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

pub async fn log_out(client: &Client) {
    client
        .find(Locator::XPath("//form[@action='/staff/logout']//button"))
        .await
        .expect("logout button")
        .click()
        .await
        .expect("log out");
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//p[contains(., '已退出')]"))
        .await
        .expect("the logged-out page");
}

/// On the submission page: types `comment` into the form of `action` and submits it.
pub async fn take(client: &Client, action: &str, comment: &str) {
    take_naming(client, action, &[], comment).await;
}

/// On the submission page: ticks the `materials` (by name) in the form of `action` (a
/// correction request's), types `comment`, and submits it.
pub async fn take_naming(client: &Client, action: &str, materials: &[&str], comment: &str) {
    let form = format!("//input[@name='action' and @value='{action}']/ancestor::form");
    for material in materials {
        client
            .find(Locator::XPath(&format!(
                "{form}//label[contains(., '{material}')]/input[@name='material']"
            )))
            .await
            .unwrap_or_else(|e| panic!("no box to tick for {material} in {action}: {e}"))
            .click()
            .await
            .expect("tick the material");
    }
    if !comment.is_empty() {
        client
            .find(Locator::XPath(&format!("{form}//textarea")))
            .await
            .unwrap_or_else(|e| panic!("no comment box for {action}: {e}"))
            .send_keys(comment)
            .await
            .expect("type the comment");
    }
    let old_page = client.find(Locator::Css("html")).await.expect("the page");
    client
        .find(Locator::XPath(&format!("{form}//button")))
        .await
        .unwrap_or_else(|e| panic!("no {action} button: {e}"))
        .click()
        .await
        .expect("submit the action");
    // The page being left may show the last action's 已办理 too: wait until it is gone, so the
    // next step acts on the new page and not on one that is about to go stale.
    let deadline = std::time::Instant::now() + WAIT;
    while old_page.tag_name().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "{action}: the page did not change within {WAIT:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//p[@class='flash' and contains(., '已办理')]",
        ))
        .await;
    if let Err(error) = done {
        panic!(
            "{action} did not go through ({error}):\n{}",
            client.source().await.unwrap_or_default()
        );
    }
}

/// Opens the submission `receipt` from the inbox.
pub async fn open_from_inbox(client: &Client, base: &str, receipt: &str) {
    client
        .goto(&format!("{base}/staff/inbox"))
        .await
        .expect("inbox");
    client
        .find(Locator::LinkText(receipt))
        .await
        .unwrap_or_else(|e| panic!("{receipt} is not in the inbox: {e}"))
        .click()
        .await
        .expect("open the submission");
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&format!("//h1[contains(., '{receipt}')]")))
        .await
        .expect("the submission page");
}
