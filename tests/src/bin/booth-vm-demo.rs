//! `./demo vm`: the booth image booted in a VM with the host's emulated devices and county
//! server, and the walk-through a technician and a villager do on its touch screen, narrated:
//! first boot on the enrollment page, the devices named, the enrollment QR code scanned, the
//! PIN typed, a villager's application with the emulated ID card, the printed receipt, the
//! submission on the county server. Then the booth keeps running, set up for releases to be
//! shipped to it by hand (README: "Ship a release to the demo booth"), and its updater's
//! status is printed as it changes, until Enter (or end of input).
//!
//! Usage: booth-vm-demo IMAGE_DIR OUT_DIR [--window]
//! `--window` shows the booth's display in a QEMU window (needs a desktop and Debian's
//! qemu-system-gui); without it every screen is saved as PNG in OUT_DIR/boot-1/.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use booth_tests::booth::{server_cli, server_receipts};
use booth_tests::vm::BoothImage;
use booth_tests::vm::rig::{self, Rig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(image), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: booth-vm-demo IMAGE_DIR OUT_DIR [--window]");
        std::process::exit(2);
    };
    let window = args.iter().any(|a| a == "--window");
    let out = PathBuf::from(out);
    let _ = std::fs::remove_dir_all(&out);
    let image = BoothImage {
        dir: PathBuf::from(image),
    };
    let step = |text: &str| println!("\n== {text}");

    step("county server, emulated ID card reader, printer and scanner on the host");
    // Bundles come down at 2 MiB/s here (a county server's default is 256 KiB/s per booth).
    let mut rig = Rig::new_with(image, &out, &["--download-kib-per-s", "2048"], &[]);
    rig.window = window;
    println!(
        "county server: {} (the guest reaches it as http://{})",
        rig.server.url,
        booth_tests::vm::COUNTY_IN_GUEST
    );
    step(
        "power on: the booth image's own kernel, udev and systemd under QEMU (software emulation)",
    );
    let mut vm = rig.power_on(false);
    println!(
        "the booth app's first frame {:.0} s after power-on; screens: {}",
        vm.first_frame.as_secs_f64(),
        vm.dir.display()
    );
    vm.wait_for_log("first provisioning", Duration::from_secs(60));
    println!(
        "first boot: the booth shows its enrollment page ({})",
        vm.dir.join("first-frame.png").display()
    );

    step(
        "technician: the three USB adapters named by their serial numbers in /etc/booth/booth.toml",
    );
    rig::technician_names_the_devices(&mut vm, &format!("0403:6001:{}", rig::SCANNER_SERIAL));
    print!("{}", vm.sh("ls -l /dev/booth/"));

    step("technician: the county's enrollment QR code under the scanner, PIN typed on the screen");
    let (code, qr) = rig.enrollment();
    println!("enrollment code {code}; QR payload {qr}");
    rig.scanner.scan(&qr).expect("scan");
    vm.wait_for_log("enrollment QR code scanned", Duration::from_secs(60));
    rig::technician_sets_the_pin_and_enrolls(&mut vm);
    println!("enrolled; technician PIN {}", rig::TECHNICIAN_PIN);

    step("villager: 我要办理 → 户籍证明开具 → ID card on the reader → form → 确认提交");
    let receipt = rig::villager_applies(&rig, &mut vm, 0, rig::Materials::NoCamera);
    println!("{}", receipt.join("\n"));
    if let Some(file) = rig.printer.written_files().last() {
        println!("the receipt as printed: {}", file.display());
    }
    let number = rig::receipt_number(&receipt);
    step("the county server");
    booth_tests::booth::eventually(
        Duration::from_secs(120),
        "the submission reaches the county",
        || server_receipts(rig.county.path()).contains_key(&number),
    );
    print!(
        "{}",
        server_cli(rig.county.path(), &["submissions", "list"]).stdout
    );

    step("ship a release to this booth (README: \"Ship a release to the demo booth\")");
    rig::technician_quickens_updates(&mut vm);
    let county = rig.county.path();
    let (reads, writes) = (
        kiosk_core::store::SCHEMA_READS,
        kiosk_core::store::SCHEMA_WRITES,
    );
    println!(
        "the booth now sends a heartbeat every 10 s and installs a release after 30 s untouched.\n\
         In a second terminal, in the repository:\n  \
         export SYNC_SERVER_DATA_DIR={} SYNC_SERVER_KEY_FILE={} SYNC_SERVER_RELEASE_KEYS=$PWD/kiosk/updater/tests/fixtures/TEST-ONLY-release-keys\n\
         This booth is kiosk number 1; its app reads store schemas {}..{} and writes {}; its image\n\
         trusts the repository's TEST-ONLY release key.",
        county.display(),
        booth_tests::booth::key_file(county).display(),
        reads.0,
        reads.1,
        writes
    );

    step("the booth's updater (booth-update status), as it changes; Enter powers the booth off");
    let (enter, pressed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let _ = enter.send(());
    });
    let mut last = String::new();
    loop {
        let now = vm.sh("/usr/lib/booth/booth-update status 2>&1 | grep -v '^trusted key' ; echo \"releases: $(ls /var/lib/booth/releases | tr '\\n' ' ')\" ; echo \"queue: $(runuser -u booth -- /usr/bin/kiosk --data-dir /var/lib/booth queue list 2>&1 | tr '\\n' ' ')\"");
        if now != last {
            println!("\n{}", now.trim_end());
            last = now;
        }
        if pressed.recv_timeout(Duration::from_secs(5)).is_ok() {
            break;
        }
    }
    vm.power_off();
}
