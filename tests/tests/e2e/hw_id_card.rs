//! `kiosk hw emulate id-card` + `kiosk hw read-card`.

use std::time::Duration;

use booth_tests::{Background, run_kiosk};

const START: Duration = Duration::from_secs(20);
const COMMAND: Duration = Duration::from_secs(30);

fn emulator(args: &[&str]) -> (Background, String) {
    let mut full = vec!["hw", "emulate", "id-card"];
    full.extend_from_slice(args);
    let process = Background::spawn(&full);
    let port = process.wait_for_line("port:", START);
    (process, port)
}

#[test]
fn a_resident_card_reads_with_its_number_and_name_masked() {
    let (_reader, port) = emulator(&[]);
    let out = run_kiosk(&["hw", "read-card", "--port", &port, "--json"], COMMAND);
    assert!(out.success, "{out}");
    let card: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(card["kind"], "resident ID card", "{out}");
    assert_eq!(card["number_masked"], "110105********0016", "{out}");
    assert_eq!(card["number_valid"], true, "{out}");
    assert_eq!(card["photo_bytes"], 1024, "{out}");
    assert_eq!(card["name"], "张*", "{out}");
    assert!(
        card.get("address").is_none(),
        "the address stays hidden without --show-personal\n{out}"
    );
    assert!(
        !out.stdout.contains("110105194912310016"),
        "the full number must never be printed\n{out}"
    );
}

#[test]
fn a_foreign_card_reads_as_json_with_its_english_name_and_nationality() {
    for kind in ["foreign", "foreign-2023"] {
        let (_reader, port) = emulator(&["--card", kind]);
        let out = run_kiosk(&["hw", "read-card", "--port", &port, "--json"], COMMAND);
        assert!(out.success, "{kind}: {out}");
        let card: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
        let english = card["english_name"].as_str().unwrap_or_default();
        assert!(
            english.len() > 1 && english.contains('*'),
            "{kind}: the English name, masked like the name\n{out}"
        );
        assert!(
            !card["nationality"].as_str().unwrap_or_default().is_empty(),
            "{kind}: the nationality\n{out}"
        );
        // A card read once must be placed again, as on a real reader.
        let (_reader, port) = emulator(&["--card", kind]);
        let shown = run_kiosk(
            &[
                "hw",
                "read-card",
                "--port",
                &port,
                "--json",
                "--show-personal",
            ],
            COMMAND,
        );
        let card: serde_json::Value =
            serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}\n{shown}"));
        let english = card["english_name"].as_str().unwrap_or_default();
        assert!(
            !english.is_empty() && !english.contains('*'),
            "{kind}: in full for the holder\n{shown}"
        );
    }
}

#[test]
fn every_card_kind_reads_as_text() {
    for (kind, expected) in [
        ("permit", "港澳台居民居住证"),
        ("foreign", "外国人永久居留身份证"),
        ("foreign-2023", "外国人永久居留身份证"),
    ] {
        let (_reader, port) = emulator(&["--card", kind]);
        let out = run_kiosk(&["hw", "read-card", "--port", &port], COMMAND);
        assert!(out.success, "{kind}: {out}");
        assert!(out.stdout.contains(expected), "{kind}: {out}");
        assert!(
            out.stdout.contains("number check      passes"),
            "{kind}: {out}"
        );
    }
}

#[test]
fn a_card_file_is_read_back_and_personal_fields_show_only_when_asked() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hardware/tests/fixtures/id_card/resident.toml"
    );
    let (_reader, port) = emulator(&["--card-file", fixture]);
    let out = run_kiosk(
        &["hw", "read-card", "--port", &port, "--show-personal"],
        COMMAND,
    );
    assert!(out.success, "{out}");
    assert!(
        out.stdout.contains("李秀英") && out.stdout.contains("示例村12号"),
        "{out}"
    );
    assert!(out.stdout.contains("450902********0028"), "{out}");
    assert!(!out.stdout.contains("450902196208150028"), "{out}");
}

#[test]
fn faults_switched_at_run_time_give_one_clear_line_each() {
    let (mut reader, port) = emulator(&[]);
    let cases = [
        ("fault no-card", "place the card flat on the reader"),
        ("fault removed-mid-read", "keep the card still"),
        ("fault sam-not-authorised", "not authorised"),
        ("fault bad-checksum", "bad checksum"),
        ("fault garbage", "not ID card reader frames"),
        ("fault silent", "no reply from the ID card reader"),
    ];
    for (control, expected) in cases {
        reader.send_line(control);
        reader.wait_for_line(&format!("ok: {control}"), START);
        let out = run_kiosk(&["hw", "read-card", "--port", &port], COMMAND);
        assert!(!out.success, "{control} should fail\n{out}");
        assert_eq!(out.stderr.lines().count(), 1, "{control}: one line\n{out}");
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(&port),
            "{control}: expected {expected:?} and the port\n{out}"
        );
    }
    reader.send_line("fault none");
    reader.wait_for_line("ok: fault none", START);
    let out = run_kiosk(&["hw", "read-card", "--port", &port], COMMAND);
    assert!(
        out.success,
        "the reader works again once the fault clears\n{out}"
    );
}

#[test]
fn waiting_for_a_card_reads_it_once_it_is_placed() {
    let (mut reader, port) = emulator(&["--empty"]);
    let waiting = Background::spawn(&[
        "hw",
        "read-card",
        "--port",
        &port,
        "--wait",
        "20s",
        "--json",
    ]);
    std::thread::sleep(Duration::from_millis(700));
    reader.send_line("place permit");
    let kind = waiting.wait_for_line("  \"kind\":", COMMAND);
    assert!(kind.contains("permit"), "{kind}");
}
