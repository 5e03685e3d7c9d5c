//! A booth's life across releases: bundles made by the real `booth-release sign`, installed by
//! the library the way a booth's updater does (verify, check, stage, then keep the new trust
//! and highest version). Key rotation without a visit, retirement, and anti-rollback.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use booth_release::{
    Bundle, BundleError, InstallPolicy, InstallRefused, Limits, PublicKey, SchemaRange, TrustError,
    TrustStore, VerifiedManifest, VerifyError, Version,
};
use common::{keygen, release_args, release_dir, sign};

/// What a booth keeps across updates.
struct Booth {
    /// Persisted as JSON, and read back before each update as a booth would after a reboot.
    trust_file: PathBuf,
    running: Version,
    highest: Version,
    store_schema: u32,
    running_reads: SchemaRange,
    work: PathBuf,
    installs: usize,
}

/// Why an update did not happen.
#[derive(Debug)]
enum Refused {
    Bundle(BundleError),
    Policy(InstallRefused),
    Trust(TrustError),
}

impl Booth {
    fn new(dir: &Path, pinned: &[&str], running: &str) -> Self {
        let keys = pinned.iter().map(|k| k.parse::<PublicKey>().unwrap());
        let trust = TrustStore::new(keys).unwrap();
        let trust_file = dir.join("trust.json");
        fs::write(&trust_file, serde_json::to_vec(&trust).unwrap()).unwrap();
        let work = dir.join("booth");
        fs::create_dir(&work).unwrap();
        Self {
            trust_file,
            running: running.parse().unwrap(),
            highest: running.parse().unwrap(),
            store_schema: 4,
            running_reads: SchemaRange::new(3, 4).unwrap(),
            work,
            installs: 0,
        }
    }

    fn trust(&self) -> TrustStore {
        serde_json::from_slice(&fs::read(&self.trust_file).unwrap()).unwrap()
    }

    /// The whole update; on refusal nothing the booth keeps has changed.
    fn install(&mut self, bundle: &Path) -> Result<VerifiedManifest, Refused> {
        let trust = self.trust();
        let file = File::open(bundle).unwrap();
        let opened =
            Bundle::open_and_verify(file, &trust, Limits::default()).map_err(Refused::Bundle)?;
        let policy = InstallPolicy {
            running: self.running,
            highest_installed: self.highest,
            store_schema: self.store_schema,
            running_reads: self.running_reads,
        };
        policy.check(opened.release()).map_err(Refused::Policy)?;
        let next_trust = trust.applied(opened.release()).map_err(Refused::Trust)?;
        self.installs += 1;
        let stage = self.work.join(format!("stage-{}", self.installs));
        let release = opened.stage_into(&stage).map_err(Refused::Bundle)?;
        // Installed (the slot switch is the caller's): now, and only now, keep what changed.
        let manifest = release.manifest();
        fs::write(&self.trust_file, serde_json::to_vec(&next_trust).unwrap()).unwrap();
        self.highest = policy.highest_after(&release);
        self.running = manifest.version;
        self.running_reads = manifest.store.reads;
        self.store_schema = manifest.store.writes;
        Ok(release)
    }
}

fn v(text: &str) -> Version {
    text.parse().unwrap()
}

fn with(version: &str, extra: &[&str]) -> Vec<String> {
    let mut args = release_args(version);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn a_new_key_is_introduced_by_the_old_one_then_the_old_one_retired() {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_public) = keygen(dir.path(), "old");
    let (new, new_public) = keygen(dir.path(), "new");
    let from = release_dir(dir.path(), "a");
    let mut booth = Booth::new(dir.path(), &[&old_public], "1.0.0");
    let bundle =
        |name: &str, key: &Path, args: Vec<String>| sign(key, &from, &dir.path().join(name), &args);

    // 1.2 signed only by the new key: not yet trusted.
    let early = bundle("1.2-early", &new, with("1.2.0", &[]));
    assert!(matches!(
        booth.install(&early),
        Err(Refused::Bundle(BundleError::Verify(
            VerifyError::NotTrusted(_)
        )))
    ));

    // 1.1 signed by the old key introduces the new one.
    let handover = bundle(
        "1.1",
        &old,
        with("1.1.0", &["--introduce-key", &new_public]),
    );
    booth.install(&handover).unwrap();
    let new_key: PublicKey = new_public.parse().unwrap();
    let old_key: PublicKey = old_public.parse().unwrap();
    assert!(booth.trust().trusts(&new_key) && booth.trust().trusts(&old_key));

    // Now 1.2 signed only by the new key is accepted.
    let release = booth.install(&early).unwrap();
    assert_eq!(release.signed_by(), [new_key]);

    // 1.3, signed by the new key, retires the old one.
    let retire = bundle("1.3", &new, with("1.3.0", &["--retire-key", &old_public]));
    booth.install(&retire).unwrap();
    assert!(!booth.trust().trusts(&old_key) && booth.trust().is_retired(&old_key));

    // A bundle signed only by the old key is refused, even a newer one.
    let stale = bundle("1.4-old", &old, with("1.4.0", &[]));
    let err = booth.install(&stale).unwrap_err();
    assert!(
        matches!(&err, Refused::Bundle(BundleError::Verify(VerifyError::SignedByRetired(ids))) if ids == &[old_key.key_id()]),
        "{err:?}"
    );
    // And the new key cannot bring the old one back.
    let revive = bundle(
        "1.4-revive",
        &new,
        with("1.4.0", &["--introduce-key", &old_public]),
    );
    assert!(matches!(
        booth.install(&revive),
        Err(Refused::Trust(TrustError::StillRetired(id))) if id == old_key.key_id()
    ));
    assert_eq!(booth.running, v("1.3.0"));
}

#[test]
fn the_last_trusted_key_cannot_be_retired() {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_public) = keygen(dir.path(), "old");
    let from = release_dir(dir.path(), "a");
    let mut booth = Booth::new(dir.path(), &[&old_public], "1.0.0");
    let bundle = sign(
        &old,
        &from,
        &dir.path().join("1.1"),
        &with("1.1.0", &["--retire-key", &old_public]),
    );
    let err = booth.install(&bundle).unwrap_err();
    assert!(
        matches!(err, Refused::Trust(TrustError::WouldRetireLastKey { .. })),
        "{err:?}"
    );
    assert_eq!(booth.running, v("1.0.0"));
    assert_eq!(booth.installs, 0, "refused before staging");
}

#[test]
fn a_downgrade_is_refused_unless_signed_to_supersede_the_highest() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k");
    let from = release_dir(dir.path(), "a");
    let mut booth = Booth::new(dir.path(), &[&public], "1.0.0");
    let bundle = |name: &str, args: Vec<String>| sign(&key, &from, &dir.path().join(name), &args);
    let plain_14 = bundle("1.4", with("1.4.0", &[]));
    booth.install(&plain_14).unwrap();
    booth.install(&bundle("1.5", with("1.5.0", &[]))).unwrap();

    // Replaying the 1.4 bundle: a rollback.
    let err = booth.install(&plain_14).unwrap_err();
    assert!(
        matches!(&err, Refused::Policy(InstallRefused::Rollback { release, highest }) if *release == v("1.4.0") && *highest == v("1.5.0")),
        "{err:?}"
    );
    assert_eq!(booth.running, v("1.5.0"));

    // 1.4.1 signed to supersede 1.5.0: allowed, and the highest stays 1.5.0.
    let back = bundle("1.4.1", with("1.4.1", &["--supersedes-highest", "1.5.0"]));
    booth.install(&back).unwrap();
    assert_eq!((booth.running, booth.highest), (v("1.4.1"), v("1.5.0")));
    // So the plain 1.4 bundle still cannot come back.
    assert!(matches!(
        booth.install(&plain_14),
        Err(Refused::Policy(InstallRefused::Rollback { .. }))
    ));

    // Once 1.6 is out, the 1.4.1 downgrade permission (signed before 1.6 existed) is void.
    booth.install(&bundle("1.6", with("1.6.0", &[]))).unwrap();
    assert!(matches!(
        booth.install(&back),
        Err(Refused::Policy(InstallRefused::RollbackNotCovered { .. }))
    ));
    // The running version again is "already installed".
    assert!(matches!(
        booth.install(&bundle("1.6-again", with("1.6.0", &[]))),
        Err(Refused::Policy(InstallRefused::AlreadyInstalled(_)))
    ));
}

#[test]
fn a_replayed_handover_cannot_revive_a_retired_key() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, p1) = keygen(dir.path(), "k1");
    let (k2, p2) = keygen(dir.path(), "k2");
    let (_, p3) = keygen(dir.path(), "k3");
    let from = release_dir(dir.path(), "a");
    let mut booth = Booth::new(dir.path(), &[&p1, &p2], "1.0.0");
    // 1.1 (by k1) introduces k3; 1.2 (by k2) retires k1 and k3.
    let intro = sign(
        &k1,
        &from,
        &dir.path().join("1.1"),
        &with("1.1.0", &["--introduce-key", &p3]),
    );
    booth.install(&intro).unwrap();
    let retire = sign(
        &k2,
        &from,
        &dir.path().join("1.2"),
        &with("1.2.0", &["--retire-key", &p1, "--retire-key", &p3]),
    );
    booth.install(&retire).unwrap();
    let before = fs::read(&booth.trust_file).unwrap();
    // The 1.1 bundle is signed by a now-retired key, and is a rollback anyway.
    assert!(booth.install(&intro).is_err());
    assert_eq!(fs::read(&booth.trust_file).unwrap(), before);
}

#[test]
fn the_store_may_only_move_to_a_schema_the_running_release_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k");
    let from = release_dir(dir.path(), "a");
    let mut booth = Booth::new(dir.path(), &[&public], "1.0.0");
    let release = |name: &str, version: &str, reads: &str, writes: &str| {
        let args: Vec<String> = [
            "--version",
            version,
            "--min-version",
            "1.0.0",
            "--store-reads",
            reads,
            "--store-writes",
            writes,
        ]
        .map(str::to_owned)
        .to_vec();
        sign(&key, &from, &dir.path().join(name), &args)
    };
    // Contract too early: 1.1 would write 5, which 1.0 (reads 3..4) cannot read.
    let jump = release("jump", "1.1.0", "4..5", "5");
    assert!(matches!(
        booth.install(&jump),
        Err(Refused::Policy(InstallRefused::WritesUnreadableByRunning {
            writes: 5,
            ..
        }))
    ));
    // Expand first: 1.1 reads 4..5 and still writes 4; then 1.2 writes 5.
    booth
        .install(&release("expand", "1.1.0", "4..5", "4"))
        .unwrap();
    // 1.2 migrates 4 → 5: it reads the store as it is, and 1.1 reads what it writes.
    booth
        .install(&release("contract", "1.2.0", "4..5", "5"))
        .unwrap();
    assert_eq!(booth.store_schema, 5);
    // A release that cannot read schema 5 is refused.
    let old_reader = release("old-reader", "1.3.0", "3..4", "4");
    assert!(matches!(
        booth.install(&old_reader),
        Err(Refused::Policy(InstallRefused::CannotReadStore {
            schema: 5,
            ..
        }))
    ));
}
