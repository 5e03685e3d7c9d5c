//! A booth's file system in a temporary directory, driven through the real `booth-update`
//! binary with `--root` and a `systemctl` script that logs its calls, as systemd would run
//! it; bundles signed by the real library with the test-only release key.

#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use booth_release::{PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas};
use chrono::Utc;
use kiosk_core::store::{DB_FILE, Identity, NewSubmission, Store};
use kiosk_core::update::{HealthReporter, HeartbeatClass, InstallRequest, UpdateDirs};
use sync_protocol::enroll::Village;
use sync_protocol::submission::SubmissionKind;

/// The factory release's version: the workspace's.
pub const FACTORY: &str = env!("CARGO_PKG_VERSION");

/// The test-only release key (never a booth's: production images pin their own).
pub fn test_key() -> SigningKey {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/TEST-ONLY-release-key.secret"),
    )
    .unwrap();
    booth_release::decode_secret_key(&text).unwrap()
}

/// A key this booth never trusted.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct Booth {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub data: PathBuf,
    pub dirs: UpdateDirs,
}

/// What a release says about itself.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: &'static str,
    pub min: &'static str,
    pub reads: (u32, u32),
    pub writes: u32,
    pub signer: SigningKey,
    pub introduces: Vec<PublicKey>,
}

pub fn release(version: &'static str) -> Release {
    let (min, max) = kiosk_core::store::SCHEMA_READS;
    Release {
        version,
        min: "0.0.1",
        reads: (min, max),
        writes: kiosk_core::store::SCHEMA_WRITES,
        signer: test_key(),
        introduces: Vec::new(),
    }
}

impl Booth {
    /// A booth as the image leaves it: the factory app, the pinned key, the data partition
    /// with the kiosk's update directories (tmpfiles makes them).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let data = root.join("var/lib/booth");
        fs::create_dir_all(&data).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
        let dirs = UpdateDirs::new(&data);
        fs::create_dir_all(&dirs.inbox).unwrap();
        fs::create_dir_all(&dirs.health).unwrap();
        fs::set_permissions(data.join("update"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        fs::write(root.join("usr/bin/kiosk"), "#!/bin/sh\necho factory\n").unwrap();
        fs::create_dir_all(root.join("usr/share/booth")).unwrap();
        fs::write(
            root.join("usr/share/booth/release-keys"),
            format!("# test-only key\n{}\n", PublicKey::of(&test_key())),
        )
        .unwrap();
        let systemctl = root.join("systemctl");
        fs::write(
            &systemctl,
            "#!/bin/sh\n\
             log=\"$(dirname \"$0\")/systemctl.log\"\n\
             echo \"$*\" >>\"$log\"\n\
             case \"$1\" in\n\
               is-active) [ -e \"$(dirname \"$0\")/kiosk-active\" ] ;;\n\
               stop) rm -f \"$(dirname \"$0\")/kiosk-active\" ;;\n\
               *) true ;;\n\
             esac\n",
        )
        .unwrap();
        fs::set_permissions(&systemctl, fs::Permissions::from_mode(0o755)).unwrap();
        Self {
            _dir: dir,
            root,
            data,
            dirs,
        }
    }

    pub fn releases(&self) -> PathBuf {
        self.data.join("releases")
    }

    pub fn store_file(&self) -> PathBuf {
        self.data.join(DB_FILE)
    }

    /// Runs `booth-update ARGS` over this booth; `fail_at` sets the fail point.
    pub fn run_at(&self, args: &[&str], fail_at: Option<&str>, now: Option<u64>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_booth-update"));
        command
            .arg("--root")
            .arg(&self.root)
            .arg("--systemctl")
            .arg(self.root.join("systemctl"))
            .args(args)
            .env_remove("BOOTH_UPDATE_FAIL_AT");
        if let Some(point) = fail_at {
            command.env("BOOTH_UPDATE_FAIL_AT", point);
        }
        if let Some(now) = now {
            command.arg("--now").arg(now.to_string());
        }
        command.output().unwrap()
    }

    /// Runs and expects success; the standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run_at(args, None, None);
        assert!(
            output.status.success(),
            "booth-update {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs and expects exit status 1 with one error line; that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run_at(args, None, None);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?} should fail: {stderr}"
        );
        assert!(
            stderr.starts_with("booth-update: ") && stderr.lines().count() == 1,
            "not one error line: {stderr:?}"
        );
        stderr.trim_end().to_owned()
    }

    pub fn check_at(&self, now: u64) -> String {
        let output = self.run_at(&["check"], None, Some(now));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The systemctl calls so far, and forgets them.
    pub fn systemctl_calls(&self) -> Vec<String> {
        let log = self.root.join("systemctl.log");
        let text = fs::read_to_string(&log).unwrap_or_default();
        let _ = fs::remove_file(&log);
        text.lines().map(str::to_owned).collect()
    }

    pub fn set_kiosk_active(&self, active: bool) {
        let flag = self.root.join("kiosk-active");
        if active {
            fs::write(flag, "").unwrap();
        } else {
            let _ = fs::remove_file(flag);
        }
    }

    /// Signs `release` into the inbox and writes the kiosk's install request for it.
    pub fn request(&self, release: &Release) -> PathBuf {
        let bundle = self.bundle(release);
        let file = format!("{}.bundle", release.version);
        let path = self.dirs.inbox.join(&file);
        fs::write(&path, &bundle).unwrap();
        InstallRequest::new(release.version, &sha256_hex(&bundle), &file)
            .unwrap()
            .write(&self.dirs)
            .unwrap();
        path
    }

    pub fn bundle(&self, release: &Release) -> Vec<u8> {
        let files = tempfile::tempdir().unwrap();
        fs::create_dir_all(files.path().join("bin")).unwrap();
        let kiosk = files.path().join("bin/kiosk");
        fs::write(
            &kiosk,
            format!("#!/bin/sh\necho kiosk {}\n", release.version),
        )
        .unwrap();
        fs::set_permissions(&kiosk, fs::Permissions::from_mode(0o755)).unwrap();
        let spec = ReleaseSpec {
            version: release.version.parse().unwrap(),
            min_version: release.min.parse().unwrap(),
            supersedes_highest: None,
            store: StoreSchemas {
                reads: SchemaRange::new(release.reads.0, release.reads.1).unwrap(),
                writes: release.writes,
            },
            introduces_keys: release.introduces.clone(),
            retires_keys: vec![],
            notes: None,
        };
        let mut out = Vec::new();
        booth_release::pack(files.path(), &spec, &[&release.signer], &mut out).unwrap();
        out
    }

    pub fn link(&self, name: &str) -> Option<String> {
        fs::read_link(self.releases().join(name))
            .ok()
            .map(|t| t.to_string_lossy().into_owned())
    }

    pub fn state(&self) -> serde_json::Value {
        let path = self.data.join("update/state.json");
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    }

    /// Every file, link and directory under `releases/`, with contents: to compare.
    pub fn releases_tree(&self) -> BTreeMap<String, String> {
        let mut tree = BTreeMap::new();
        let root = self.releases();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                let meta = fs::symlink_metadata(&path).unwrap();
                let what = if meta.is_symlink() {
                    format!("-> {}", fs::read_link(&path).unwrap().display())
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    "dir".to_owned()
                } else {
                    sha256_hex(&fs::read(&path).unwrap())
                };
                tree.insert(name, what);
            }
        }
        tree
    }

    /// The kiosk's store: enrolled, with `n` complaints queued.
    pub fn store_with(&self, n: usize) -> Vec<(String, String)> {
        let mut store = Store::open(&self.data).unwrap();
        store
            .set_identity(&Identity {
                kiosk_id: "kiosk-7".into(),
                kiosk_number: 7,
                village: Village {
                    county: "田东县".into(),
                    township: "平马镇".into(),
                    village: "青山村".into(),
                },
                server_url: "http://127.0.0.1:9".into(),
                server_id: "server-a".into(),
                enrolled_at: Utc::now(),
                server_pin: None,
            })
            .unwrap();
        drop(store);
        self.queue(n, "before")
    }

    /// Queues `n` complaints through the real store, as the running release would.
    pub fn queue(&self, n: usize, tag: &str) -> Vec<(String, String)> {
        let mut store = Store::open(&self.data).unwrap();
        (0..n)
            .map(|i| {
                let text = format!("{tag} {i}: 路灯坏了");
                let receipt = store
                    .submit(NewSubmission {
                        text: Some(text.clone()),
                        ..NewSubmission::new(SubmissionKind::Complaint)
                    })
                    .unwrap();
                (receipt.id.to_string(), text)
            })
            .collect()
    }

    /// Every queued item (id, text) in queue order, read with plain SQL from a copy (so any
    /// schema does, and the store file is not touched).
    pub fn queued(&self) -> Vec<(String, String)> {
        let copy = tempfile::tempdir().unwrap();
        let file = copy.path().join("copy.sqlite3");
        kiosk_core::store::closed::snapshot(&self.store_file(), &file).unwrap();
        let conn = rusqlite::Connection::open(&file).unwrap();
        let mut statement = conn
            .prepare("SELECT id, coalesce(text, '') FROM submissions ORDER BY seq")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// What the release on trial does to the store when it migrates it to `schema` (it adds
    /// a column, as an "expand" migration would).
    pub fn migrate_store_to(&self, schema: u32) {
        let conn = rusqlite::Connection::open(self.store_file()).unwrap();
        conn.execute_batch(&format!(
            "ALTER TABLE submissions ADD COLUMN priority INTEGER; PRAGMA user_version = {schema};"
        ))
        .unwrap();
    }

    /// The running release says it is READY and its heartbeat went through.
    pub fn report_healthy(&self, version: &str) {
        let reporter = HealthReporter::for_data_dir(&self.data, version).unwrap();
        reporter.ready().unwrap();
        reporter
            .heartbeat(HeartbeatClass::Acknowledged, "")
            .unwrap();
    }

    pub fn report_heartbeat(&self, version: &str, class: HeartbeatClass) {
        let reporter = HealthReporter::for_data_dir(&self.data, version).unwrap();
        reporter
            .heartbeat(class, "HTTP 401: the signature does not verify")
            .unwrap();
    }
}
