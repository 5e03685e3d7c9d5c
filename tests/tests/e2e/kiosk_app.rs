//! `kiosk demo --check` (the county server binary, enrollment, sync and the emulated devices,
//! without a window) and `kiosk run`'s refusals: a bad config, and a binary without a display
//! backend (the default build, which these tests use).

use std::path::Path;
use std::time::Duration;

use booth_tests::run_kiosk;

const DEMO: Duration = Duration::from_secs(90);
const COMMAND: Duration = Duration::from_secs(30);

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open the receipt PNG"),
    ));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn the_demo_check_starts_the_county_enrolls_syncs_and_prints() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = run_kiosk(
        &[
            "demo",
            "--check",
            "--dir",
            demo.to_str().unwrap(),
            "--technician-pin",
            "2468",
        ],
        DEMO,
    );
    assert!(out.success, "{out}");
    for said in [
        "county server  http://127.0.0.1:",
        "booth          kiosk #1 of 示范县 凤岭乡 青山村",
        "services synced to the booth",
        &format!("receipts       {}", demo.join("receipts").display()),
        "kiosk demo --check: the server, enrollment, sync and the devices work",
    ] {
        assert!(out.stdout.contains(said), "missing {said:?}\n{out}");
    }
    let png = demo.join("receipts/receipt-0001.png");
    let text = std::fs::read_to_string(demo.join("receipts/receipt-0001.txt")).unwrap();
    assert!(!text.trim().is_empty(), "the receipt's text");
    assert_eq!(png_size(&png).0, 384, "a 58 mm receipt picture");

    // The booth it made is enrolled, synced, and has the PIN it was given.
    let booth = demo.join("booth");
    let status = run_kiosk(
        &["--data-dir", booth.to_str().unwrap(), "queue", "status"],
        COMMAND,
    );
    assert!(status.success, "{status}");
    let config = std::fs::read_to_string(demo.join("booth.toml")).unwrap();
    assert!(config.contains("[devices.printer]"), "{config}");

    // Run again in the same folder: it starts over.
    let again = run_kiosk(&["demo", "--check", "--dir", demo.to_str().unwrap()], DEMO);
    assert!(again.success, "{again}");
    assert!(
        again.stdout.contains("kiosk #1 of"),
        "a fresh county\n{again}"
    );
}

#[test]
fn run_refuses_a_bad_config_and_a_binary_without_a_display_backend() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[devices.printer]\nport = \"/dev/usb/lp0\"\npaper = 57\n",
    )
    .unwrap();
    let out = run_kiosk(&["run", "--config", bad.to_str().unwrap()], COMMAND);
    assert!(!out.success, "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "one line\n{out}");
    assert!(
        out.stderr.contains("bad.toml is not valid") && out.stderr.contains("use 58 or 80"),
        "{out}"
    );

    let out = run_kiosk(
        &[
            "run",
            "--config",
            dir.path().join("absent.toml").to_str().unwrap(),
        ],
        COMMAND,
    );
    assert!(
        !out.success && out.stderr.contains("give an existing file with --config"),
        "{out}"
    );

    let good = dir.path().join("booth.toml");
    std::fs::write(&good, "language = \"en\"\n").unwrap();
    for args in [
        vec!["run", "--config", good.to_str().unwrap()],
        vec!["demo"],
    ] {
        let out = run_kiosk(&args, COMMAND);
        assert!(!out.success, "{out}");
        assert_eq!(out.stderr.lines().count(), 1, "one line\n{out}");
        assert!(
            out.stderr.contains("built without a display backend")
                && out.stderr.contains("--features winit")
                && out.stderr.contains("--features linuxkms"),
            "{out}"
        );
    }

    // The PIN for technician mode: 4 to 12 digits.
    let data = dir.path().join("booth");
    let out = run_kiosk(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "technician-pin",
            "12a4",
        ],
        COMMAND,
    );
    assert!(
        !out.success && out.stderr.contains("4 to 12 digits"),
        "{out}"
    );
    let out = run_kiosk(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "technician-pin",
            "802413",
        ],
        COMMAND,
    );
    assert!(
        out.success && out.stdout.contains("technician PIN set"),
        "{out}"
    );
}
