//! The systemd notify protocol (sd_notify(3)), the few lines of it our services use: `READY=1`,
//! `STATUS=…`, `WATCHDOG=1` and `STOPPING=1`, sent as one datagram to the socket systemd names
//! in `$NOTIFY_SOCKET`, and the watchdog's interval from `$WATCHDOG_USEC` / `$WATCHDOG_PID`.
//!
//! Written here rather than taken from a crate because it is a datagram of text on a Unix
//! socket: std has everything, including abstract socket names (`@…`), and owning it lets both
//! binaries build the notifier from explicit values in tests (setting the environment of a
//! running test process is unsound).
//!
//! Without `$NOTIFY_SOCKET` (started by hand, or not as `Type=notify`) there is no notifier and
//! nothing is sent.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The socket systemd listens on for this service's notifications.
pub const SOCKET_ENV: &str = "NOTIFY_SOCKET";
/// The watchdog's timeout in microseconds, when the unit sets `WatchdogSec=`.
pub const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
/// The process the watchdog is meant for; absent means the main process.
pub const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

/// Why a notification could not be prepared or sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(
        "NOTIFY_SOCKET={0:?} is not a socket this program can notify: only a path (/run/systemd/notify) or an abstract name (@…) is supported"
    )]
    Unsupported(String),
    #[error("cannot open a socket to notify systemd at {socket}: {source}")]
    Socket {
        socket: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot notify systemd at {socket}: {source}: check that the service runs with Type=notify and NotifyAccess=main"
    )]
    Send {
        socket: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "WATCHDOG_USEC={0:?} is not a number of microseconds: set WatchdogSec= in the unit, not the variable"
    )]
    Watchdog(String),
}

/// One line of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State<'a> {
    /// Start-up is finished: systemd starts the units ordered after this one.
    Ready,
    /// A clean stop has begun.
    Stopping,
    /// The service is alive; systemd restarts it when these stop for `WatchdogSec=`.
    Watchdog,
    /// One line `systemctl status` shows; line breaks become spaces.
    Status(&'a str),
}

impl State<'_> {
    fn line(&self) -> String {
        match self {
            Self::Ready => "READY=1".to_owned(),
            Self::Stopping => "STOPPING=1".to_owned(),
            Self::Watchdog => "WATCHDOG=1".to_owned(),
            // A line break would end the assignment and start another one.
            Self::Status(text) => format!("STATUS={}", text.replace(['\n', '\r'], " ")),
        }
    }
}

/// The assignments of one notification, one per line, as sd_notify(3) sends them.
pub fn message(states: &[State<'_>]) -> String {
    states
        .iter()
        .map(State::line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A socket to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
    name: String,
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` asks for, or `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>, NotifyError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`from_env`](Self::from_env) over `var` instead of the process environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Option<Self>, NotifyError> {
        match var(SOCKET_ENV) {
            Some(address) if !address.is_empty() => Self::connect(&address).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for `address`: a socket path, or `@name` for an abstract socket.
    pub fn connect(address: &OsStr) -> Result<Self, NotifyError> {
        let name = address.to_string_lossy().into_owned();
        let bytes = address.as_bytes();
        let socket_error = |source| NotifyError::Socket {
            socket: name.clone(),
            source,
        };
        let address = match bytes.first() {
            Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..]).map_err(socket_error)?,
            Some(b'/') => SocketAddr::from_pathname(address).map_err(socket_error)?,
            _ => return Err(NotifyError::Unsupported(name)),
        };
        let socket = UnixDatagram::unbound().map_err(socket_error)?;
        // A notification must never hold up its sender (the booth's UI thread feeds the
        // watchdog): when systemd's queue is full, the send fails instead of waiting.
        socket.set_nonblocking(true).map_err(socket_error)?;
        Ok(Self {
            socket,
            address,
            name,
        })
    }

    /// The socket notifications go to, as `$NOTIFY_SOCKET` named it.
    pub fn socket_name(&self) -> &str {
        &self.name
    }

    /// Sends `states` as one notification.
    pub fn notify(&self, states: &[State<'_>]) -> Result<(), NotifyError> {
        self.socket
            .send_to_addr(message(states).as_bytes(), &self.address)
            .map(drop)
            .map_err(|source| NotifyError::Send {
                socket: self.name.clone(),
                source,
            })
    }
}

/// How often this process should send `WATCHDOG=1`: half the unit's `WatchdogSec=`, as
/// sd_watchdog_enabled(3) advises; `None` when no watchdog is set for this process.
pub fn watchdog_interval() -> Result<Option<Duration>, NotifyError> {
    watchdog_interval_from(|name| std::env::var_os(name), std::process::id())
}

/// [`watchdog_interval`] over `var`, for the process `pid`.
pub fn watchdog_interval_from(
    var: impl Fn(&str) -> Option<OsString>,
    pid: u32,
) -> Result<Option<Duration>, NotifyError> {
    let Some(usec) = var(WATCHDOG_USEC_ENV) else {
        return Ok(None);
    };
    let text = usec.to_string_lossy();
    let usec = match text.trim().parse::<u64>() {
        Ok(usec) if usec > 0 => usec,
        _ => return Err(NotifyError::Watchdog(text.into_owned())),
    };
    // Set by systemd when the variables may be inherited by a child: the watchdog is the
    // main process's, and a child must not feed it.
    if let Some(for_pid) = var(WATCHDOG_PID_ENV)
        && for_pid.to_string_lossy().trim().parse::<u32>().ok() != Some(pid)
    {
        return Ok(None);
    }
    Ok(Some(Duration::from_micros(usec) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).expect("text")
    }

    #[test]
    fn a_notification_reaches_a_socket_path_as_one_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let systemd = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::from_vars(vars(&[(SOCKET_ENV, path.to_str().unwrap())]))
            .unwrap()
            .expect("NOTIFY_SOCKET is set");
        notifier
            .notify(&[State::Ready, State::Status("ready;\nreader absent")])
            .unwrap();
        notifier.notify(&[State::Watchdog]).unwrap();
        assert_eq!(received(&systemd), "READY=1\nSTATUS=ready; reader absent");
        assert_eq!(received(&systemd), "WATCHDOG=1");
    }

    #[test]
    fn an_abstract_socket_is_named_with_an_at_sign() {
        let name = format!("systemd-notify-test-{}", std::process::id());
        let systemd =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let notifier = Notifier::connect(OsStr::new(&format!("@{name}"))).unwrap();
        notifier.notify(&[State::Stopping]).unwrap();
        assert_eq!(received(&systemd), "STOPPING=1");
    }

    #[test]
    fn without_the_variable_there_is_nothing_to_notify() {
        assert!(Notifier::from_vars(vars(&[])).unwrap().is_none());
        assert!(
            Notifier::from_vars(vars(&[(SOCKET_ENV, "")]))
                .unwrap()
                .is_none()
        );
        let err = Notifier::from_vars(vars(&[(SOCKET_ENV, "vsock:2:1234")])).unwrap_err();
        assert!(
            matches!(err, NotifyError::Unsupported(_)) && err.to_string().contains("vsock:2:1234"),
            "{err}"
        );
    }

    #[test]
    fn a_gone_systemd_is_a_send_error_naming_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        let notifier = Notifier::connect(path.as_os_str()).unwrap();
        let err = notifier.notify(&[State::Ready]).unwrap_err();
        assert!(
            matches!(err, NotifyError::Send { .. }) && err.to_string().contains("gone"),
            "{err}"
        );
    }

    #[test]
    fn the_watchdog_is_fed_at_half_its_timeout_by_its_own_process_only() {
        let usec = (WATCHDOG_USEC_ENV, "30000000");
        assert_eq!(watchdog_interval_from(vars(&[]), 7).unwrap(), None);
        assert_eq!(
            watchdog_interval_from(vars(&[usec]), 7).unwrap(),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(vars(&[usec, (WATCHDOG_PID_ENV, "7")]), 7).unwrap(),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(vars(&[usec, (WATCHDOG_PID_ENV, "8")]), 7).unwrap(),
            None,
            "another process's watchdog"
        );
        let err = watchdog_interval_from(vars(&[(WATCHDOG_USEC_ENV, "30s")]), 7).unwrap_err();
        assert!(err.to_string().contains("30s"), "{err}");
    }
}
