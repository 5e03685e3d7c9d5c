//! The booth image in a virtual machine, driven like a real booth: the image's own kernel,
//! udev and systemd under QEMU (software emulation: KVM hangs Linux guests on this machine
//! kind), the host's device emulators plugged in as USB serial adapters, the screen read and
//! touched through QMP, a root shell on the second serial port, and one way out of the guest:
//! to the county server on the host's loopback.
//!
//! - [`qmp`]: QEMU's machine protocol (screen, touch, keys, USB plug and unplug).
//! - [`console`]: the guest's root shell (the test image's kernel command line only).
//! - [`screen`]: screendumps as pixels.
//!
//! The image comes from `scripts/booth-image/build`; `BOOTH_IMAGE` names its directory
//! (`./test` builds it and sets it).

pub mod console;
pub mod qmp;
pub mod releases;
pub mod rig;
pub mod screen;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

pub use console::Console;
pub use qmp::Qmp;
pub use screen::{Rect, Screen};

/// The panel the VM's display has: the booth's smaller portrait panel.
pub const DISPLAY: (u32, u32) = (800, 1280);
/// Where the county server is, seen from the guest: QEMU's user network forwards this one
/// address to the host's loopback and drops everything else (`restrict=on`).
pub const COUNTY_IN_GUEST: &str = "10.0.2.100:8080";

/// A built booth image: `booth.img`, `vmlinuz`, `initrd.img`, `manifest.txt`.
#[derive(Debug, Clone)]
pub struct BoothImage {
    pub dir: PathBuf,
}

impl BoothImage {
    /// The image named by `BOOTH_IMAGE`; fails the test with what to run when there is none.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("BOOTH_IMAGE").map(PathBuf::from).unwrap_or_else(|| {
            panic!("BOOTH_IMAGE is not set: run ./test (it builds the booth image), or scripts/booth-image/build and set BOOTH_IMAGE to the directory it prints")
        });
        for file in ["booth.img", "vmlinuz", "initrd.img"] {
            assert!(
                dir.join(file).is_file(),
                "{} has no {file}: rebuild it with scripts/booth-image/build",
                dir.display()
            );
        }
        Self { dir }
    }
}

/// One booth's disk: a copy-on-write layer over the image, kept across power cuts and boots.
#[derive(Debug)]
pub struct Disk {
    pub path: PathBuf,
}

impl Disk {
    /// A fresh booth written from `image`, as a technician's first boot finds it.
    pub fn fresh(image: &BoothImage, dir: &Path) -> Self {
        let path = dir.join("booth.qcow2");
        let status = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(image.dir.join("booth.img"))
            .arg(&path)
            .status()
            .expect("run qemu-img (Debian package qemu-utils)");
        assert!(
            status.success(),
            "qemu-img create failed for {}",
            path.display()
        );
        Self { path }
    }
}

/// A USB serial adapter plugged into the booth, its other end a host emulator's pty.
#[derive(Debug, Clone)]
pub struct UsbSerial {
    /// The QEMU device id (for unplugging).
    pub id: String,
    /// The adapter's USB serial number, which the booth config's `usb_ids` can name.
    pub serial: String,
    /// The host pty the emulator serves.
    pub pty: PathBuf,
}

impl UsbSerial {
    fn chardev(&self) -> String {
        format!("serial,id=c-{},path={}", self.id, self.pty.display())
    }

    fn device(&self) -> String {
        format!(
            "usb-serial,id={},chardev=c-{},serial={},bus=xhci.0",
            self.id, self.id, self.serial
        )
    }
}

/// How a VM starts.
#[derive(Debug, Clone)]
pub struct Boot {
    pub usb_serials: Vec<UsbSerial>,
    /// The county server's port on the host's loopback.
    pub county_port: u16,
    /// Plug QEMU's USB keyboard in (id `hid-scanner`): a keyboard-mode scanner.
    pub hid_keyboard: bool,
    /// Show the display in a QEMU window (a desktop and qemu-system-gui) instead of none.
    pub window: bool,
    /// A second, read-only disk of test tools ([`tools_disk`]), mounted by
    /// [`BoothVm::attach_tools`].
    pub tools_disk: Option<PathBuf>,
    /// Return only once the booth app has drawn (`first_frame`); otherwise once the console
    /// answers (`first_frame` is then zero).
    pub wait_for_ui: bool,
}

/// Builds the test tools' disk in `dir`: `freeze-thread` (tests/vm-tools), compiled statically
/// on the host, and `files` (packages to install), on an ext4 file system labelled booth-tools.
pub fn tools_disk(dir: &Path, files: &[PathBuf]) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).expect("tools directory");
    for file in files {
        std::fs::copy(file, tools.join(file.file_name().expect("file name")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
    }
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/vm-tools/freeze-thread.c");
    let status = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(tools.join("freeze-thread"))
        .arg(source)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc could not build {source}");
    let image = dir.join("tools.ext4");
    let _ = std::fs::remove_file(&image);
    let status = Command::new("mke2fs")
        .args(["-q", "-t", "ext4", "-L", "booth-tools", "-d"])
        .arg(&tools)
        .arg(&image)
        .arg("128M")
        .status()
        .expect("run mke2fs");
    assert!(
        status.success(),
        "mke2fs could not make {}",
        image.display()
    );
    image
}

/// A running booth VM. Dropping it pulls the plug.
#[derive(Debug)]
pub struct BoothVm {
    pub dir: PathBuf,
    qemu: Child,
    pub qmp: Qmp,
    pub console: Console,
    pub started: Instant,
    /// From QEMU's start to the booth app's first frame on the display.
    pub first_frame: Duration,
    shots: u32,
}

impl BoothVm {
    /// Powers the booth on: boots the image's kernel directly (the boot loader is for real
    /// PCs; `uefi_boot_finds_the_booth` covers it) with the test console on ttyS1.
    pub fn boot(image: &BoothImage, disk: &Disk, dir: &Path, boot: &Boot) -> Self {
        std::fs::create_dir_all(dir).expect("VM directory");
        for socket in ["qmp.sock", "shell.sock"] {
            let _ = std::fs::remove_file(dir.join(socket));
        }
        let mut args: Vec<String> = vec![
            "-accel".into(),
            "tcg".into(),
            "-cpu".into(),
            "max".into(),
            "-m".into(),
            "1024".into(),
            "-smp".into(),
            "2".into(),
            "-kernel".into(),
            image.dir.join("vmlinuz").display().to_string(),
            "-initrd".into(),
            image.dir.join("initrd.img").display().to_string(),
            "-append".into(),
            "root=LABEL=booth-root-a rw console=ttyS0 loglevel=4 booth.test_console".into(),
            "-drive".into(),
            format!("file={},format=qcow2,if=virtio", disk.path.display()),
            "-device".into(),
            format!(
                "virtio-gpu-pci,id=panel,xres={},yres={}",
                DISPLAY.0, DISPLAY.1
            ),
            // Only the virtio GPU: the default VGA card would be the first DRM device.
            "-vga".into(),
            "none".into(),
            "-display".into(),
            if boot.window {
                "gtk,zoom-to-fit=on"
            } else {
                "none"
            }
            .into(),
            "-device".into(),
            "qemu-xhci,id=xhci".into(),
            "-device".into(),
            "usb-tablet,id=touch,bus=xhci.0".into(),
            "-serial".into(),
            format!("file:{}", dir.join("console.log").display()),
            "-serial".into(),
            format!(
                "unix:{},server=on,wait=off",
                dir.join("shell.sock").display()
            ),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", dir.join("qmp.sock").display()),
            "-netdev".into(),
            format!(
                "user,id=net0,restrict=on,guestfwd=tcp:{COUNTY_IN_GUEST}-cmd:socat - TCP:127.0.0.1:{}",
                boot.county_port
            ),
            "-device".into(),
            "virtio-net-pci,netdev=net0".into(),
            "-no-reboot".into(),
        ];
        for usb in &boot.usb_serials {
            args.extend([
                "-chardev".into(),
                usb.chardev(),
                "-device".into(),
                usb.device(),
            ]);
        }
        if let Some(tools) = &boot.tools_disk {
            args.extend([
                "-drive".into(),
                format!("file={},format=raw,if=virtio,readonly=on", tools.display()),
            ]);
        }
        if boot.hid_keyboard {
            args.extend([
                "-device".into(),
                // Bound to the panel's console, so QMP can type on this keyboard by its id.
                "usb-kbd,id=hid-scanner,bus=xhci.0,serial=BOOTH-HID,display=panel".into(),
            ]);
        }
        let log = std::fs::File::create(dir.join("qemu.log")).expect("qemu log");
        let started = Instant::now();
        let qemu = Command::new("qemu-system-x86_64")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run qemu-system-x86_64 (Debian package qemu-system-x86)");
        let mut qmp = Qmp::connect(&dir.join("qmp.sock"), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}", read(&dir.join("qemu.log"))));
        let first_frame = if boot.wait_for_ui {
            wait_for_booth_ui(&mut qmp, dir, started).unwrap_or_else(|e| {
                panic!("{e}\nboot log:\n{}", tail(&dir.join("console.log"), 80))
            })
        } else {
            Duration::ZERO
        };
        let console = Console::connect(&dir.join("shell.sock"), Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("{e}\nboot log:\n{}", tail(&dir.join("console.log"), 80)));
        Self {
            dir: dir.to_owned(),
            qemu,
            qmp,
            console,
            started,
            first_frame,
            shots: 0,
        }
    }

    /// Pulls the plug: QEMU is killed, whatever the guest had not written to its disk is gone.
    pub fn power_cut(mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }

    /// Shuts the guest down cleanly.
    pub fn power_off(mut self) {
        let _ = self
            .console
            .run("systemctl poweroff", Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.qemu.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }

    /// The display now, saved as `screen-NN-name.png` in the VM's directory.
    pub fn screen(&mut self, name: &str) -> Screen {
        self.shots += 1;
        let path = self
            .dir
            .join(format!("screen-{:02}-{name}.png", self.shots));
        self.qmp.screendump(&path).unwrap_or_else(|e| panic!("{e}"));
        Screen::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the display shows what `check` looks for (the booth's UI draws at its own
    /// pace under emulation), looking twice a second; returns that look, and keeps the last
    /// one as `peek.png`.
    pub fn wait_for_screen(
        &mut self,
        what: &str,
        limit: Duration,
        check: impl Fn(&Screen) -> bool,
    ) -> Screen {
        let path = self.dir.join("peek.png");
        let deadline = Instant::now() + limit;
        loop {
            self.qmp.screendump(&path).unwrap_or_else(|e| panic!("{e}"));
            let screen = Screen::load(&path).unwrap_or_else(|e| panic!("{e}"));
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; the last look is {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A tap at (x, y) on the panel.
    pub fn tap(&mut self, at: (u32, u32)) {
        self.qmp.tap(at, DISPLAY).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs a shell command in the guest, which must succeed.
    pub fn sh(&mut self, command: &str) -> String {
        self.console.ok(command)
    }

    /// Runs a shell command in the guest and returns its status and output; `limit` bounds a
    /// command slower than `sh` allows (emulated CPUs are slow).
    pub fn sh_status(&mut self, command: &str, limit: Duration) -> (i32, String) {
        let out = self
            .console
            .run(command, limit)
            .unwrap_or_else(|e| panic!("{e}"));
        (out.status, out.text)
    }

    /// The booth app's process id (0 while it does not run).
    pub fn kiosk_pid(&mut self) -> u32 {
        self.sh("systemctl show -p MainPID --value booth-kiosk")
            .trim()
            .parse()
            .expect("MainPID")
    }

    /// Waits until the booth app is up again under a process other than `old` (READY=1 sent:
    /// systemd says active), and returns how long that took.
    pub fn wait_until_kiosk_back(&mut self, old: u32, limit: Duration) -> Duration {
        let since = Instant::now();
        self.wait_for_sh(
            "echo $(systemctl show -p MainPID --value booth-kiosk) $(systemctl is-active booth-kiosk)",
            limit,
            "systemd brings the booth app back",
            |out| {
                let mut words = out.split_whitespace();
                let pid: u32 = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                pid != 0 && pid != old && words.next() == Some("active")
            },
        );
        since.elapsed()
    }

    /// The booth app's log since boot.
    pub fn kiosk_log(&mut self) -> String {
        self.sh("journalctl -b -u booth-kiosk --no-pager -o cat | tail -n 400")
    }

    /// Waits until the booth app's log since boot contains `text`.
    pub fn wait_for_log(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.kiosk_log();
            if log.contains(text) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "the booth app did not log {text:?} within {limit:?}; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Waits until `check` holds in the guest's shell output of `command`.
    pub fn wait_for_sh(
        &mut self,
        command: &str,
        limit: Duration,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let out = self
                .console
                .run(command, Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{e}"));
            if check(&out.text) {
                return out.text;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; `{command}` printed:\n{}",
                out.text
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Mounts the test tools' disk at /mnt/tools.
    pub fn attach_tools(&mut self) {
        self.sh("mkdir -p /mnt/tools && (mountpoint -q /mnt/tools || mount -o ro LABEL=booth-tools /mnt/tools)");
    }

    /// Unplugs the USB device `id`, as pulling its cable does.
    pub fn unplug(&mut self, id: &str) {
        self.qmp
            .execute("device_del", json!({ "id": id }))
            .unwrap_or_else(|e| panic!("{e}"));
        self.qmp
            .wait_event("DEVICE_DELETED", Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Plugs `usb` back in (its chardev stays open while it is out).
    pub fn plug(&mut self, usb: &UsbSerial) {
        self.qmp
            .execute(
                "device_add",
                json!({ "driver": "usb-serial", "id": usb.id, "chardev": format!("c-{}", usb.id), "serial": usb.serial, "bus": "xhci.0" }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Everything worth reading when a VM test fails.
    pub fn report(&mut self) -> String {
        let journal = self
            .console
            .run(
                "journalctl -b --no-pager -o short-monotonic | tail -n 150",
                Duration::from_secs(60),
            )
            .map(|o| o.text)
            .unwrap_or_else(|e| e);
        format!(
            "--- QEMU ---\n{}\n--- boot console (tail) ---\n{}\n--- journal (tail) ---\n{journal}\n--- VM files: {} ---",
            read(&self.dir.join("qemu.log")),
            tail(&self.dir.join("console.log"), 60),
            self.dir.display()
        )
    }
}

/// The booth booted as a PC boots it: UEFI firmware (OVMF), the image's EFI partition, GRUB,
/// the kernel from root A; no test console (the boot loader's command line has none).
#[derive(Debug)]
pub struct PcBoot {
    qemu: Child,
    pub qmp: Qmp,
    /// From QEMU's start to the booth app's first frame.
    pub first_frame: Duration,
}

impl PcBoot {
    pub fn power_on(disk: &Disk, dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("VM directory");
        let _ = std::fs::remove_file(dir.join("qmp.sock"));
        let vars = dir.join("OVMF_VARS.fd");
        std::fs::copy("/usr/share/OVMF/OVMF_VARS_4M.fd", &vars)
            .expect("OVMF's variable store (Debian package ovmf)");
        let log = std::fs::File::create(dir.join("qemu.log")).expect("qemu log");
        let started = Instant::now();
        let qemu = Command::new("qemu-system-x86_64")
            .args([
                "-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "2", "-machine", "q35",
            ])
            .args([
                "-drive",
                "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
            ])
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", vars.display()))
            .arg("-drive")
            .arg(format!(
                "file={},format=qcow2,if=virtio",
                disk.path.display()
            ))
            .args(["-vga", "none", "-display", "none", "-nic", "none"])
            .arg("-device")
            .arg(format!(
                "virtio-gpu-pci,xres={},yres={}",
                DISPLAY.0, DISPLAY.1
            ))
            .arg("-serial")
            .arg(format!("file:{}", dir.join("console.log").display()))
            .arg("-qmp")
            .arg(format!(
                "unix:{},server=on,wait=off",
                dir.join("qmp.sock").display()
            ))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run qemu-system-x86_64");
        let mut qmp = Qmp::connect(&dir.join("qmp.sock"), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}", read(&dir.join("qemu.log"))));
        let first_frame = wait_for_booth_ui(&mut qmp, dir, started)
            .unwrap_or_else(|e| panic!("{e}\nQEMU:\n{}", read(&dir.join("qemu.log"))));
        Self {
            qemu,
            qmp,
            first_frame,
        }
    }
}

impl Drop for PcBoot {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

impl Drop for BoothVm {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

/// Polls the display until the booth app has drawn on it (its header's colour at the top
/// left, its page background below); the boot console's text is neither.
fn wait_for_booth_ui(qmp: &mut Qmp, dir: &Path, started: Instant) -> Result<Duration, String> {
    let path = dir.join("first-frame.png");
    let limit = Duration::from_secs(300);
    loop {
        if qmp.screendump(&path).is_ok()
            && let Ok(screen) = Screen::load(&path)
            && screen.is_booth_ui()
        {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "the booth app drew nothing on the display within {limit:?} (last screen: {})",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
