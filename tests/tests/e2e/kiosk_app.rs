//! `kiosk-demo --check` (the county server binary, enrollment, sync and the emulated devices,
//! without a window), `kiosk-demo --no-window` started without a terminal and then killed, and
//! `kiosk run`'s refusals: a bad config, and a binary without a display backend (the default
//! build, which these tests use).

use std::path::Path;
use std::time::Duration;

use booth_tests::{Background, demo_bin, run_demo, run_kiosk};

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
    let out = run_demo(
        &[
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
        "kiosk-demo --check: the server, enrollment, sync and the devices work",
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
    let again = run_demo(&["--check", "--dir", demo.to_str().unwrap()], DEMO);
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
    for out in [
        run_kiosk(&["run", "--config", good.to_str().unwrap()], COMMAND),
        run_demo(&[], COMMAND),
    ] {
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

/// Started as `./demo &` or from a desktop launcher, the demo's standard input is at its end at
/// once; its devices must stay for the booth all the same. Killed outright, it must take its
/// county server with it.
#[test]
fn the_demo_without_a_terminal_keeps_its_devices_and_its_server_dies_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("demo");
    let mut demo = Background::spawn_bin(
        &demo_bin(),
        &["--no-window", "--dir", folder.to_str().unwrap()],
    );
    let server = demo.wait_for_line("  county server  ", DEMO);
    let address = server
        .trim_start_matches("http://")
        .split_whitespace()
        .next()
        .expect("the server's address")
        .to_owned();
    let devices = demo.wait_for_line("  devices        ID card reader ", DEMO);
    let reader = devices.split(',').next().expect("the reader's port").trim();

    demo.close_stdin();
    demo.wait_for_line("kiosk-demo: end of input", DEMO);
    let out = run_kiosk(&["hw", "read-card", "--port", reader], COMMAND);
    assert!(
        !out.success && out.stderr.contains("place the card flat on the reader"),
        "the emulated reader still answers (with no card on it)\n{out}"
    );

    demo.kill();
    let address: std::net::SocketAddr = address.parse().expect("host:port");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the county server at {address} outlived the killed demo"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_booth_binary_carries_neither_the_demo_nor_its_catalogue() {
    let out = run_kiosk(&["demo", "--check"], COMMAND);
    assert!(
        !out.success && out.stderr.contains("unrecognized subcommand"),
        "{out}"
    );
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sync-server/seed/catalog.json"
    ))
    .unwrap();
    // A stretch of the embedded catalogue long enough to be nowhere else.
    let stretch = seed.lines().take(8).collect::<Vec<_>>().join("\n");
    let binary = std::fs::read(booth_tests::kiosk_bin()).unwrap();
    assert!(
        !binary
            .windows(stretch.len())
            .any(|window| window == stretch.as_bytes()),
        "the kiosk binary embeds the seed catalogue"
    );
}
