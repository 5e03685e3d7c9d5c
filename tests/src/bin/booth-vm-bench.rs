//! `scripts/bench-booth-vm.sh`: the booth image's timings and memory under QEMU (software
//! emulation, 2 vCPUs, 1 GiB), each run on a fresh disk:
//! - power-on (QEMU started) to the booth app's first frame on its display;
//! - `kill -9` of the app to systemd having it back (READY=1 again);
//! - in the first run only: the app's resident memory after a technician's enrollment and a
//!   villager's application by touch, on the real LinuxKMS path.
//!
//! Prints every run and the medians. Usage: booth-vm-bench IMAGE_DIR OUT_DIR [RUNS]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use booth_tests::vm::BoothImage;
use booth_tests::vm::rig::{self, Rig};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(image), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: booth-vm-bench IMAGE_DIR OUT_DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let out = PathBuf::from(out);
    let (mut first_frames, mut restarts) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let dir = out.join(format!("run-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let mut rig = Rig::new(
            BoothImage {
                dir: PathBuf::from(image),
            },
            &dir,
        );
        let mut vm = rig.power_on(false);
        let first_frame = vm.first_frame.as_secs_f64();
        vm.wait_for_log("first provisioning", Duration::from_secs(120));
        if run == 1 {
            rig::technician_names_the_devices(
                &mut vm,
                &format!("0403:6001:{}", rig::SCANNER_SERIAL),
            );
            let (_, qr) = rig.enrollment();
            rig.scanner.scan(&qr).expect("scan");
            vm.wait_for_log("enrollment QR code scanned", Duration::from_secs(60));
            rig::technician_sets_the_pin_and_enrolls(&mut vm);
            rig::villager_applies(&rig, &mut vm, 0, rig::Materials::NoCamera);
            let status = vm.sh("grep -E 'VmRSS|RssAnon|RssFile|RssShmem' /proc/$(systemctl show -p MainPID --value booth-kiosk)/status");
            println!("run 1: the app's memory after enrollment and one application:\n{status}");
        }
        let pid = vm.kiosk_pid();
        let killed = Instant::now();
        vm.sh(&format!("kill -9 {pid}"));
        vm.wait_until_kiosk_back(pid, Duration::from_secs(180));
        let back = killed.elapsed().as_secs_f64();
        println!(
            "run {run}: first frame {first_frame:.1} s after power-on; kill -9 to ready again {back:.1} s"
        );
        first_frames.push(first_frame);
        restarts.push(back);
        vm.power_cut();
    }
    println!(
        "median of {runs}: first frame {:.1} s; kill -9 to ready {:.1} s",
        median(first_frames),
        median(restarts)
    );
}
