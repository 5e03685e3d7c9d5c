//! USB printer-class thermal printers through the kernel's `usblp` driver (`/dev/usb/lp*`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{OpenError, Transport};

/// How often a read re-checks a `usblp` node; it has no poll-with-timeout of its own.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A `usblp` device node. Writes print; reads return status bytes on printers that send them.
#[derive(Debug)]
pub struct UsbLpTransport {
    name: String,
    file: File,
}

impl UsbLpTransport {
    /// Opens e.g. `/dev/usb/lp0` for reading and writing.
    pub fn open(path: &str) -> Result<Self, OpenError> {
        if !Path::new(path).exists() {
            return Err(OpenError::NotFound {
                path: path.to_owned(),
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            // Non-blocking so a printer that never answers a status request cannot hang us.
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                let source = serialport::Error::from(e);
                match source.kind() {
                    serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                        OpenError::PermissionDenied {
                            path: path.to_owned(),
                            group: super::serial::owning_group(path)
                                .unwrap_or_else(|| "lp".to_owned()),
                            source,
                        }
                    }
                    _ => OpenError::Other {
                        path: path.to_owned(),
                        source,
                    },
                }
            })?;
        Ok(Self {
            name: path.to_owned(),
            file,
        })
    }
}

impl Transport for UsbLpTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "printer accepted no bytes",
                    ));
                }
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(POLL_INTERVAL)
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.file.read(buf) {
                Ok(n) if n > 0 => return Ok(n),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn clear_input(&mut self) -> io::Result<()> {
        let mut scratch = [0u8; 64];
        while self.receive(&mut scratch, Duration::ZERO)? > 0 {}
        Ok(())
    }

    fn name(&self) -> &str {
        &self.name
    }
}
