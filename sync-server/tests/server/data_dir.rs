//! The server's files are its user's alone: what it creates is 0700/0600, it refuses to run
//! on a database or directory others may read, and the enrollment codes in the database are
//! worthless without the secret kept beside it.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};
use sync_server::api::enroll_codes::{self, CodeSecret};
use sync_server::data_dir::{CODE_SECRET_FILE, DB_FILE};

use crate::cli::{Serving, run};
use crate::common::{TestServer, enroll_with_code};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The `code_key` column as the database file holds it.
fn stored_code_keys(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let mut statement = conn.prepare("SELECT code_key FROM enroll_codes").unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The key file `crate::cli::run` passes for `dir`, beside it (the data directory itself is left
/// for the command under test to make).
fn with_key_file(dir: &Path) {
    sync_server::key_file::KeyFile::init(&crate::cli::key_file(dir), dir, chrono::Utc::now())
        .expect("key file");
}

#[tokio::test]
async fn a_served_data_directory_is_private_to_the_servers_user() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("county");
    with_key_file(&dir);
    let serving = Serving::start_with(&dir, &["--listen", "127.0.0.1:0"]);
    let code = serde_json::from_slice::<serde_json::Value>(
        &run(&dir, &["enroll-code", "--village", "石门村", "--json"]).stdout,
    )
    .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    enroll_with_code(&serving.url, &code).await;
    assert_eq!(mode(&dir), 0o700);
    for name in [
        DB_FILE.to_owned(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        CODE_SECRET_FILE.to_owned(),
    ] {
        assert_eq!(mode(&dir.join(&name)), 0o600, "{name}");
    }
}

/// What `serve` printed on stderr when it refused to start; fails if it started instead
/// (its first stdout line is the address it serves).
fn serve_refusal(dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--key-file")
        .arg(crate::cli::key_file(dir))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove(sync_server::data_dir::ENV)
        .env_remove(sync_server::key_file::ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first_line)
        .expect("read serve's stdout");
    if !first_line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve started on a shared data directory: {first_line}");
    }
    let finished = child.wait_with_output().expect("wait for serve");
    assert!(!finished.status.success());
    String::from_utf8_lossy(&finished.stderr).into_owned()
}

#[test]
fn serve_refuses_a_database_or_directory_others_may_read_saying_what_to_run() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("county");
    with_key_file(&dir);
    let created = run(&dir, &["staff", "list"]);
    assert!(created.status.success(), "{created:?}");
    let database = dir.join(DB_FILE);
    for (path, loose, fix) in [
        (
            database.as_path(),
            0o644,
            format!("chmod 600 {}", database.display()),
        ),
        (dir.as_path(), 0o755, format!("chmod 700 {}", dir.display())),
    ] {
        chmod(path, loose);
        let stderr = serve_refusal(&dir);
        assert!(stderr.contains(&fix), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        // Every command opens the data directory the same way.
        let listed = run(&dir, &["staff", "list"]);
        assert!(!listed.status.success());
        assert!(String::from_utf8_lossy(&listed.stderr).contains(&fix));
        chmod(path, if path == dir.as_path() { 0o700 } else { 0o600 });
    }
    assert!(run(&dir, &["staff", "list"]).status.success());
}

#[tokio::test]
async fn a_copy_of_the_database_does_not_give_away_the_enrollment_codes() {
    let server = TestServer::start().await;
    let code = server.code("石门村").await;
    let canonical = enroll_codes::canonical(&code).unwrap();
    let dir = server.data_dir().to_owned();
    let keys = stored_code_keys(&dir);
    assert_eq!(keys.len(), 1);
    // The database alone: the unkeyed hash of every one of the 2⁴⁰ codes could be compared
    // with the stored key. It does not match…
    let unkeyed: String = Sha256::digest(format!("booth-enroll-code-v1:{canonical}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_ne!(keys[0], unkeyed);
    assert!(!keys[0].contains(&canonical));
    // …only the secret in its own file, not in the database, makes the stored key.
    let secret: [u8; 32] = std::fs::read(dir.join(CODE_SECRET_FILE))
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(keys[0], CodeSecret::new(secret).code_key(&canonical));
    assert_ne!(keys[0], CodeSecret::new([0; 32]).code_key(&canonical));
    // And the code still enrolls a booth.
    let kiosk = enroll_with_code(&server.url, &code).await;
    assert_eq!(kiosk.enrolled.village.village, "石门村");
}
