//! Which release this process is: the version of the installed release it was started from,
//! or the build's own version for the image's app (`/usr/bin/kiosk`) and everywhere else.
//!
//! A release is what was signed, not what was compiled: the same binary may be shipped as
//! 1.4.1 after 1.4.0 (a fix in its defaults, a re-signed bundle), and the updater judges the
//! trial of 1.4.1 by the version the kiosk reports. So the kiosk reads its release from where
//! it runs: `…/releases/<version>/files/bin/kiosk`, a root-owned directory the updater names
//! after the verified manifest, with that manifest beside it.

use std::path::Path;
use std::sync::OnceLock;

use booth_release::Version;

/// The build's own version: the image's app, a developer's build, the tests.
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// This process's release version (worked out once).
pub fn running_release() -> &'static str {
    static RUNNING: OnceLock<String> = OnceLock::new();
    RUNNING.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| release_of(&exe))
            .unwrap_or_else(|| BUILD_VERSION.to_owned())
    })
}

/// The version of the installed release `exe` belongs to, if it is one's `files/bin/kiosk`.
pub fn release_of(exe: &Path) -> Option<String> {
    let bin = exe.parent()?;
    let files = bin.parent()?;
    let release = files.parent()?;
    let is_release_layout = bin.file_name()? == "bin"
        && files.file_name()? == "files"
        && release.parent()?.file_name()? == "releases"
        && release.join("manifest.json").is_file();
    if !is_release_layout {
        return None;
    }
    let name = release.file_name()?.to_str()?;
    name.parse::<Version>()
        .ok()
        .map(|version| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(root: &Path, name: &str) -> std::path::PathBuf {
        let release = root.join("releases").join(name);
        std::fs::create_dir_all(release.join("files/bin")).unwrap();
        std::fs::write(release.join("manifest.json"), b"{}").unwrap();
        release.join("files/bin/kiosk")
    }

    #[test]
    fn an_installed_release_is_known_by_its_directory() {
        let root = tempfile::tempdir().unwrap();
        let exe = installed(root.path(), "1.4.1");
        assert_eq!(release_of(&exe).as_deref(), Some("1.4.1"));
    }

    #[test]
    fn anything_else_is_the_build() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(release_of(Path::new("/usr/bin/kiosk")), None);
        // A staging directory, a name that is no version, a release without its manifest.
        let partial = installed(root.path(), "1.4.1.partial");
        assert_eq!(release_of(&partial), None);
        let other = installed(root.path(), "factory");
        assert_eq!(release_of(&other), None);
        let bare = root.path().join("releases/1.5.0/files/bin/kiosk");
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        assert_eq!(release_of(&bare), None);
        assert_eq!(
            running_release(),
            BUILD_VERSION,
            "the test binary is no release"
        );
    }
}
