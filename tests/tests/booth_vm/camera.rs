//! The document camera through the booth's real kernel: V4L2 against the kernel's virtual
//! camera `vivid` (a real /dev/video node streaming test patterns in YUYV), as the booth's own
//! user, through `kiosk hw camera`.

use std::time::Duration;

use booth_tests::booth::{eventually, server_cli, server_cli_try};
use booth_tests::browser::Driver;
use booth_tests::staff;
use booth_tests::vm::BoothVm;
use booth_tests::vm::rig::{self, Rig};
use serde_json::Value;

/// A technician plugs in a camera (here: loads `vivid` with one capture node), lists it, and
/// captures a page as the booth's user; the page is a JPEG of the size the command reports.
/// Returns the camera's node.
pub fn a_technician_lists_the_camera_and_captures_a_page(vm: &mut BoothVm) -> String {
    vm.sh("modprobe vivid n_devs=1 node_types=0x1 && udevadm settle");
    let listed = vm.sh("runuser -u booth -- kiosk hw camera list");
    eprintln!("kiosk hw camera list:\n{listed}");
    let line = listed
        .lines()
        .find(|l| l.contains("vivid"))
        .unwrap_or_else(|| panic!("vivid is not listed:\n{listed}"));
    assert!(
        line.contains("YUYV"),
        "vivid's YUYV mode is offered: {line}"
    );
    let node = line.split_whitespace().next().expect("the node's path");

    let (status, captured) = vm.sh_status(
        &format!(
            "cd /tmp && runuser -u booth -- kiosk hw camera capture --device {node} --out /tmp/page.jpg --raw /tmp/still"
        ),
        Duration::from_secs(600),
    );
    eprintln!("kiosk hw camera capture:\n{captured}");
    assert_eq!(status, 0, "capture failed:\n{captured}");
    assert!(captured.contains("captured YUYV"), "{captured}");
    let (width, height) = size_after(&captured, "wrote /tmp/page.jpg (");

    // The still kept as the camera sent it: width × height × 2 bytes of YUYV.
    let (still_width, still_height) = size_after(&captured, "captured YUYV ");
    let still = captured
        .split("kept the still as ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no still kept:\n{captured}"));
    let still_bytes: u64 = vm
        .sh(&format!("stat -c %s {still}"))
        .trim()
        .parse()
        .expect("a size");
    assert_eq!(
        still_bytes,
        u64::from(still_width) * u64::from(still_height) * 2,
        "{still}"
    );
    // The page: a JPEG (FF D8) whose start-of-frame header holds the reported size.
    let head = vm.sh("od -An -tx1 -N2 /tmp/page.jpg");
    assert_eq!(head.split_whitespace().collect::<Vec<_>>(), ["ff", "d8"]);
    let listed_size = vm.sh("stat -c %s /tmp/page.jpg");
    let bytes: usize = listed_size.trim().parse().expect("a size");
    assert!(
        bytes > 10_000 && bytes <= 500_000,
        "the page is {bytes} bytes"
    );
    assert!(width >= 320 && height >= 320, "{width}×{height}");
    node.to_owned()
}

/// `vivid` is no USB camera, so the image's udev rule does not name it /dev/booth/camera: the
/// technician names its node in booth.toml, as for a camera built into the booth's PC, and
/// restarts the app to read it.
pub fn technician_points_the_booth_at(vm: &mut BoothVm, node: &str) {
    let section = vm.sh(&format!(
        r#"sed -i 's|^device = "/dev/booth/camera"$|device = "{node}"|' /etc/booth/booth.toml && grep -A1 '^\[devices.camera\]' /etc/booth/booth.toml"#
    ));
    assert!(section.contains(node), "booth.toml's camera:\n{section}");
    let pid = vm.kiosk_pid();
    vm.sh("systemctl restart booth-kiosk");
    vm.wait_until_kiosk_back(pid, Duration::from_secs(180));
}

/// The `W×H` printed after `prefix` → (W, H): the first two numbers after it (the console
/// may garble the `×`, a multi-byte character split across its reads).
fn size_after(output: &str, prefix: &str) -> (u32, u32) {
    let after = output
        .split(prefix)
        .nth(1)
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{output}"));
    let numbers: Vec<u32> = after
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .take(2)
        .map(|part| part.parse().expect("a number"))
        .collect();
    match numbers[..] {
        [width, height] => (width, height),
        _ => panic!("no size after `{prefix}` in:\n{output}"),
    }
}

/// The application `receipt` reached the county listing one page of each material, and the
/// booth's queue says the county holds both pages (none waits, none refused).
pub fn both_pages_reach_the_county(rig: &Rig, vm: &mut BoothVm, receipt: &str) {
    let shown = submission(rig, receipt);
    assert_eq!(pages(&shown), [(0, "居民身份证", 1), (1, "居民户口簿", 1)]);
    let last = wait_until_the_county_holds(vm, 2, "the county holds both pages");
    eprintln!("the booth's queue once the pages were held: {last}");
}

/// `sync-server submissions show RECEIPT --json`.
fn submission(rig: &Rig, receipt: &str) -> Value {
    let shown = server_cli(
        rig.county.path(),
        &["submissions", "show", receipt, "--json"],
    );
    serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}: {}", shown.stdout))
}

/// A shown submission's pages: (material index, material name, page number).
fn pages(shown: &Value) -> Vec<(u64, &str, u64)> {
    shown["submission"]["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("no pages listed: {shown:#}"))
        .iter()
        .map(|page| {
            (
                page["material"].as_u64().expect("material"),
                page["material_name"].as_str().expect("material_name"),
                page["page"].as_u64().expect("page"),
            )
        })
        .collect()
}

/// Waits until the booth's queue says the county holds `held` pages, none waiting or refused;
/// returns the queue's last status.
fn wait_until_the_county_holds(vm: &mut BoothVm, held: u64, what: &str) -> String {
    let mut last = String::new();
    eventually(Duration::from_secs(180), what, || {
        last = vm.sh("runuser -u booth -- kiosk --data-dir /var/lib/booth queue status --json");
        let status: Value = serde_json::from_str(last.trim()).unwrap_or(Value::Null);
        status["files_held"] == held && status["files_pending"] == 0 && status["files_refused"] == 0
    });
    last.trim().to_owned()
}

/// The township's handler opens the application in a real browser, looks at its pages, and
/// asks for the household register to be photographed again (补正, naming it and why).
pub fn a_handler_asks_for_the_register_again(rig: &Rig, receipt: &str) {
    let scope = format!("{}/{}", rig::COUNTY, rig::TOWNSHIP);
    let password = staff::account(rig.county.path(), "handler", "handler", &scope, "张承办");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the browser");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = driver.browser(1366, 900).await;
        staff::log_in(&client, &rig.server.url, "handler", &password).await;
        staff::open_from_inbox(&client, &rig.server.url, receipt).await;
        let page = client.source().await.expect("the submission page");
        assert!(
            page.contains("居民身份证") && page.contains("居民户口簿"),
            "the page lists both materials"
        );
        staff::take_naming(
            &client,
            "request_correction",
            &["居民户口簿"],
            "户口簿那页拍得不清楚",
        )
        .await;
        client.close().await.expect("close the browser");
    });
}

/// The correction's page reached the county once, filed under the register, in a supplement
/// that completes `original`; the booth's queue says the county holds all three pages.
pub fn the_new_page_joins_the_application(
    rig: &Rig,
    vm: &mut BoothVm,
    original: &str,
    supplement: &str,
) {
    // A supplement is in no list of its own (it joins its application): looked up by receipt.
    eventually(
        Duration::from_secs(180),
        "the correction reaches the county",
        || {
            server_cli_try(
                rig.county.path(),
                &["submissions", "show", supplement, "--json"],
            )
            .success
        },
    );
    let (original, supplement) = (submission(rig, original), submission(rig, supplement));
    assert_eq!(
        supplement["submission"]["supplement_to"], original["submission"]["id"],
        "the new page joins the application: {supplement:#}"
    );
    let pages: Vec<(u64, &str)> = pages(&supplement)
        .into_iter()
        .map(|(material, name, _)| (material, name))
        .collect();
    assert_eq!(pages, [(1, "居民户口簿")]);
    wait_until_the_county_holds(vm, 3, "the county holds all three pages");
}
