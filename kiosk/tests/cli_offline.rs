//! The offline commands as a technician runs them: the real `kiosk` binary against a data
//! directory in a temporary folder. The booth's identity is set through the library (the
//! enrollment round trip with a server is tested with the sync client).

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use kiosk_core::store::{DB_FILE, Identity, Store};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{
    CatalogItem, FeedPage, FieldKind, FormField, IdentityNeed, Office, TimeLimit,
};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{ItemResult, Outcome};

fn kiosk(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("KIOSK_DATA_DIR")
        .output()
        .expect("run kiosk")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs and expects success; shows everything the command said otherwise.
fn ok(data_dir: &Path, args: &[&str]) -> String {
    let output = kiosk(data_dir, args);
    assert!(
        output.status.success(),
        "kiosk {args:?} failed\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs and expects failure with a one-line message on stderr.
fn fails(data_dir: &Path, args: &[&str]) -> String {
    let output = kiosk(data_dir, args);
    assert!(
        !output.status.success(),
        "kiosk {args:?} should have failed\nstdout: {}",
        stdout(&output)
    );
    let text = stderr(&output);
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("kiosk: "), "{text}");
    text
}

fn enroll(data_dir: &Path) {
    let mut store = Store::open(data_dir).unwrap();
    store
        .set_identity(&Identity {
            kiosk_id: "kiosk-7".into(),
            kiosk_number: 7,
            village: Village {
                county: "田东县".into(),
                township: "平马镇".into(),
                village: "青山村".into(),
            },
            server_url: "http://127.0.0.1:9".into(),
            server_id: "server-a".into(),
            enrolled_at: Utc::now(),
            server_pin: None,
        })
        .unwrap();
}

/// `receipt: 007-00001-X` → the number.
fn receipt_of(line: &str) -> ReceiptNumber {
    let number = line
        .trim_end()
        .strip_prefix("receipt: ")
        .unwrap_or_else(|| panic!("not a receipt line: {line:?}"));
    number.parse().unwrap()
}

#[test]
fn submit_works_offline_and_prints_only_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let error = fails(
        dir.path(),
        &["submit", "--kind", "complaint", "--text", "路灯坏了"],
    );
    assert!(
        error.contains("kiosk enroll --server URL --code CODE"),
        "{error}"
    );

    enroll(dir.path());
    let out = ok(
        dir.path(),
        &["submit", "--kind", "complaint", "--text", "路灯坏了"],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let number = receipt_of(&out);
    assert_eq!((number.kiosk(), number.seq()), (7, 1));

    let json: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["submit", "--kind", "evaluation", "--rating", "5", "--json"],
    ))
    .unwrap();
    assert_eq!(json["seq"], 2);
    assert_eq!(json["receipt_number"], ReceiptNumber::new(7, 2).to_string());

    let status: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["queue", "status", "--json"])).unwrap();
    assert_eq!(status["pending"], 2);
    assert_eq!(status["quarantined"], 0);
    assert_eq!(status["next_attempt_in_s"], 0, "new items are due now");
    let text = ok(dir.path(), &["queue", "status"]);
    assert!(
        text.contains("pending: 2") && text.contains("next attempt: now"),
        "{text}"
    );
}

#[test]
fn the_data_directory_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    enroll(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args([
            "submit",
            "--kind",
            "consultation",
            "--text",
            "养老金何时发放？",
        ])
        .env("KIOSK_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(receipt_of(&stdout(&output)).seq(), 1);
}

#[test]
fn receipts_show_item_masked_id_and_latest_status() {
    let dir = tempfile::tempdir().unwrap();
    enroll(dir.path());
    let mut store = Store::open(dir.path()).unwrap();
    store
        .apply_catalog_page(&FeedPage {
            items: vec![pension()],
            cursor: "c1".into(),
            more: false,
        })
        .unwrap();
    drop(store);

    let error = fails(
        dir.path(),
        &["submit", "--kind", "application", "--item", "PEN-001"],
    );
    assert!(error.contains("--field household_size="), "{error}");
    let error = fails(
        dir.path(),
        &["submit", "--kind", "application", "--item", "PEN-999"],
    );
    assert!(error.contains("PEN-999"), "{error}");

    let out = ok(
        dir.path(),
        &[
            "submit",
            "--kind",
            "application",
            "--item",
            "PEN-001",
            "--field",
            "household_size=4",
            "--name",
            "李秀英",
            "--id-number",
            "450902196208150028",
            "--address",
            "青山村三组",
            "--phone",
            "13912345678",
        ],
    );
    let number = receipt_of(&out).to_string();
    let store = Store::open(dir.path()).unwrap();
    let queued = store.due_submissions(Utc::now(), 10).unwrap();
    let applicant = queued[0].applicant.as_ref().unwrap();
    assert_eq!(
        applicant.address, None,
        "the item does not need the address"
    );
    assert_eq!(queued[0].catalog_version, Some(3));
    drop(store);

    let shown = ok(dir.path(), &["receipt", "show", &number.to_lowercase()]);
    assert!(shown.contains(&format!("receipt: {number}")), "{shown}");
    assert!(
        shown.contains("item: PEN-001 城乡居民养老保险待遇申领"),
        "{shown}"
    );
    assert!(shown.contains("ID: 450902********0028"), "{shown}");
    assert!(!shown.contains("196208150028"), "{shown}");
    assert!(shown.contains("status: 待上传 (pending)"), "{shown}");

    let mut store = Store::open(dir.path()).unwrap();
    store
        .record_results(
            &[ItemResult {
                id: queued[0].id,
                outcome: Outcome::Accepted,
                message: None,
                code: None,
                received_at: Some(Utc::now()),
            }],
            Utc::now(),
        )
        .unwrap();
    drop(store);
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["receipt", "show", &number, "--json"])).unwrap();
    assert_eq!(json["status"], "received");
    assert_eq!(json["status_zh"], "已接收");
    assert_eq!(json["masked_id"], "450902********0028");
    assert_eq!(json["upload"], "acknowledged");

    let mut typo: Vec<char> = number.chars().collect();
    typo[5] = if typo[5] == '1' { '2' } else { '1' };
    let typo: String = typo.into_iter().collect();
    let error = fails(dir.path(), &["receipt", "show", &typo]);
    assert!(error.contains("fails its check"), "{error}");
    let unknown = ReceiptNumber::new(7, 500).to_string();
    let error = fails(dir.path(), &["receipt", "show", &unknown]);
    assert!(error.contains("no receipt"), "{error}");
}

#[test]
fn quarantined_items_can_be_listed_requeued_and_discarded() {
    let dir = tempfile::tempdir().unwrap();
    enroll(dir.path());
    assert_eq!(
        ok(dir.path(), &["queue", "quarantined"]).trim(),
        "no quarantined submissions"
    );
    let first = receipt_of(&ok(
        dir.path(),
        &["submit", "--kind", "complaint", "--text", "a"],
    ));
    let second = receipt_of(&ok(
        dir.path(),
        &["submit", "--kind", "complaint", "--text", "b"],
    ));
    let mut store = Store::open(dir.path()).unwrap();
    let due = store.due_submissions(Utc::now(), 10).unwrap();
    let refuse = |id| ItemResult {
        id,
        outcome: Outcome::Conflict,
        message: Some("id taken by a different body".into()),
        code: None,
        received_at: None,
    };
    store
        .record_results(&[refuse(due[0].id), refuse(due[1].id)], Utc::now())
        .unwrap();
    drop(store);

    let listed = ok(dir.path(), &["queue", "quarantined"]);
    assert!(listed.contains(&first.to_string()), "{listed}");
    assert!(
        listed.contains("reason: id taken by a different body"),
        "{listed}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["queue", "quarantined", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let out = ok(dir.path(), &["queue", "requeue", &first.to_string()]);
    assert!(out.contains("re-queued"), "{out}");
    let error = fails(dir.path(), &["queue", "requeue", &first.to_string()]);
    assert!(error.contains("not quarantined"), "{error}");
    let out = ok(
        dir.path(),
        &[
            "queue",
            "discard",
            &due[1].id.to_string(),
            "--reason",
            "villager withdrew it",
        ],
    );
    assert!(out.contains(&format!("discarded {second}")), "{out}");
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["queue", "status", "--json"])).unwrap();
    assert_eq!(
        (
            &status["pending"],
            &status["quarantined"],
            &status["discarded"]
        ),
        (&1.into(), &0.into(), &1.into())
    );
}

#[test]
fn a_corrupt_database_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), vec![0x42; 4096]).unwrap();
    let error = fails(dir.path(), &["queue", "status"]);
    assert!(
        error.contains("is damaged") && error.contains(".corrupt-"),
        "{error}"
    );
}

#[test]
fn device_commands_ignore_the_data_directory() {
    let output = kiosk(Path::new("/nonexistent/kiosk-data"), &["hw", "--help"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!Path::new("/nonexistent/kiosk-data").exists());
}

fn pension() -> CatalogItem {
    CatalogItem {
        code: "PEN-001".into(),
        version: 3,
        name_zh: "城乡居民养老保险待遇申领".into(),
        name_en: "Rural and urban residents' pension claim".into(),
        category: "社会保险".into(),
        legal_basis: "《社会保险法》".into(),
        conditions: vec!["年满60周岁".into()],
        materials: vec![],
        steps: vec![],
        time_limit: TimeLimit::WorkingDays { days: 5 },
        fees: vec![],
        office: Office {
            name: "乡镇社保所".into(),
            address: "镇政府一楼".into(),
            phone: "0776-5550000".into(),
        },
        complaint_phone: "12345".into(),
        identity: IdentityNeed::IdNumber,
        form: vec![FormField {
            key: "household_size".into(),
            label_zh: "家庭人口".into(),
            kind: FieldKind::Number,
            required: true,
            choices: vec![],
        }],
        review_levels: 3,
        withdrawn: false,
    }
}

/// `kiosk udev-name` as udev runs it: the device in the environment, nothing else.
fn udev_name(config: &Path, device: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--data-dir")
        .arg(config.with_file_name("data"))
        .args(["udev-name", "--config"])
        .arg(config)
        .env_clear()
        .envs(device.iter().copied())
        .output()
        .expect("run kiosk udev-name")
}

#[test]
fn udev_name_names_the_device_from_the_environment_and_opens_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        "[devices.id_card]\nport = \"/dev/booth/id-reader\"\nusb_ids = [\"1a86:7523\"]\n\
         [devices.scanner]\nport = \"/dev/booth/scanner\"\nusb_ids = [\"1a86:7523\", \"0483:5740\"]\n",
    )
    .unwrap();
    let tty = |vid, pid| {
        [
            ("SUBSYSTEM", "tty"),
            ("DEVNAME", "/dev/ttyACM0"),
            ("ID_VENDOR_ID", vid),
            ("ID_MODEL_ID", pid),
        ]
    };

    let named = udev_name(&config, &tty("0483", "5740"));
    assert!(named.status.success(), "{}", stderr(&named));
    assert_eq!(stdout(&named), "BOOTH_NAME=scanner\n");

    let other = udev_name(&config, &tty("2341", "0043"));
    assert!(other.status.success(), "{}", stderr(&other));
    assert_eq!((stdout(&other).as_str(), stderr(&other).as_str()), ("", ""));

    let tie = udev_name(&config, &tty("1a86", "7523"));
    assert!(!tie.status.success(), "a tie is a failure udev logs");
    assert_eq!(stdout(&tie), "");
    let why = stderr(&tie);
    assert_eq!(why.trim_end().lines().count(), 1, "{why}");
    assert!(
        why.contains("[devices.id_card]") && why.contains("[devices.scanner]"),
        "{why}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "no store was opened in the data directory"
    );
}
