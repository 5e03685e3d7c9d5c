//! `sync-server release` and `rollout` on a data directory: an upload verified against the
//! `--release-keys` file and kept, a refused one changing nothing, and a rollout created,
//! listed, paused, widened and stopped from the terminal.

use std::path::Path;

use booth_release::PublicKey;

use crate::cli::{Install, run, stdout_of};
use crate::release_fixtures::{bundle, bundle_signed_by, release_key, stranger_key};

fn with_keys(dir: &Path, args: &[&str]) -> std::process::Output {
    let keys = dir.with_file_name("release-keys");
    let mut all = vec!["--release-keys", keys.to_str().unwrap()];
    all.extend_from_slice(args);
    run(dir, &all)
}

#[test]
fn county_it_uploads_and_rolls_out_from_the_command_line() {
    let install = Install::new();
    let dir = install.path();
    std::fs::write(
        dir.with_file_name("release-keys"),
        format!("# county\n{}\n", PublicKey::of(&release_key())),
    )
    .unwrap();
    stdout_of(&run(dir, &["staff", "list"]));
    let good = dir.with_file_name("good.bundle");
    std::fs::write(&good, bundle("1.4.0", 5000)).unwrap();
    let kept = stdout_of(&with_keys(
        dir,
        &["release", "upload", good.to_str().unwrap()],
    ));
    assert!(kept.starts_with("release 1.4.0 kept: bundle "), "{kept}");

    let foreign = dir.with_file_name("foreign.bundle");
    std::fs::write(&foreign, bundle_signed_by("1.5.0", 100, &stranger_key())).unwrap();
    let refused = with_keys(dir, &["release", "upload", foreign.to_str().unwrap()]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("does not trust"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "{error}");

    let listed = stdout_of(&run(dir, &["release", "list"]));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("1.4.0 "), "{listed}");
    let shelf: Vec<_> = std::fs::read_dir(dir.join("releases")).unwrap().collect();
    assert_eq!(shelf.len(), 1, "the refused bundle left nothing");

    let created = stdout_of(&run(
        dir,
        &[
            "rollout",
            "create",
            "1.4.0",
            "--percent",
            "10",
            "--village",
            "示范县/凤岭乡/石门村",
        ],
    ));
    assert!(
        created.starts_with("rollout 1 started: 1.4.0 to 10 %, 示范县/凤岭乡/石门村"),
        "{created}"
    );
    assert!(stdout_of(&run(dir, &["rollout", "pause", "1"])).contains("is paused"));
    assert!(stdout_of(&run(dir, &["rollout", "widen", "1", "--percent", "30"])).contains("30 %"));
    let again = run(dir, &["rollout", "pause", "1"]);
    assert!(
        !again.status.success(),
        "pausing a paused rollout is refused"
    );
    assert!(stdout_of(&run(dir, &["rollout", "stop", "1"])).contains("is stopped"));
    let list = stdout_of(&run(dir, &["rollout", "list"]));
    assert!(
        list.starts_with("1  1.4.0  stopped  [30 %, 示范县/凤岭乡/石门村]"),
        "{list}"
    );
    let unknown = run(dir, &["rollout", "create", "9.9.9", "--percent", "10"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no release 9.9.9"));
}
