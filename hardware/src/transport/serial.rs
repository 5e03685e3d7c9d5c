//! Serial ports (RS-232, USB-serial bridges, USB-CDC, pseudo-terminals) through `serialport`.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use serialport::{ClearBuffer, SerialPort};

use super::Transport;

/// Why a serial port could not be opened. Each message names the port and what to check.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("serial port {path} does not exist: check the cable and run `kiosk hw list`")]
    NotFound { path: String },
    #[error(
        "permission denied on {path}: add this user to group `{group}` (usermod -aG {group} $USER) and log in again"
    )]
    PermissionDenied {
        path: String,
        group: String,
        source: serialport::Error,
    },
    #[error("serial port {path} is in use by another program: stop it (fuser -v {path}) and retry")]
    Busy {
        path: String,
        source: serialport::Error,
    },
    #[error("cannot open serial port {path}: {source}")]
    Other {
        path: String,
        source: serialport::Error,
    },
}

/// A serial port opened 8N1 without flow control, the framing every booth device uses.
pub struct SerialTransport {
    name: String,
    port: Box<dyn SerialPort>,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialTransport")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SerialTransport {
    /// Opens `path` exclusively at `baud`.
    pub fn open(path: &str, baud: u32) -> Result<Self, OpenError> {
        // Checked first because serialport reports a missing node in several different ways.
        if !Path::new(path).exists() {
            return Err(OpenError::NotFound {
                path: path.to_owned(),
            });
        }
        let port = serialport::new(path, baud)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|source| classify_open_error(path, source))?;
        Ok(Self {
            name: path.to_owned(),
            port,
        })
    }

    /// Wraps a port opened elsewhere, e.g. the master end of a pseudo-terminal.
    pub fn from_port(name: impl Into<String>, port: Box<dyn SerialPort>) -> Self {
        Self {
            name: name.into(),
            port,
        }
    }
}

fn classify_open_error(path: &str, source: serialport::Error) -> OpenError {
    let path = path.to_owned();
    match source.kind() {
        serialport::ErrorKind::Io(io::ErrorKind::NotFound) => OpenError::NotFound { path },
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            let group = owning_group(&path).unwrap_or_else(|| "dialout".to_owned());
            OpenError::PermissionDenied {
                path,
                group,
                source,
            }
        }
        // EBUSY from TIOCEXCL maps to NoDevice; a held flock comes back as this message.
        serialport::ErrorKind::NoDevice => OpenError::Busy { path, source },
        _ if source.description.contains("exclusive lock") => OpenError::Busy { path, source },
        _ => OpenError::Other { path, source },
    }
}

/// The group that owns a device node (`dialout` for ttyUSB on Debian, `lp` for usblp).
pub(crate) fn owning_group(path: &str) -> Option<String> {
    let gid = std::fs::metadata(path).ok()?.gid();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.parse().ok()?;
        (id == gid).then(|| name.to_owned())
    })
}

impl Transport for SerialTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.port.set_timeout(timeout).map_err(io::Error::from)?;
        match self.port.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "serial port closed",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn clear_input(&mut self) -> io::Result<()> {
        self.port.clear(ClearBuffer::Input).map_err(io::Error::from)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Pty;

    #[test]
    fn permission_denied_names_the_group_to_join() {
        // Tests run as root on CI, so the kernel's EACCES is stood in for by its mapped error.
        let source = serialport::Error::new(
            serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied),
            "Permission denied",
        );
        let err = classify_open_error("/dev/ttyUSB0", source);
        let text = err.to_string();
        assert!(matches!(err, OpenError::PermissionDenied { .. }), "{err:?}");
        assert!(
            text.contains("/dev/ttyUSB0") && text.contains("usermod -aG"),
            "{text}"
        );
    }

    #[test]
    fn a_port_held_by_another_program_is_reported_as_busy() {
        let pty = Pty::open().unwrap();
        let path = pty.path().to_str().unwrap().to_owned();
        let _first = SerialTransport::open(&path, 9600).unwrap();
        let err = SerialTransport::open(&path, 9600).unwrap_err();
        assert!(matches!(err, OpenError::Busy { .. }), "{err:?}");
        assert!(
            err.to_string().contains("in use by another program"),
            "{err}"
        );
    }

    #[test]
    fn the_owning_group_of_a_device_node_is_found() {
        // /dev/null is owned by root's group on every Linux; the lookup must read /etc/group.
        assert_eq!(owning_group("/dev/null").as_deref(), Some("root"));
        assert_eq!(owning_group("/nonexistent"), None);
    }
}
