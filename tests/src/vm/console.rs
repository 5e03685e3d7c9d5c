//! The guest's root shell on its second serial port (`booth.test_console` on the kernel's
//! command line starts it): how a test runs `systemctl`, `ls /dev/booth` or `kill` in the
//! booth, as a technician with a serial cable would.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Console {
    stream: UnixStream,
    /// Everything the guest printed, for the failure report.
    pub transcript: String,
    pending: String,
    next_mark: u32,
}

/// What a command printed and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub text: String,
}

impl Console {
    /// Connects to QEMU's `-serial unix:PATH,server=on,wait=off` and waits for the shell.
    pub fn connect(path: &Path, limit: Duration) -> Result<Self, String> {
        let deadline = Instant::now() + limit;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => {
                    return Err(format!(
                        "cannot connect to the guest console {}: {e}",
                        path.display()
                    ));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|e| e.to_string())?;
        let mut console = Self {
            stream,
            transcript: String::new(),
            pending: String::new(),
            next_mark: 0,
        };
        console.wait_for_shell(deadline)?;
        Ok(console)
    }

    fn wait_for_shell(&mut self, deadline: Instant) -> Result<(), String> {
        // The shell comes up with the guest: poke it until it answers a marked echo.
        loop {
            let _ = self.stream.write_all(b"\n");
            let _ = self
                .stream
                .write_all(b"stty -echo 2>/dev/null; export TERM=dumb PS1= PAGER=cat SYSTEMD_PAGER=cat SYSTEMD_COLORS=0; echo READY''-MARK\n");
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until {
                self.fill();
                if let Some(at) = self.pending.find("READY-MARK") {
                    self.pending.drain(..at + "READY-MARK".len());
                    std::thread::sleep(Duration::from_millis(300));
                    self.fill();
                    self.pending.clear();
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the guest's test console did not answer; it printed:\n{}",
                    self.transcript
                ));
            }
        }
    }

    fn fill(&mut self) {
        let mut buffer = [0u8; 4096];
        match self.stream.read(&mut buffer) {
            Ok(0) => std::thread::sleep(Duration::from_millis(50)),
            Ok(n) => {
                let text = String::from_utf8_lossy(&buffer[..n]).replace('\r', "");
                self.transcript.push_str(&text);
                self.pending.push_str(&text);
            }
            Err(_) => {}
        }
    }

    /// Runs `command` in the guest's shell and returns what it printed and its status.
    pub fn run(&mut self, command: &str, limit: Duration) -> Result<Output, String> {
        self.next_mark += 1;
        let mark = format!("DONE-{}", self.next_mark);
        // The quotes split the mark in the command's echo, so only the real end matches.
        let line = format!(
            "{command}\necho \"<<{}\"\"{}:$?>>\"\n",
            &mark[..2],
            &mark[2..]
        );
        self.stream
            .write_all(line.as_bytes())
            .map_err(|e| format!("writing to the guest console: {e}"))?;
        let deadline = Instant::now() + limit;
        let end = format!("<<{mark}:");
        loop {
            if let Some(at) = self.pending.find(&end) {
                let rest = &self.pending[at + end.len()..];
                if let Some(close) = rest.find(">>") {
                    let status = rest[..close].trim().parse().unwrap_or(-1);
                    let text = self.pending[..at].to_owned();
                    let consumed = at + end.len() + close + 2;
                    self.pending.drain(..consumed);
                    return Ok(Output { status, text });
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "`{command}` did not finish in the guest within {limit:?}; it printed:\n{}",
                    self.pending
                ));
            }
            self.fill();
        }
    }

    /// Runs `command`, which must succeed; returns its output.
    pub fn ok(&mut self, command: &str) -> String {
        match self.run(command, Duration::from_secs(120)) {
            Ok(out) if out.status == 0 => out.text,
            Ok(out) => panic!(
                "`{command}` failed in the guest (status {}):\n{}",
                out.status, out.text
            ),
            Err(e) => panic!("{e}"),
        }
    }
}
