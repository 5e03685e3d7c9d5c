//! The spine end to end with the real binaries: enroll, submit offline, drain, and a county
//! status change flowing back to the booth's receipt.

use booth_tests::booth::{
    Booth, COMMAND, County, Server, enroll_code, eventually, free_port, import_catalog, receipt_of,
    server_cli, server_receipts,
};

#[test]
fn an_offline_application_arrives_once_and_its_status_flows_back() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    import_catalog(county.path());
    let server = Server::start(county.path(), port);
    let code = enroll_code(county.path(), "青山村");
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, &code);
    booth.ok(&["sync", "--once"]); // the catalogue arrives
    server.stop();

    // Offline: the villager applies and gets a receipt anyway.
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
        "青山村12号",
        "--json",
    ]);
    let receipt = receipt_of(&applied);
    // Queued and sealed to the county's key at submit: a stolen booth disk shows none of it.
    let personal = ["李秀英", "450902196208150028", "青山村12号", "13800000001"];
    assert_eq!(
        on_booth_disk(booth_dir.path(), &personal),
        Vec::<&str>::new(),
        "personal values readable in the booth's database or its WAL"
    );
    let offline = booth.run(&["sync", "--once"]);
    assert!(
        !offline.success,
        "sync must fail while the server is down\n{offline}"
    );
    assert_eq!(offline.stderr.lines().count(), 1, "one line\n{offline}");
    assert_eq!(booth.queue_status()["pending"], 1);

    let server = Server::start(county.path(), port);
    let drained = booth.ok(&["sync", "--once", "--json"]);
    let summary: serde_json::Value =
        serde_json::from_str(drained.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{drained}"));
    assert_eq!(summary["uploaded"], 1, "{drained}");
    assert_eq!(summary["pending"], 0, "{drained}");
    // Running it again sends nothing twice.
    booth.ok(&["sync", "--once"]);
    let on_server = server_receipts(county.path());
    assert_eq!(on_server.get(&receipt), Some(&1), "{on_server:?}");
    assert_eq!(on_server.len(), 1, "{on_server:?}");

    // Staff see the full record; the list masks the number.
    let shown = server_cli(county.path(), &["submissions", "show", &receipt, "--json"]);
    assert!(shown.stdout.contains("450902196208150028"), "{shown}");
    let listed = server_cli(county.path(), &["submissions", "list"]);
    assert!(
        !listed.stdout.contains("196208150028") && !listed.stdout.contains("李秀英"),
        "{listed}"
    );

    server_cli(
        county.path(),
        &[
            "submissions",
            "set-status",
            &receipt,
            "needs_correction",
            "--note",
            "请携带户口簿原件",
        ],
    );
    booth.ok(&["sync", "--once"]);
    let shown = booth.ok(&["receipt", "show", &receipt, "--json"]);
    let local: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}\n{shown}"));
    assert_eq!(local["status"], "needs_correction", "{shown}");
    assert_eq!(local["status_note"], "请携带户口簿原件", "{shown}");
    assert_eq!(local["masked_id"], "450902********0028", "{shown}");
    assert!(
        !shown.stdout.contains("李秀英") && !shown.stdout.contains("196208150028"),
        "{shown}"
    );
    drop(server);
}

/// Which of `values` appear in the booth's database file or its WAL.
fn on_booth_disk<'a>(booth_dir: &std::path::Path, values: &[&'a str]) -> Vec<&'a str> {
    let mut bytes = Vec::new();
    for file in ["kiosk.sqlite3", "kiosk.sqlite3-wal"] {
        if let Ok(more) = std::fs::read(booth_dir.join(file)) {
            bytes.extend(more);
        }
    }
    assert!(
        !bytes.is_empty(),
        "the booth's database is where it should be"
    );
    values
        .iter()
        .copied()
        .filter(|value| {
            bytes
                .windows(value.len())
                .any(|window| window == value.as_bytes())
        })
        .collect()
}

#[test]
fn the_sync_service_resumes_by_itself_when_the_server_returns() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server::start(county.path(), port);
    let code = enroll_code(county.path(), "石门村");
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, &code);
    server.stop();

    let service = booth.spawn_sync();
    let first = booth.complain("路灯坏了");
    let second = booth.complain("饮水点停水");
    // Let the service fail against the dead server and back off before the server returns.
    service.wait_for_stderr("next try", COMMAND);
    let _server = Server::start(county.path(), port);
    // No new local write happens: the service must notice the server on its own.
    eventually(COMMAND, "both complaints on the server", || {
        let on_server = server_receipts(county.path());
        on_server.get(&first) == Some(&1) && on_server.get(&second) == Some(&1)
    });
    eventually(COMMAND, "the booth records the acknowledgements", || {
        booth.queue_status()["acknowledged"] == 2
    });
}

#[test]
fn a_revoked_booth_is_told_so_in_one_line() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let code = enroll_code(county.path(), "青山村");
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, &code);
    let identity: serde_json::Value = {
        let out = server_cli(county.path(), &["kiosk", "list", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
    };
    let kiosk_id = identity[0]["id"]
        .as_str()
        .or_else(|| identity[0]["kiosk_id"].as_str())
        .expect("kiosk id")
        .to_owned();
    server_cli(county.path(), &["kiosk", "revoke", &kiosk_id]);
    booth.complain("测试");
    let out = booth.run(&["sync", "--once"]);
    assert!(!out.success, "{out}");
    assert!(out.stderr.contains("revoked"), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
}

#[test]
fn the_heartbeat_tells_the_county_what_the_technician_found_on_the_devices() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let receipts = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, &enroll_code(county.path(), "青山村"));
    let reader = booth_tests::Background::spawn(&["hw", "emulate", "id-card"]);
    let reader_port = reader.wait_for_line("port:", COMMAND);
    let printer = booth_tests::Background::spawn(&[
        "hw",
        "emulate",
        "printer",
        "--fault",
        "near-end",
        "--out",
        receipts.path().to_str().unwrap(),
    ]);
    let printer_port = printer.wait_for_line("port:", COMMAND);
    let checked = booth.ok(&[
        "devices",
        "check",
        "--reader",
        &reader_port,
        "--printer",
        &printer_port,
    ]);
    assert!(
        checked.stdout.contains("printer: paper near end"),
        "{checked}"
    );
    booth.ok(&["sync", "--once"]);
    let out = server_cli(county.path(), &["kiosk", "list", "--json"]);
    let kiosks: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let devices = &kiosks[0]["last_heartbeat"]["heartbeat"]["devices"];
    assert_eq!(devices["reader_present"], true, "{out}");
    assert_eq!(devices["scanner_present"], false, "{out}");
    assert_eq!(devices["printer"]["paper_near_end"], true, "{out}");
    drop(server);
}

#[test]
fn a_receipt_printed_offline_carries_its_number_as_a_qr_code() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let receipts = tempfile::tempdir().unwrap();
    import_catalog(county.path());
    let server = Server::start(county.path(), 0);
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&server.url, &enroll_code(county.path(), "青山村"));
    booth.ok(&["sync", "--once"]);
    server.stop();
    let printer = booth_tests::Background::spawn(&[
        "hw",
        "emulate",
        "printer",
        "--out",
        receipts.path().to_str().unwrap(),
    ]);
    let port = printer.wait_for_line("port:", COMMAND);
    let out = booth.ok(&[
        "submit",
        "--kind",
        "application",
        "--item",
        "GX-MZ-003",
        "--field",
        "phone=13800000001",
        "--name",
        "张三",
        "--id-number",
        "11010519491231002X",
        "--address",
        "青山村12号",
        "--print",
        &port,
        "--json",
    ]);
    let receipt = receipt_of(&out);
    let paper_file = printer.wait_for_line("receipt:", COMMAND);
    assert!(
        paper_file.ends_with(".txt") || paper_file.ends_with(".png"),
        "{paper_file}"
    );
    let paper = std::fs::read_to_string(receipts.path().join("receipt-0001.txt")).unwrap();
    assert!(paper.contains(&format!("[QR: {receipt}]")), "{paper}");
    assert!(
        paper.contains("110105********002X") && !paper.contains("张三"),
        "{paper}"
    );
    assert!(paper.contains("高龄津贴申领"), "{paper}");
}

/// A certificate of the county's own (no public root knows it) for 127.0.0.1, its files in
/// `dir` as `NAME.pem` and `NAME.key`.
fn county_certificate(dir: &std::path::Path, name: &str) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("certificate");
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, made.cert.pem()).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    let text = |path: std::path::PathBuf| path.to_str().expect("utf-8 path").to_owned();
    (text(cert), text(key))
}

/// Over https with a private certificate: the booth enrolls with the pin `enroll-code`
/// printed, trusts that certificate alone and syncs; when the server comes back with another
/// certificate the booth refuses it in one line, and what it queued stays queued.
#[test]
fn a_pinned_booth_syncs_over_https_and_refuses_another_certificate() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cert, key) = county_certificate(certs.path(), "county");
    let tls = |cert: &str, key: &str| {
        Server::start_with(county.path(), port, &["--tls-cert", cert, "--tls-key", key])
    };
    let server = tls(&cert, &key);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let issued = server_cli(
        county.path(),
        &[
            "enroll-code",
            "--village",
            "青山村",
            "--server",
            &server.url,
            "--json",
        ],
    );
    let issued: serde_json::Value = serde_json::from_str(&issued.stdout).unwrap();
    let (code, pin) = (
        issued["code"].as_str().expect("code"),
        issued["pin"]
            .as_str()
            .expect("the served certificate's pin"),
    );
    let booth = Booth::new(booth_dir.path());
    let enrolled = booth.ok(&[
        "enroll",
        "--server",
        &server.url,
        "--code",
        code,
        "--server-pin",
        pin,
        "--json",
    ]);
    let enrolled: serde_json::Value = serde_json::from_str(&enrolled.stdout).unwrap();
    assert_eq!(enrolled["server_pin"], pin);
    let first = booth.complain("桥上的路灯不亮");
    booth.ok(&["sync", "--once"]);
    assert_eq!(server_receipts(county.path()).get(&first), Some(&1));
    server.stop();

    // The same address, another key: a man in the middle, or a certificate changed unannounced.
    let (other_cert, other_key) = county_certificate(certs.path(), "other");
    let server = tls(&other_cert, &other_key);
    let second = booth.complain("村口的井盖坏了");
    let refused = booth.run(&["sync", "--once"]);
    assert!(!refused.success, "{refused}");
    let line = refused
        .stderr
        .lines()
        .find(|line| line.contains("showed certificate"))
        .unwrap_or_else(|| panic!("the reason in one line\n{refused}"));
    assert!(
        line.contains(&format!("but this booth was enrolled to trust {pin}"))
            && line.contains("re-enroll the booth or ask county IT"),
        "{line}"
    );
    let status = booth.ok(&["queue", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["pending"], 1, "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("showed certificate")),
        "{status}"
    );
    assert_eq!(server_receipts(county.path()).get(&second), None);
    server.stop();
}
