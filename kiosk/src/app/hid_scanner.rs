//! Keyboard-mode (USB HID) scanners in the booth app. A scanner whose port leads to an input
//! event node (`/dev/booth/scanner` → `/dev/input/event5`) types its codes as key presses: the
//! booth reads them through evdev (feature `evdev`) and grabs the node, so its keystrokes never
//! reach the touchscreen UI. Unplugged, the node vanishes; plugged in again, udev points the
//! same link at a new node, and the scanner is opened again by the link, as a serial one is.

use std::path::{Path, PathBuf};
#[cfg(feature = "evdev")]
use std::time::Duration;

/// What the scanner's port leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScannerNode {
    /// A serial or USB-CDC port: read with the serial scanner driver.
    Serial,
    /// An input event node: a keyboard-mode scanner.
    Keyboard,
}

/// A keyboard-mode scanner in a build that cannot read one.
#[derive(Debug, thiserror::Error)]
#[error(
    "scanner port {port} is a keyboard-mode (HID) scanner ({}), but this kiosk was built without HID scanner support: install a build with `--features evdev`, or switch the scanner to serial (USB-CDC) mode",
    .node.display()
)]
pub struct NoHidSupport {
    pub port: String,
    pub node: PathBuf,
}

/// Whether `node` (a path with its links resolved) is an input event node.
pub fn is_event_node(node: &Path) -> bool {
    node.parent() == Some(Path::new("/dev/input"))
        && node
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("event"))
}

/// What `port` leads to now; `None` while it does not exist (the scanner is unplugged).
pub fn scanner_node(port: &str) -> Result<Option<ScannerNode>, NoHidSupport> {
    let Ok(node) = std::fs::canonicalize(port) else {
        return Ok(None);
    };
    if !is_event_node(&node) {
        return Ok(Some(ScannerNode::Serial));
    }
    if cfg!(feature = "evdev") {
        Ok(Some(ScannerNode::Keyboard))
    } else {
        Err(NoHidSupport {
            port: port.to_owned(),
            node,
        })
    }
}

/// How often a missing keyboard-mode scanner is looked for, and an idle one checked.
#[cfg(feature = "evdev")]
const RECHECK: Duration = Duration::from_secs(1);

/// Reads the keyboard-mode scanner at `port` until `stop` says so (another port was chosen),
/// opening it again by `port` after it goes away; each code goes to `post`.
#[cfg(feature = "evdev")]
pub fn read_until(port: &str, stop: &dyn Fn() -> bool, post: &dyn Fn(String)) {
    use hardware::scanner::{HidConfig, HidError, HidScanner};

    let mut reported_open_error = false;
    while !stop() {
        let node = std::fs::canonicalize(port).ok();
        let mut scanner = match HidScanner::open(port, HidConfig::default()) {
            Ok(scanner) => scanner,
            Err(err) => {
                // Once per loss: an unplugged scanner is retried every second.
                if !std::mem::replace(&mut reported_open_error, true) {
                    tracing::warn!(%err, "keyboard-mode scanner unavailable: receipt numbers can still be typed");
                }
                std::thread::sleep(RECHECK);
                continue;
            }
        };
        reported_open_error = false;
        tracing::info!(%port, "scanner ready (keyboard mode, grabbed)");
        while !stop() {
            match scanner.next_code(RECHECK) {
                Ok(Some(code)) => post(code),
                Ok(None) => {
                    // A device that goes quiet instead of failing its reads: the link now
                    // leads elsewhere, or nowhere.
                    if std::fs::canonicalize(port).ok() != node {
                        tracing::warn!(%port, "scanner lost: its node changed");
                        break;
                    }
                }
                Err(err @ HidError::TooLong { .. }) => tracing::warn!(%err, "scan dropped"),
                Err(err) => {
                    tracing::warn!(%err, "scanner lost");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_input_event_nodes_are_keyboard_scanners() {
        assert!(is_event_node(Path::new("/dev/input/event5")));
        assert!(!is_event_node(Path::new("/dev/input/mouse0")));
        assert!(!is_event_node(Path::new(
            "/dev/input/by-id/usb-scanner-event-kbd"
        )));
        assert!(!is_event_node(Path::new("/dev/ttyACM0")));
        assert!(!is_event_node(Path::new("/tmp/input/event5")));
    }

    #[test]
    fn a_serial_port_is_serial_and_a_missing_one_is_nothing_yet() {
        let pty = hardware::transport::Pty::open().unwrap();
        let port = pty.path().to_str().unwrap();
        assert_eq!(scanner_node(port).unwrap(), Some(ScannerNode::Serial));
        assert_eq!(scanner_node("/nonexistent/booth/scanner").unwrap(), None);
    }

    #[cfg(not(feature = "evdev"))]
    #[test]
    fn without_evdev_a_keyboard_scanner_is_one_line_saying_so() {
        let err = NoHidSupport {
            port: "/dev/booth/scanner".into(),
            node: PathBuf::from("/dev/input/event5"),
        }
        .to_string();
        assert!(
            err.contains("/dev/booth/scanner")
                && err.contains("/dev/input/event5")
                && err.contains("--features evdev")
                && !err.contains('\n'),
            "{err}"
        );
    }
}
