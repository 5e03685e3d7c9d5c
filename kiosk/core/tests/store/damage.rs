//! A damaged file is moved aside with a message naming where, never silently replaced; after
//! an unclean shutdown `quick_check` runs before anything else.

use std::path::Path;

use chrono::Utc;
use kiosk_core::store::{DB_FILE, Store, StoreError};
use rusqlite::params;

use crate::{complaint, enrolled, raw};

fn expect_corrupt(dir: &Path) -> std::path::PathBuf {
    match Store::open(dir) {
        Err(StoreError::Corrupt {
            path,
            moved_to,
            detail,
        }) => {
            assert_eq!(path, dir.join(DB_FILE));
            assert!(!detail.is_empty());
            moved_to
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("expected Corrupt, the damaged file opened"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = b"this is not a database, it is a power cut's leftovers "
        .iter()
        .copied()
        .cycle()
        .take(8192)
        .collect();
    std::fs::write(dir.path().join(DB_FILE), &garbage).unwrap();

    let moved_to = expect_corrupt(dir.path());
    assert!(
        moved_to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("{DB_FILE}.corrupt-")),
        "{}",
        moved_to.display()
    );
    assert_eq!(
        std::fs::read(&moved_to).unwrap(),
        garbage,
        "the original is preserved"
    );
    let message = Store::open(dir.path()).map(|_| ()).err();
    assert!(message.is_none(), "the next open starts an empty database");
    let fresh = Store::open(dir.path()).unwrap();
    assert_eq!(fresh.identity().unwrap(), None);
    assert_eq!(
        std::fs::read(&moved_to).unwrap(),
        garbage,
        "still untouched"
    );
}

#[test]
fn the_corrupt_message_names_the_moved_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), vec![0x5a; 4096]).unwrap();
    let error = Store::open(dir.path()).expect_err("corrupt");
    let StoreError::Corrupt { moved_to, .. } = &error else {
        panic!("{error}")
    };
    let text = error.to_string();
    assert!(text.contains(&moved_to.display().to_string()), "{text}");
    assert!(text.contains("re-enroll"), "{text}");
    assert!(!text.contains('\n'));
}

fn current_boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|_| "unknown-boot".to_owned())
}

/// Leaves a session row as a process that died with the store open would.
fn leave_session(dir: &Path, boot_id: &str, pid: u32) {
    raw(dir)
        .execute(
            "INSERT INTO open_sessions (session_id, boot_id, pid, opened_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                uuid::Uuid::now_v7().to_string(),
                boot_id,
                pid,
                Utc::now().to_rfc3339()
            ],
        )
        .unwrap();
}

/// A pid that belonged to a process that has exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_power_cut_in_an_earlier_boot_triggers_the_check_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(complaint("x")).unwrap();
    drop(store);
    leave_session(dir.path(), "an-earlier-boot", std::process::id());

    let store = Store::open(dir.path()).unwrap();
    assert!(store.checked_after_unclean_shutdown());
    assert!(
        store
            .receipt(&receipt.number.to_string())
            .unwrap()
            .is_some()
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(
        !store.checked_after_unclean_shutdown(),
        "the stale session was cleared after the check"
    );
}

#[test]
fn a_killed_process_triggers_the_check_but_a_running_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    drop(enrolled(dir.path()));
    let running = Store::open(dir.path()).unwrap();
    let second = Store::open(dir.path()).unwrap();
    assert!(
        !second.checked_after_unclean_shutdown(),
        "a store open in a live process is not a crash"
    );
    drop(second);

    leave_session(dir.path(), &current_boot_id(), dead_pid());
    let after_kill = Store::open(dir.path()).unwrap();
    assert!(after_kill.checked_after_unclean_shutdown());
    drop(running);
}

#[test]
fn damage_found_by_the_check_moves_the_file_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let text = "路灯坏了，晚上看不见路。".repeat(60);
    for _ in 0..200 {
        store.submit(complaint(&text)).unwrap();
    }
    drop(store);
    leave_session(dir.path(), "an-earlier-boot", 1);
    let path = dir.path().join(DB_FILE);
    assert!(
        !dir.path().join(format!("{DB_FILE}-wal")).exists()
            || std::fs::metadata(dir.path().join(format!("{DB_FILE}-wal")))
                .unwrap()
                .len()
                == 0,
        "a clean close checkpoints everything into the main file"
    );
    // Overwrite data pages near the end of the file (the outbox rows), as a torn write might.
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(pages > 40, "enough data pages: {pages}");
    for byte in &mut bytes[(pages - 10) * page..(pages - 2) * page] {
        *byte = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();

    let moved_to = expect_corrupt(dir.path());
    assert_eq!(
        std::fs::read(&moved_to).unwrap(),
        bytes,
        "preserved as found"
    );
    assert!(!path.exists() || Store::open(dir.path()).is_ok());
}
