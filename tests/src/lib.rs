//! Fixtures for the end-to-end tests in `tests/e2e/`, which run the real `kiosk` binary the way
//! a technician does: an emulator in one process, a device command in another.
//!
//! Everything a spawned process prints is kept, and printed when a test fails, so a red CI log
//! says what each process saw.

pub mod booth;
pub mod browser;
pub mod fault_proxy;
pub mod slow_link;
pub mod staff;
pub mod vm;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// The `kiosk` binary of this workspace, built on first use if the test run has not built it.
pub fn kiosk_bin() -> PathBuf {
    workspace_bin("kiosk")
}

/// The `sync-server` binary of this workspace, built on first use.
pub fn server_bin() -> PathBuf {
    workspace_bin("sync-server")
}

/// The `kiosk-demo` binary of this workspace, built on first use.
pub fn demo_bin() -> PathBuf {
    workspace_bin("kiosk-demo")
}

/// The `loadgen` binary of this workspace, built on first use (apart from the others: only
/// the fleet test needs it).
pub fn loadgen_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "loadgen", "--bin", "loadgen"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo to build loadgen");
        assert!(status.success(), "building the loadgen binary failed");
    });
    target_dir().join(format!("loadgen{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `loadgen ARGS…` and waits for it, killing it after `limit`.
pub fn run_loadgen(args: &[&str], limit: Duration) -> Finished {
    run_bin(&loadgen_bin(), args, limit)
}

fn workspace_bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        // `cargo test` builds a binary only for its own package's integration tests, so build
        // them all here; cargo makes this a no-op when they are fresh.
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "kiosk",
                "--bin",
                "kiosk",
                "-p",
                "sync-server",
                "--bin",
                "sync-server",
                "-p",
                "kiosk-demo",
                "--bin",
                "kiosk-demo",
            ])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo to build the workspace binaries");
        assert!(
            status.success(),
            "building the kiosk, sync-server and kiosk-demo binaries failed"
        );
    });
    target_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// `target/debug` (or the profile this was built with), found from the running executable: a
/// test binary in `target/<profile>/deps/`, or one of this crate's binaries (`booth-vm-demo`,
/// which `./demo vm` runs) in `target/<profile>/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let dir = exe.parent().expect("the executable lives in a directory");
    let profile_dir = if dir.file_name().is_some_and(|name| name == "deps") {
        dir.parent().expect("target/<profile>/deps")
    } else {
        dir
    };
    profile_dir.to_owned()
}

/// A `kiosk` command run to completion, with everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `kiosk ARGS…` and waits for it, killing it after `limit`.
pub fn run_kiosk(args: &[&str], limit: Duration) -> Finished {
    run_bin(&kiosk_bin(), args, limit)
}

/// Runs `kiosk-demo ARGS…` and waits for it, killing it after `limit`.
pub fn run_demo(args: &[&str], limit: Duration) -> Finished {
    run_bin(&demo_bin(), args, limit)
}

/// Runs `sync-server ARGS…` and waits for it, killing it after `limit`.
pub fn run_server(args: &[&str], limit: Duration) -> Finished {
    run_bin(&server_bin(), args, limit)
}

/// Runs a program and waits for it, killing it after `limit`.
pub fn run_bin(program: &Path, args: &[&str], limit: Duration) -> Finished {
    let label = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    // Read both pipes while waiting: a child writing more than a pipe holds would block forever.
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            eprintln!("{}", thread_stacks(child.id()));
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let finished = Finished {
        success: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        status.is_some(),
        "`{label} {}` did not finish within {limit:?}\n{finished}",
        args.join(" ")
    );
    finished
}

fn read_all(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A long-running `kiosk` process (an emulator). Its output is collected as it runs and
/// printed if the test panics; the process is killed on drop.
#[derive(Debug)]
pub struct Background {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Background {
    /// Starts `kiosk ARGS…`.
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_bin(&kiosk_bin(), args)
    }

    /// Starts `sync-server ARGS…`.
    pub fn spawn_server(args: &[&str]) -> Self {
        Self::spawn_bin(&server_bin(), args)
    }

    pub fn spawn_bin(program: &Path, args: &[&str]) -> Self {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        let stdin = child.stdin.take();
        Self {
            label: format!("{name} {}", args.join(" ")),
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Waits for a stderr line containing `text` (progress and warnings go to stderr).
    pub fn wait_for_stderr(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self
            .stderr
            .lock()
            .unwrap()
            .lines()
            .any(|l| l.contains(text))
        {
            assert!(
                Instant::now() < deadline,
                "`{}` printed no stderr line with {text:?} within {limit:?}",
                self.label
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for a stdout line starting with `prefix` and returns the rest of it.
    pub fn wait_for_line(&self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self
                .stdout
                .lock()
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
            {
                return line.trim().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "`{}` printed no line starting {prefix:?} within {limit:?}",
                self.label
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Closes the process's standard input, as a process started without a terminal has it.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends one control line on the process's standard input.
    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to emulator stdin");
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The process id, e.g. to signal it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a power cut would, and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits up to `limit` for it to exit.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- `{}` stdout ---\n{}--- stderr ---\n{}",
                self.label,
                self.stdout.lock().map(|s| s.clone()).unwrap_or_default(),
                self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
            );
        }
    }
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let sink = Arc::new(Mutex::new(String::new()));
    let writer = sink.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut text = writer.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    sink
}

/// The stacks of a hung process, when gdb is installed, so a timeout says where it hung.
pub fn thread_stacks(pid: u32) -> String {
    Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "thread apply all bt 12",
        ])
        .stdin(Stdio::null())
        .output()
        .map(|out| {
            format!(
                "--- stacks of {pid} ---\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
        .unwrap_or_else(|_| format!("(no gdb to show the stacks of {pid})"))
}
