//! `./demo vm`: the booth image booted in a VM with the host's emulated devices and county
//! server, and the walk-through a technician and a villager do on its touch screen, narrated:
//! first boot on the enrollment page, the devices named, the enrollment QR code scanned, the
//! PIN typed, a villager's application with the emulated ID card, the printed receipt, the
//! submission on the county server. Then the booth keeps running until Enter (or end of input).
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
    let mut rig = Rig::new(image, &out);
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
    let receipt = rig::villager_applies(&rig, &mut vm, 0);
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

    step("the booth keeps running: press Enter to power it off");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    vm.power_off();
}
