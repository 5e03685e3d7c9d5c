//! The kiosk unit's launcher (`kiosk/packaging/kiosk-launch`) runs what `booth-update`
//! installed: the factory app without an update, the current release after one, the factory
//! app again after a rollback to it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Booth, release};

fn launch(booth: &Booth) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/kiosk-launch");
    let output = Command::new("sh")
        .arg(script)
        .arg("--data-dir")
        .env("BOOTH_RELEASES", booth.releases())
        .env("BOOTH_FACTORY_KIOSK", booth.root.join("usr/bin/kiosk"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_launcher_runs_the_current_release_or_the_factory_app() {
    let booth = Booth::new();
    std::fs::set_permissions(
        booth.root.join("usr/bin/kiosk"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(
        launch(&booth),
        "factory\n",
        "a booth that never had an update"
    );
    booth.store_with(1);
    booth.request(&release("0.2.0"));
    booth.ok(&["install"]);
    assert_eq!(launch(&booth), "kiosk 0.2.0\n");
    for _ in 0..4 {
        booth.ok(&["start-attempt"]);
    }
    assert_eq!(booth.link("current").as_deref(), Some("factory"));
    assert_eq!(
        launch(&booth),
        "factory\n",
        "rolled back to the factory app"
    );
}
