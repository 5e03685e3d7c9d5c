//! The document camera through the booth's real kernel: V4L2 against the kernel's virtual
//! camera `vivid` (a real /dev/video node streaming test patterns in YUYV), as the booth's own
//! user, through `kiosk hw camera`.

use std::time::Duration;

use booth_tests::vm::BoothVm;

/// A technician plugs in a camera (here: loads `vivid` with one capture node), lists it, and
/// captures a page as the booth's user; the page is a JPEG of the size the command reports.
pub fn a_technician_lists_the_camera_and_captures_a_page(vm: &mut BoothVm) {
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
