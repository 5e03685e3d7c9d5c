//! Release bundles for the VM's update scenarios, signed with the repository's TEST-ONLY
//! release key (the image `./test` builds pins it): the booth's real app under a new version,
//! and releases that fail the ways releases fail (a crash at start, a migration and then a
//! crash), made of shell scripts the image can run. Plus the bundles a booth must refuse.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use booth_release::{PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas};
use sha2::{Digest as _, Sha256};

/// The test key's secret, in the updater's fixtures.
const TEST_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../kiosk/updater/tests/fixtures/TEST-ONLY-release-key.secret"
);

/// A signed bundle on the host.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub version: String,
    pub path: PathBuf,
    /// SHA-256 of its bytes, lowercase hex: its name on the county server and in the inbox.
    pub sha256: String,
}

/// Makes bundles in one directory.
#[derive(Debug)]
pub struct ReleaseKit {
    dir: PathBuf,
    key: SigningKey,
    /// The booth build's app, from the booth-kiosk package in `BOOTH_DEBS`.
    kiosk: PathBuf,
}

impl ReleaseKit {
    /// `dir/releases`, the app taken out of the booth-kiosk package in `debs`.
    pub fn new(dir: &Path, debs: &Path) -> Self {
        let dir = dir.join("releases");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("releases directory");
        let deb = fs::read_dir(debs)
            .unwrap_or_else(|e| panic!("BOOTH_DEBS {}: {e}", debs.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .find(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("booth-kiosk_") && n.ends_with(".deb"))
            })
            .unwrap_or_else(|| panic!("no booth-kiosk .deb in {}", debs.display()));
        let unpacked = dir.join("package");
        let status = std::process::Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&unpacked)
            .status()
            .expect("run dpkg-deb");
        assert!(status.success(), "dpkg-deb -x {}", deb.display());
        let text = fs::read_to_string(TEST_KEY).expect("the TEST-ONLY release key");
        Self {
            kiosk: unpacked.join("usr/bin/kiosk"),
            key: booth_release::decode_secret_key(&text).expect("the TEST-ONLY release key"),
            dir,
        }
    }

    /// The public key, as the county server's `--release-keys` file wants it.
    pub fn public_keys_file(&self) -> PathBuf {
        let path = self.dir.join("release-keys");
        fs::write(&path, format!("{}\n", PublicKey::of(&self.key))).expect("release keys");
        path
    }

    /// The booth's own app as release `version`.
    pub fn app(&self, version: &str) -> Bundle {
        let kiosk = fs::read(&self.kiosk).expect("the booth build's kiosk");
        self.sign(version, &kiosk, this_builds_schemas(), &[&self.key])
    }

    /// A release whose `bin/kiosk` is the shell `script`.
    pub fn script(&self, version: &str, script: &str, schemas: StoreSchemas) -> Bundle {
        self.sign(version, script.as_bytes(), schemas, &[&self.key])
    }

    /// A good release with one byte of its app changed after signing, its signature intact.
    pub fn tampered(&self, version: &str) -> Bundle {
        let good = self.script(version, CRASH_AT_START, this_builds_schemas());
        let mut bytes = fs::read(&good.path).expect("bundle");
        let at = find(&bytes, b"exit 3").expect("the script in the bundle");
        bytes[at + 5] = b'0';
        let path = self.dir.join(format!("{version}-tampered.bundle"));
        fs::write(&path, &bytes).expect("tampered bundle");
        Bundle {
            version: version.to_owned(),
            sha256: sha256_hex(&bytes),
            path,
        }
    }

    /// A release signed by a key no booth trusts.
    pub fn unknown_key(&self, version: &str) -> Bundle {
        let stranger = SigningKey::from_bytes(&[9; 32]);
        self.sign(
            version,
            CRASH_AT_START.as_bytes(),
            this_builds_schemas(),
            &[&stranger],
        )
    }

    fn sign(
        &self,
        version: &str,
        kiosk: &[u8],
        store: StoreSchemas,
        keys: &[&SigningKey],
    ) -> Bundle {
        let files = self.dir.join(format!("{version}-files"));
        let _ = fs::remove_dir_all(&files);
        fs::create_dir_all(files.join("bin")).expect("release files");
        let app = files.join("bin/kiosk");
        fs::write(&app, kiosk).expect("bin/kiosk");
        fs::set_permissions(&app, fs::Permissions::from_mode(0o755)).expect("chmod");
        let spec = ReleaseSpec {
            version: version.parse().expect("version"),
            min_version: "0.1.0".parse().expect("version"),
            supersedes_highest: None,
            store,
            introduces_keys: vec![],
            retires_keys: vec![],
            notes: Some(format!("VM test release {version}")),
        };
        let path = self.dir.join(format!("{version}-{}.bundle", keys.len()));
        let file = fs::File::create(&path).expect("bundle file");
        booth_release::pack(&files, &spec, keys, file).expect("pack the bundle");
        let bytes = fs::read(&path).expect("bundle");
        Bundle {
            version: version.to_owned(),
            sha256: sha256_hex(&bytes),
            path,
        }
    }
}

/// A release that cannot even start.
pub const CRASH_AT_START: &str =
    "#!/bin/sh\necho 'this release is broken: it exits at start' >&2\nexit 3\n";

/// A release that starts and then never says READY (hangs in its start-up).
pub const NEVER_READY: &str =
    "#!/bin/sh\necho 'this release hangs before READY' >&2\nexec sleep 100000\n";

/// A release that migrates the store to `schema` (the SQLite header's `user_version`, as a
/// migration's last statement sets it), beyond what its signed manifest says it writes, then
/// crashes: the one case where the previous release cannot read what the failed one left.
pub fn migrate_then_crash(schema: u32) -> String {
    assert!(schema < 256, "one byte of user_version");
    format!(
        "#!/bin/sh\n\
         # 'migrates' the store: user_version is the big-endian u32 at byte 60 of the header\n\
         printf '\\000\\000\\000\\{schema:03o}' | dd of=/var/lib/booth/kiosk.sqlite3 bs=1 seek=60 conv=notrunc status=none\n\
         echo 'this release migrated the store to schema {schema}, then broke' >&2\n\
         exit 3\n"
    )
}

/// The schemas the booth's own build reads and writes (its manifest's `store`).
pub fn this_builds_schemas() -> StoreSchemas {
    let (low, high) = kiosk_core::store::SCHEMA_READS;
    StoreSchemas {
        reads: SchemaRange::new(low, high).expect("schema range"),
        writes: kiosk_core::store::SCHEMA_WRITES,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
