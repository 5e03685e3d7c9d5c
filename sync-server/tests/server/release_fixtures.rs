//! Release bundles for the tests: packed with `booth_release::pack` and a test key, a server
//! that trusts that key, and releases taken in the way the upload does.

use std::path::Path;

use booth_release::{PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas, Version};
use chrono::Utc;
use sync_server::domain::releases::RolloutTargets;
use sync_server::release_keys::ReleaseKeys;
use sync_server::release_upload::{self, UploadError};
use sync_server::settings::Settings;
use sync_server::store::releases::{NewRollout, ReleaseRecord};
use sync_server::store::staff::AuditEntry;

use crate::common::{TestServer, test_settings};

/// The release key the test servers trust.
pub fn release_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A key no test server trusts.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_bytes(&[8; 32])
}

pub fn v(text: &str) -> Version {
    text.parse().expect("version")
}

/// Settings whose release keys are [`release_key`]'s.
pub fn settings_with_keys() -> Settings {
    let mut settings = test_settings();
    settings.releases.keys = ReleaseKeys {
        path: "/etc/sync-server/release-keys".into(),
        keys: vec![PublicKey::of(&release_key())],
    };
    settings
}

/// A bundle of `version` carrying one file of `size` bytes, signed by `key`.
pub fn bundle_signed_by(version: &str, size: usize, key: &SigningKey) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // Not all zeros, so a flipped byte anywhere is a different file.
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(bin.join("kiosk"), data).unwrap();
    let spec = ReleaseSpec {
        version: v(version),
        min_version: v("0.1.0"),
        supersedes_highest: None,
        store: StoreSchemas {
            reads: "1..2".parse::<SchemaRange>().unwrap(),
            writes: 2,
        },
        introduces_keys: Vec::new(),
        retires_keys: Vec::new(),
        notes: Some("测试版本".into()),
    };
    let mut out = Vec::new();
    booth_release::pack(dir.path(), &spec, &[key], &mut out).expect("pack");
    out
}

pub fn bundle(version: &str, size: usize) -> Vec<u8> {
    bundle_signed_by(version, size, &release_key())
}

/// Takes `bytes` in as the upload does, as `cli`.
pub async fn take_in(server: &TestServer, bytes: &[u8]) -> Result<ReleaseRecord, UploadError> {
    let state = &server.state;
    let mut incoming = state
        .shelf()
        .receive(state.settings().releases.max_bundle_bytes)?;
    for chunk in bytes.chunks(100_000) {
        incoming.write(chunk)?;
    }
    let received = incoming.finish()?;
    release_upload::take_in(
        server.store(),
        state.shelf(),
        &state.settings().releases.keys,
        received,
        AuditEntry::new(Utc::now(), "cli", "release.upload"),
    )
    .await
}

/// Starts a rollout of `version` to `targets`; returns its id.
pub async fn roll_out(server: &TestServer, version: &str, targets: RolloutTargets) -> i64 {
    server
        .store()
        .create_rollout(
            NewRollout {
                version: v(version),
                targets,
                failure_threshold: 20,
                created_by: "test".into(),
                created_at: Utc::now(),
            },
            AuditEntry::new(Utc::now(), "test", "rollout.create"),
        )
        .await
        .expect("store")
        .expect("rollout")
        .id
}

pub fn villages(paths: &[&str]) -> RolloutTargets {
    RolloutTargets {
        villages: paths.iter().map(|p| (*p).to_owned()).collect(),
        ..RolloutTargets::default()
    }
}

/// Files under the server's releases folder (kept bundles and leftovers alike).
pub fn shelf_files(server: &TestServer) -> Vec<String> {
    let dir: &Path = server.state.shelf().dir();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
