//! The county server of the demo: the real `sync-server` binary as a child process, with its
//! own SQLite store in the demo folder, its key file beside that store (never inside: the
//! server refuses one there), the seed catalogue, and one enrollment code.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

/// The seed catalogue, so the demo works from any directory.
const SEED_CATALOG: &str = include_str!("../../../sync-server/seed/catalog.json");
const SERVER: &str = "sync-server";

/// The demo booth's village.
pub const COUNTY: &str = "示范县";
pub const TOWNSHIP: &str = "凤岭乡";
pub const VILLAGE: &str = "青山村";

/// A running county server; stopped by [`County::stop`] or when dropped.
#[derive(Debug)]
pub struct County {
    binary: PathBuf,
    data_dir: PathBuf,
    child: Mutex<Option<Child>>,
    pub url: String,
    pub log: PathBuf,
}

/// `sync-server` next to this executable (same cargo profile), else on `PATH`.
pub fn find_server(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        bail!("--server {}: no such file", path.display());
    }
    let exe = std::env::current_exe().context("cannot locate the kiosk executable")?;
    let beside = exe.with_file_name(SERVER);
    if beside.is_file() {
        return Ok(beside);
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(SERVER))
        .find(|candidate| candidate.is_file())
    {
        return Ok(found);
    }
    bail!(
        "cannot find the sync-server binary next to {} or on PATH: build it with the same profile as kiosk (cargo build -p kiosk -p sync-server), or pass --server PATH",
        exe.display()
    )
}

impl County {
    /// Imports the seed catalogue into `data_dir`, then serves on a free loopback port.
    pub fn start(binary: &Path, data_dir: &Path, log: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        if !key_file(data_dir).exists() {
            run(binary, data_dir, &["keys", "init"])?;
        }
        let seed = data_dir.join("seed-catalog.json");
        std::fs::write(&seed, SEED_CATALOG)
            .with_context(|| format!("cannot write {}", seed.display()))?;
        run(binary, data_dir, &["catalog", "import", &path_text(&seed)?])?;

        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create the server log {}", log.display()))?;
        let mut child = tied_to_this_process(binary)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--key-file")
            .arg(key_file(data_dir))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the county server did not start within 30 s: see {}",
                    log.display()
                );
            }
        };
        Ok(Self {
            binary: binary.to_owned(),
            data_dir: data_dir.to_owned(),
            child: Mutex::new(Some(child)),
            url,
            log: log.to_owned(),
        })
    }

    /// A one-time enrollment code for the demo village.
    pub fn issue_code(&self) -> anyhow::Result<String> {
        let out = run(
            &self.binary,
            &self.data_dir,
            &[
                "enroll-code",
                "--village",
                VILLAGE,
                "--township",
                TOWNSHIP,
                "--county",
                COUNTY,
                "--json",
            ],
        )?;
        let value: serde_json::Value =
            serde_json::from_str(&out).context("the enrollment code is not JSON")?;
        value["code"]
            .as_str()
            .map(str::to_owned)
            .context("the server's answer has no enrollment code")
    }

    /// Adds a staff account for the web pages; returns the password the server made for it
    /// (a new one on every demo start).
    pub fn add_staff(
        &self,
        user: &str,
        role: &str,
        scope: &str,
        name: &str,
    ) -> anyhow::Result<String> {
        let out = run(
            &self.binary,
            &self.data_dir,
            &[
                "staff", "add", "--user", user, "--role", role, "--scope", scope, "--name", name,
            ],
        )?;
        out.lines()
            .find_map(|line| line.strip_prefix("password: "))
            .map(str::to_owned)
            .context("the server did not print the new account's password")
    }

    /// County staff change a submission's status; returns the server's line.
    pub fn set_status(
        &self,
        receipt: &str,
        status: &str,
        note: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut args = vec!["submissions", "set-status", receipt, status];
        if let Some(note) = note {
            args.extend(["--note", note]);
        }
        run(&self.binary, &self.data_dir, &args).map(|out| out.trim().to_owned())
    }

    pub fn stop(&self) {
        let taken = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut child) = taken {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for County {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A command whose process the kernel ends (SIGTERM) when the thread that started it ends: a
/// demo that crashes, is killed with SIGKILL or loses its display leaves no server behind,
/// which `Drop` and signal handlers alone cannot promise. Children must therefore be started
/// from threads that live as long as the demo (the main thread, or a thread waiting for the
/// child), since the kernel ties the signal to the starting thread, not the process.
pub fn tied_to_this_process(program: &Path) -> Command {
    let mut command = Command::new(program);
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // work is allowed. It makes two raw system calls through rustix (prctl, getppid), compares
    // two integers and returns an error code (`io::Error` from an errno stores an integer): it
    // takes no lock, allocates nothing and touches no state shared with other threads.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))?;
            // The demo may have died between fork and prctl: then nobody would send the signal.
            if rustix::process::getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
    command
}

/// The demo server's key file: beside its data directory.
fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.with_file_name("county-keys.json")
}

/// Runs `sync-server --data-dir DIR --key-file KEYS ARGS…` to completion; its stdout, or its
/// error line.
fn run(binary: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = tied_to_this_process(binary)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--key-file")
        .arg(key_file(data_dir))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "sync-server {} failed: {}",
            args.first().copied().unwrap_or_default(),
            stderr.trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn path_text(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seed_catalogue_is_embedded() {
        let value: serde_json::Value =
            serde_json::from_str(super::SEED_CATALOG).expect("the seed is JSON");
        assert!(value.is_object() || value.is_array());
    }
}
