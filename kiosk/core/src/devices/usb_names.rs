//! Which of the booth's devices a USB device is, from the USB ids each device section of the
//! booth config lists (`usb_ids`): what `kiosk udev-name` tells udev, so the device gets its
//! stable name (`/dev/booth/id-reader`, `/dev/booth/printer`, `/dev/booth/scanner`) whichever
//! socket it is plugged into. The ids are data, so a booth with another reader model needs a
//! config change, not a new build.
//!
//! The most specific entry wins: `VID:PID:SERIAL` beats `VID:PID`, which is how two devices
//! behind the same bridge chip (a CH340 in both the reader and the printer) are told apart.

use std::fmt;
use std::str::FromStr;

/// One entry of a device's `usb_ids`: `"1a86:7523"` or `"1a86:7523:A10K3XJ2"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbIdPattern {
    pub vid: u16,
    pub pid: u16,
    /// The device's serial number (udev's `ID_SERIAL_SHORT`); `None` matches any.
    pub serial: Option<String>,
}

/// An entry of `usb_ids` that is not a USB id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a USB id: write \"VID:PID\" or \"VID:PID:SERIAL\" with hex ids, e.g. \"1a86:7523\" (see `kiosk hw list`)"
)]
pub struct UsbIdError(String);

impl FromStr for UsbIdPattern {
    type Err = UsbIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || UsbIdError(text.to_owned());
        let mut parts = text.splitn(3, ':');
        let vid = parts.next().and_then(hex_id).ok_or_else(bad)?;
        let pid = parts.next().and_then(hex_id).ok_or_else(bad)?;
        let serial = match parts.next() {
            None => None,
            Some(serial) if !serial.is_empty() => Some(serial.to_owned()),
            Some(_) => return Err(bad()),
        };
        Ok(Self { vid, pid, serial })
    }
}

impl fmt::Display for UsbIdPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(serial) = &self.serial {
            write!(f, ":{serial}")?;
        }
        Ok(())
    }
}

/// A USB vendor or product id as udev and `lsusb` write it: up to four hex digits.
pub fn hex_id(text: &str) -> Option<u16> {
    let text = text.trim();
    if text.is_empty() || text.len() > 4 {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

/// A booth device, as udev names it under `/dev/booth/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    IdReader,
    Printer,
    Scanner,
    Camera,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::IdReader, Role::Printer, Role::Scanner, Role::Camera];

    /// The name under `/dev/booth/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdReader => "id-reader",
            Self::Printer => "printer",
            Self::Scanner => "scanner",
            Self::Camera => "camera",
        }
    }

    /// The booth config's section for this device.
    pub fn config_section(self) -> &'static str {
        match self {
            Self::IdReader => "[devices.id_card]",
            Self::Printer => "[devices.printer]",
            Self::Scanner => "[devices.scanner]",
            Self::Camera => "[devices.camera]",
        }
    }

    /// Whether the booth opens this device through a node of `kind`: the reader is serial
    /// only; a printer may be serial or `usblp`; a scanner serial or a keyboard (HID); the
    /// camera a V4L2 capture node only.
    pub fn uses(self, kind: NodeKind) -> bool {
        matches!(
            (self, kind),
            (
                Self::IdReader | Self::Printer | Self::Scanner,
                NodeKind::Tty
            ) | (Self::Printer, NodeKind::UsbLp)
                | (Self::Scanner, NodeKind::InputEvent)
                | (Self::Camera, NodeKind::Video)
        )
    }
}

/// The kind of device node udev is naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A serial port (`ttyUSB*`, `ttyACM*`).
    Tty,
    /// An input event node (`/dev/input/event*`); never the `mouse*`/`js*` nodes beside it.
    InputEvent,
    /// A USB printer class node (`/dev/usb/lp*`).
    UsbLp,
    /// A V4L2 node (`/dev/video*`); the udev rule passes only a camera's first, the capture
    /// node (a UVC camera's second node carries metadata).
    Video,
}

impl NodeKind {
    /// The kind of node from udev's `SUBSYSTEM` and `DEVNAME`; `None` for nodes the booth never
    /// opens (an input device's parent, `hiddev`, a mouse node).
    pub fn of(subsystem: &str, devname: &str) -> Option<Self> {
        let file = devname.rsplit('/').next().unwrap_or(devname);
        match subsystem {
            "tty" if !devname.is_empty() => Some(Self::Tty),
            "input" if file.starts_with("event") => Some(Self::InputEvent),
            "usbmisc" if file.starts_with("lp") => Some(Self::UsbLp),
            "video4linux" if file.starts_with("video") => Some(Self::Video),
            _ => None,
        }
    }
}

/// The USB device behind the node, as udev describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbDevice<'a> {
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<&'a str>,
}

impl fmt::Display for UsbDevice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(serial) = self.serial {
            write!(f, " (serial {serial})")?;
        }
        Ok(())
    }
}

/// Two devices of the config claim the same USB device equally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "USB device {device} matches {} and {} equally, so it gets no /dev/booth name: add its serial number as \"VID:PID:SERIAL\" (udevadm info shows ID_SERIAL_SHORT) to the section of the device it is, or remove the id from the other",
    .first.config_section(), .second.config_section()
)]
pub struct Ambiguous {
    pub device: String,
    pub first: Role,
    pub second: Role,
}

/// How well `pattern` matches `device`: 2 with its serial, 1 by ids alone, `None` not at all.
fn specificity(pattern: &UsbIdPattern, device: &UsbDevice<'_>) -> Option<u8> {
    if (pattern.vid, pattern.pid) != (device.vid, device.pid) {
        return None;
    }
    match &pattern.serial {
        None => Some(1),
        Some(serial) if device.serial == Some(serial.as_str()) => Some(2),
        Some(_) => None,
    }
}

/// The role whose `usb_ids` match `device` on a node of `kind` most specifically; `Ok(None)`
/// when none does; an error when two roles tie for the best match.
pub fn name_for(
    device: &UsbDevice<'_>,
    kind: NodeKind,
    ids: &[(Role, &[UsbIdPattern])],
) -> Result<Option<Role>, Ambiguous> {
    let mut best: Vec<(u8, Role)> = ids
        .iter()
        .filter(|(role, _)| role.uses(kind))
        .filter_map(|(role, patterns)| {
            // A booth has one document camera, and only it opens video nodes: a camera
            // section without ids takes whichever USB camera is plugged in.
            if patterns.is_empty() && *role == Role::Camera {
                return Some((0, *role));
            }
            let score = patterns
                .iter()
                .filter_map(|p| specificity(p, device))
                .max()?;
            Some((score, *role))
        })
        .collect();
    best.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    match best.as_slice() {
        [] => Ok(None),
        [(top, first), (next, second), ..] if top == next => Err(Ambiguous {
            device: device.to_string(),
            first: *first,
            second: *second,
        }),
        [(_, role), ..] => Ok(Some(*role)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<UsbIdPattern> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn device(vid: u16, pid: u16, serial: Option<&str>) -> UsbDevice<'_> {
        UsbDevice { vid, pid, serial }
    }

    #[test]
    fn ids_parse_in_either_case_with_an_optional_serial() {
        assert_eq!(
            "1A86:7523".parse::<UsbIdPattern>().unwrap(),
            UsbIdPattern {
                vid: 0x1a86,
                pid: 0x7523,
                serial: None
            }
        );
        let with_serial: UsbIdPattern = "0403:6001:A10K3XJ2".parse().unwrap();
        assert_eq!(with_serial.serial.as_deref(), Some("A10K3XJ2"));
        assert_eq!(with_serial.to_string(), "0403:6001:A10K3XJ2");
        for bad in [
            "",
            "1a86",
            "1a86:",
            "1a86:7523:",
            "usb:1a86:7523",
            "12345:1",
            "xyz:0001",
        ] {
            let err = bad.parse::<UsbIdPattern>().unwrap_err().to_string();
            assert!(
                err.contains(&format!("`{bad}`")) && err.contains("VID:PID"),
                "{err}"
            );
        }
    }

    #[test]
    fn node_kinds_come_from_the_subsystem_and_the_node_name() {
        assert_eq!(NodeKind::of("tty", "/dev/ttyUSB0"), Some(NodeKind::Tty));
        assert_eq!(
            NodeKind::of("input", "/dev/input/event7"),
            Some(NodeKind::InputEvent)
        );
        assert_eq!(NodeKind::of("input", "/dev/input/mouse0"), None);
        assert_eq!(NodeKind::of("input", ""), None, "the input device's parent");
        assert_eq!(
            NodeKind::of("usbmisc", "/dev/usb/lp0"),
            Some(NodeKind::UsbLp)
        );
        assert_eq!(NodeKind::of("usbmisc", "/dev/usb/hiddev0"), None);
        assert_eq!(NodeKind::of("usb", "/dev/bus/usb/001/004"), None);
        assert_eq!(
            NodeKind::of("video4linux", "/dev/video0"),
            Some(NodeKind::Video)
        );
        assert_eq!(NodeKind::of("video4linux", "/dev/v4l-subdev0"), None);
    }

    #[test]
    fn each_role_is_named_only_on_the_nodes_it_opens() {
        let reader = ids(&["0400:c35a"]);
        let printer = ids(&["0416:5011"]);
        let scanner = ids(&["0c2e:0b61"]);
        let camera = ids(&["0ac8:3420"]);
        let table: [(Role, &[UsbIdPattern]); 4] = [
            (Role::IdReader, &reader),
            (Role::Printer, &printer),
            (Role::Scanner, &scanner),
            (Role::Camera, &camera),
        ];
        let name = |vid, pid, kind| name_for(&device(vid, pid, None), kind, &table).unwrap();
        assert_eq!(name(0x0400, 0xc35a, NodeKind::Tty), Some(Role::IdReader));
        assert_eq!(name(0x0400, 0xc35a, NodeKind::InputEvent), None);
        assert_eq!(name(0x0400, 0xc35a, NodeKind::UsbLp), None);
        assert_eq!(name(0x0416, 0x5011, NodeKind::UsbLp), Some(Role::Printer));
        assert_eq!(name(0x0416, 0x5011, NodeKind::Tty), Some(Role::Printer));
        assert_eq!(name(0x0416, 0x5011, NodeKind::InputEvent), None);
        assert_eq!(
            name(0x0c2e, 0x0b61, NodeKind::InputEvent),
            Some(Role::Scanner)
        );
        assert_eq!(name(0x0c2e, 0x0b61, NodeKind::Tty), Some(Role::Scanner));
        assert_eq!(name(0x0c2e, 0x0b61, NodeKind::UsbLp), None);
        assert_eq!(name(0x0ac8, 0x3420, NodeKind::Video), Some(Role::Camera));
        assert_eq!(name(0x0ac8, 0x3420, NodeKind::Tty), None);
        assert_eq!(name(0x0416, 0x5011, NodeKind::Video), None);
        let any_camera: [(Role, &[UsbIdPattern]); 2] =
            [(Role::Printer, &printer), (Role::Camera, &[])];
        let any = |kind| name_for(&device(0x0c45, 0x6366, None), kind, &any_camera).unwrap();
        assert_eq!(any(NodeKind::Video), Some(Role::Camera), "any camera");
        assert_eq!(any(NodeKind::Tty), None);
        assert_eq!(
            name(0x1d6b, 0x0002, NodeKind::Tty),
            None,
            "not a booth device"
        );
    }

    #[test]
    fn a_serial_beats_a_bare_id_and_a_tie_is_refused() {
        let reader = ids(&["1a86:7523", "10c4:ea60"]);
        let printer = ids(&["1a86:7523:PRN001", "10c4:ea60"]);
        let table: [(Role, &[UsbIdPattern]); 2] =
            [(Role::IdReader, &reader), (Role::Printer, &printer)];
        let name = |vid, pid, serial| name_for(&device(vid, pid, serial), NodeKind::Tty, &table);
        assert_eq!(
            name(0x1a86, 0x7523, Some("PRN001")),
            Ok(Some(Role::Printer))
        );
        assert_eq!(
            name(0x1a86, 0x7523, Some("OTHER")),
            Ok(Some(Role::IdReader))
        );
        assert_eq!(name(0x1a86, 0x7523, None), Ok(Some(Role::IdReader)));
        let tie = name(0x10c4, 0xea60, None).unwrap_err();
        assert_eq!((tie.first, tie.second), (Role::IdReader, Role::Printer));
        let text = tie.to_string();
        assert!(
            text.contains("10c4:ea60")
                && text.contains("[devices.id_card]")
                && text.contains("[devices.printer]")
                && text.contains("VID:PID:SERIAL")
                && !text.contains('\n'),
            "{text}"
        );
    }

    #[test]
    fn a_role_that_cannot_use_the_node_does_not_tie() {
        // A CH340 listed for the reader and the scanner: on an input node only the scanner
        // can be meant.
        let reader = ids(&["1a86:7523"]);
        let scanner = ids(&["1a86:7523"]);
        let table: [(Role, &[UsbIdPattern]); 2] =
            [(Role::IdReader, &reader), (Role::Scanner, &scanner)];
        let on = |kind| name_for(&device(0x1a86, 0x7523, None), kind, &table);
        assert_eq!(on(NodeKind::InputEvent), Ok(Some(Role::Scanner)));
        assert!(on(NodeKind::Tty).is_err());
    }
}
