//! Pseudo-terminal pairs: how emulators stand in for devices with real serial semantics.

use std::io;
use std::path::{Path, PathBuf};

use serialport::{SerialPort, TTYPort};

use super::SerialTransport;

/// The device side of a pseudo-terminal. The host opens [`Pty::path`] exactly as it would open
/// `/dev/ttyUSB0`; the emulator reads and writes [`Pty::device`].
#[derive(Debug)]
pub struct Pty {
    device: SerialTransport,
    path: PathBuf,
    // Held open so the master stays usable while no host has the port open: once every
    // slave descriptor closes, reads on the master fail.
    _slave: TTYPort,
    link: Option<PathBuf>,
}

impl Pty {
    /// Opens a fresh pseudo-terminal pair.
    pub fn open() -> io::Result<Self> {
        let (master, slave) = TTYPort::pair().map_err(io::Error::from)?;
        let path = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::other("pseudo-terminal has no slave name"))?;
        let device = SerialTransport::from_port(
            format!("emulator side of {}", path.display()),
            Box::new(master),
        );
        Ok(Self {
            device,
            path,
            _slave: slave,
            link: None,
        })
    }

    /// Also publishes the port under a stable name (like a udev `/dev/serial/by-id` link),
    /// replacing an older link; the link is removed when the pty is dropped.
    pub fn with_link(mut self, link: &Path) -> io::Result<Self> {
        match std::fs::remove_file(link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::os::unix::fs::symlink(&self.path, link)?;
        self.link = Some(link.to_owned());
        Ok(self)
    }

    /// The path a host opens, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stable link, if one was made.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// The emulator's end of the pair.
    pub fn device(&mut self) -> &mut SerialTransport {
        &mut self.device
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            // Only remove the link if it still points at us; a newer emulator may own it now.
            if std::fs::read_link(link).is_ok_and(|target| target == self.path) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::transport::Transport;

    #[test]
    fn a_host_opens_the_pty_like_a_serial_port() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyREADER");
        let mut pty = Pty::open().unwrap().with_link(&link).unwrap();
        let mut host = SerialTransport::open(link.to_str().unwrap(), 115_200).unwrap();
        host.send(&[0xAA, 0x55]).unwrap();
        let mut buf = [0u8; 4];
        let n = pty
            .device()
            .receive(&mut buf, Duration::from_secs(2))
            .unwrap();
        assert_eq!(&buf[..n], &[0xAA, 0x55]);
        pty.device().send(b"ok").unwrap();
        let n = host.receive(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(&buf[..n], b"ok");
        assert_eq!(
            host.receive(&mut buf, Duration::from_millis(20)).unwrap(),
            0,
            "silence reads as zero bytes"
        );
        drop(host);
        // The emulator stays usable for the next host after one disconnects.
        let mut again = SerialTransport::open(pty.path().to_str().unwrap(), 9600).unwrap();
        again.send(b"x").unwrap();
        assert_eq!(
            pty.device()
                .receive(&mut buf, Duration::from_secs(2))
                .unwrap(),
            1
        );
        drop(pty);
        assert!(
            !link.exists(),
            "the stable link goes away with the emulator"
        );
    }

    #[test]
    fn a_missing_port_names_itself_and_the_fix() {
        let err = SerialTransport::open("/dev/ttyUSB_nonexistent", 9600).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/dev/ttyUSB_nonexistent") && text.contains("kiosk hw list"),
            "{text}"
        );
    }
}
