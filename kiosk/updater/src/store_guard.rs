//! The kiosk's store across an install: a backup taken while the kiosk is stopped, and, only
//! when a rollback needs it, the restore of that backup with the failed release's queue
//! merged back into it.
//!
//! The updater never changes the store file otherwise: the backup reads it (by copying; see
//! `kiosk_core::store::closed`), and a rollback that does not restore leaves it exactly as
//! the failed release left it, for the previous release to read (the schema rule).

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use kiosk_core::store::DB_FILE;
use kiosk_core::store::closed::{self, Merged};

use crate::UpdateError;
use crate::fail;
use crate::fsx;
use crate::layout::Layout;

/// The backup's file in `update/backup`.
pub fn backup_file(layout: &Layout) -> std::path::PathBuf {
    layout.backup().join(DB_FILE)
}

/// Replaces `update/backup` with a copy of the store as it is now (the kiosk is stopped).
/// A booth with no store yet gets an empty backup directory.
pub fn back_up(layout: &Layout) -> Result<(), UpdateError> {
    let dir = layout.backup();
    fsx::remove_tree(&dir)?;
    fsx::ensure_dir(&dir, 0o700)?;
    if closed::schema_on_disk(&layout.store)?.is_some() {
        let partial = dir.join(format!("{DB_FILE}.partial"));
        closed::snapshot(&layout.store, &partial)?;
        let file = backup_file(layout);
        fs::rename(&partial, &file).map_err(fsx::err("cannot keep the backup", &file))?;
    }
    fsx::sync_dir(&dir)?;
    Ok(())
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub merged: Merged,
    /// Why the failed release's queue could not be merged (it stays in `update/failed-store`).
    pub not_merged: Option<String>,
}

/// Puts the backup back in place of the store, with every submission the failed store has
/// and the backup lacks merged into it. Each step can be repeated after a power cut:
/// 1. the failed store (and its log) moves to `update/failed-store/` unless already there;
/// 2. the backup is copied to `update/work/`, the failed store's queue merged into the copy;
/// 3. the copy goes into the data directory under a temporary name, owned like the data
///    directory, and is renamed over the store.
///
/// A store file already back in place while the failed one is aside means step 3 was done.
/// Between steps 1 and 3 there is no store: the kiosk is not started before `recover` (its
/// `ExecStartPre`) has finished the restore.
pub fn restore(layout: &Layout) -> Result<Restored, UpdateError> {
    let aside = layout.failed_store();
    fsx::ensure_dir(&aside, 0o700)?;
    let aside_db = aside.join(DB_FILE);
    let live = &layout.store;
    if aside_db.exists() && live.exists() {
        return Ok(Restored::default());
    }
    if !aside_db.exists() && live.exists() {
        for (from, to) in [
            (fsx::sibling(live, "-wal"), fsx::sibling(&aside_db, "-wal")),
            (live.clone(), aside_db.clone()),
        ] {
            match fs::rename(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(fsx::err("cannot move the failed store aside", &from)(e).into());
                }
            }
        }
        fsx::remove_file(&fsx::sibling(live, "-shm"))?;
        fsx::sync_dir(&aside)?;
        fsx::sync_dir(&layout.data)?;
    }
    fail::point("restore-after-aside");

    let work = layout.work();
    fsx::remove_tree(&work)?;
    fsx::ensure_dir(&work, 0o700)?;
    let restored = work.join(DB_FILE);
    fsx::copy_durably(&backup_file(layout), &restored)?;
    let mut outcome = Restored::default();
    if aside_db.exists() {
        let failed = work.join("failed.sqlite3");
        let merged = closed::snapshot(&aside_db, &failed)
            .and_then(|()| closed::merge_unsent(&restored, &failed));
        match merged {
            Ok(merged) => outcome.merged = merged,
            // The backup alone still gives the previous release a store it reads; what the
            // failed release queued stays in update/failed-store for a technician.
            Err(err) => outcome.not_merged = Some(err.to_string()),
        }
    }

    let temporary = layout.data.join(format!(".{DB_FILE}.restore"));
    fsx::remove_file(&temporary)?;
    fsx::copy_durably(&restored, &temporary)?;
    give_to_store_owner(layout, &aside_db, &temporary)?;
    fail::point("restore-before-rename");
    fs::rename(&temporary, live)
        .map_err(fsx::err("cannot put the restored store in place", live))?;
    fsx::sync_dir(&layout.data)?;
    fsx::remove_tree(&work)?;
    Ok(outcome)
}

/// The kiosk runs as the owner of its store: the restored file must be that user's. The
/// store it replaces (moved aside) says who that is; the data directory cannot, being root's on
/// a booth (root:booth, sticky). Without a store to go by (none was there), the data
/// directory's owner.
fn give_to_store_owner(layout: &Layout, aside_db: &Path, file: &Path) -> Result<(), UpdateError> {
    let from = if aside_db.exists() {
        aside_db
    } else {
        &layout.data
    };
    let owner = fs::metadata(from).map_err(fsx::err("cannot look at", from))?;
    std::os::unix::fs::chown(file, Some(owner.uid()), Some(owner.gid())).map_err(fsx::err(
        "cannot hand the restored store to the booth user",
        file,
    ))?;
    Ok(())
}
