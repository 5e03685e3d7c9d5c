//! The release manifest: what a bundle is (version, which running versions it may replace,
//! which store schemas it reads and writes, which keys it introduces or retires) and exactly
//! which files it carries (path, SHA-256, size, mode).
//!
//! The manifest is JSON, read strictly (`deny_unknown_fields`, a `format` number): a field
//! this booth does not know could be a rule it would fail to apply. It is the signed part of
//! a bundle; the files are bound to it by their hashes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::{KeyId, PublicKey};
use crate::version::{Version, shown};

/// The manifest format this crate reads and writes.
pub const FORMAT: u32 = 1;
/// The longest release notes, in bytes: notes are for the technician's log, not a changelog.
pub const MAX_NOTES_BYTES: usize = 4096;
/// The most keys one manifest introduces, or retires.
pub const MAX_KEYS: usize = 16;
/// The longest path of a release file, in bytes. (The bundle's tar headers may take less,
/// depending on where the `/`s fall; `pack` checks that.)
pub const MAX_PATH_BYTES: usize = 240;
/// Where a bundle's files sit in its archive: `files/<path>`.
pub const FILES_DIR: &str = "files/";

/// A release manifest. Build it with [`crate::pack`]; read it with [`Manifest::from_json`],
/// which also [validates](Manifest::validate) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: u32,
    pub version: Version,
    /// The lowest running version this release may replace.
    pub min_version: Version,
    /// The explicit downgrade permission: this release may be installed on a booth whose
    /// highest-ever-installed version is at most this, though it is lower. A manifest can
    /// only name a version that existed when it was signed, so replaying an old bundle never
    /// undoes a later release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes_highest: Option<Version>,
    pub store: StoreSchemas,
    /// In strictly ascending path order, which is also their order in the bundle.
    pub files: Vec<FileEntry>,
    pub introduces_keys: Vec<PublicKey>,
    pub retires_keys: Vec<PublicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The store schema versions a release reads and the one it writes (migrates to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSchemas {
    pub reads: SchemaRange,
    pub writes: u32,
}

/// An inclusive range of store schema versions, written `[min, max]` in JSON and `min..max`
/// on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaRange {
    min: u32,
    max: u32,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: BundlePath,
    pub sha256: Sha256Digest,
    pub size: u64,
    pub mode: FileMode,
}

/// A file's path inside the release: relative, `/`-separated, each component non-empty and
/// neither `.` nor `..`, of ASCII letters, digits and `. _ - + @ ~`, at most
/// [`MAX_PATH_BYTES`] long.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundlePath(String);

/// A file's SHA-256, lowercase hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

/// The two modes a release file may have: `0644` or `0755`, nothing setuid, nothing
/// writable by others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileMode {
    Regular,
    Executable,
}

/// Why a path cannot be a release file's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("a release file's path is empty: name the file")]
    Empty,
    #[error("`{0}` is absolute: release paths are relative to the release's directory")]
    Absolute(String),
    #[error("`{0}` has a `..` component: release paths stay inside the release's directory")]
    DotDot(String),
    #[error(
        "`{0}` has an empty or `.` component: write the path without `//`, `./` or a final `/`"
    )]
    EmptyComponent(String),
    #[error("`{0}` has a backslash: release paths are separated by `/`")]
    Backslash(String),
    #[error(
        "`{path}` has {what}: release paths are ASCII letters, digits, `/` and `. _ - + @ ~`; rename the file"
    )]
    Character { path: String, what: String },
    #[error("`{0}` is longer than {MAX_PATH_BYTES} bytes: shorten it")]
    TooLong(String),
}

/// Why a manifest is refused (after its signature verified, or before signing).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "manifest.json is not a release manifest ({0}): sign the release with this version of booth-release"
    )]
    Json(#[source] serde_json::Error),
    #[error(
        "the manifest has format {0}, and this booth reads format {FORMAT}: install the release that brings the newer reader first"
    )]
    Format(u32),
    #[error(
        "release {version} says it replaces versions from {min_version}, which is newer than itself: set --min-version at most {version}"
    )]
    MinAboveVersion {
        version: Version,
        min_version: Version,
    },
    #[error(
        "release {version} supersedes up to {supersedes}, which is not newer than itself: a downgrade permission names the newer version being replaced"
    )]
    SupersedesNotNewer {
        version: Version,
        supersedes: Version,
    },
    #[error(
        "release {version} writes store schema {writes} but reads only {reads}: a release must read the schema it writes"
    )]
    WritesUnreadable {
        version: Version,
        writes: u32,
        reads: SchemaRange,
    },
    #[error("release {0} has no files: give the directory of the release's files")]
    NoFiles(Version),
    #[error("the manifest lists `{0}` twice: each file once")]
    DuplicatePath(BundlePath),
    #[error(
        "the manifest's files are not in path order at `{0}`: sign it again with booth-release"
    )]
    Unsorted(BundlePath),
    #[error("`{file}` is a file and also a directory of `{inner}`: a path is one or the other")]
    FileIsDirectory { file: BundlePath, inner: BundlePath },
    #[error("the files' sizes add up to more than 2^64 bytes: this is not a real release")]
    TotalOverflow,
    #[error("the manifest {which} {count} keys, more than {MAX_KEYS}: rotate fewer keys at a time")]
    TooManyKeys { which: &'static str, count: usize },
    #[error("the manifest {which} key {key} twice: name each key once")]
    DuplicateKey { which: &'static str, key: KeyId },
    #[error("the manifest both introduces and retires key {0}: do one or the other")]
    IntroducedAndRetired(KeyId),
    #[error("the release notes are {0} bytes, more than {MAX_NOTES_BYTES}: shorten them")]
    NotesTooLong(usize),
    #[error("the release notes hold a control character: plain text and line breaks only")]
    NotesControl,
}

impl Manifest {
    /// Reads and validates manifest bytes. Call it only on bytes whose signature verified:
    /// [`crate::verify_manifest`] does.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The bytes `pack` signs and puts in the bundle: pretty JSON (a technician may read it
    /// with `tar xOf bundle manifest.json`) with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes =
            serde_json::to_vec_pretty(self).expect("a manifest is plain data and serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The rules every manifest meets, whatever the booth: checked when signing so that no
    /// bundle booths would refuse is made, and again when reading.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.format != FORMAT {
            return Err(ManifestError::Format(self.format));
        }
        if self.min_version > self.version {
            return Err(ManifestError::MinAboveVersion {
                version: self.version,
                min_version: self.min_version,
            });
        }
        if let Some(supersedes) = self.supersedes_highest
            && supersedes <= self.version
        {
            return Err(ManifestError::SupersedesNotNewer {
                version: self.version,
                supersedes,
            });
        }
        if !self.store.reads.contains(self.store.writes) {
            return Err(ManifestError::WritesUnreadable {
                version: self.version,
                writes: self.store.writes,
                reads: self.store.reads,
            });
        }
        self.validate_files()?;
        self.validate_keys()?;
        if let Some(notes) = &self.notes {
            if notes.len() > MAX_NOTES_BYTES {
                return Err(ManifestError::NotesTooLong(notes.len()));
            }
            if notes
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(ManifestError::NotesControl);
            }
        }
        Ok(())
    }

    fn validate_files(&self) -> Result<(), ManifestError> {
        if self.files.is_empty() {
            return Err(ManifestError::NoFiles(self.version));
        }
        for pair in self.files.windows(2) {
            match pair[0].path.cmp(&pair[1].path) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(ManifestError::DuplicatePath(pair[1].path.clone()));
                }
                std::cmp::Ordering::Greater => {
                    return Err(ManifestError::Unsorted(pair[1].path.clone()));
                }
            }
        }
        // Staging creates directories for the files' parents: `a` and `a/b` cannot both be.
        let files: BTreeSet<&str> = self.files.iter().map(|f| f.path.as_str()).collect();
        for file in &self.files {
            for parent in file.path.parents() {
                if files.contains(parent) {
                    return Err(ManifestError::FileIsDirectory {
                        file: BundlePath(parent.to_owned()),
                        inner: file.path.clone(),
                    });
                }
            }
        }
        self.total_size()
            .map(|_| ())
            .ok_or(ManifestError::TotalOverflow)
    }

    fn validate_keys(&self) -> Result<(), ManifestError> {
        for (which, keys) in [
            ("introduces", &self.introduces_keys),
            ("retires", &self.retires_keys),
        ] {
            if keys.len() > MAX_KEYS {
                return Err(ManifestError::TooManyKeys {
                    which,
                    count: keys.len(),
                });
            }
            let mut seen = BTreeSet::new();
            if let Some(key) = keys.iter().find(|key| !seen.insert(**key)) {
                return Err(ManifestError::DuplicateKey {
                    which,
                    key: key.key_id(),
                });
            }
        }
        match self
            .introduces_keys
            .iter()
            .find(|key| self.retires_keys.contains(key))
        {
            Some(key) => Err(ManifestError::IntroducedAndRetired(key.key_id())),
            None => Ok(()),
        }
    }

    /// The sum of the files' sizes; `None` beyond `u64`.
    pub fn total_size(&self) -> Option<u64> {
        self.files
            .iter()
            .try_fold(0u64, |total, file| total.checked_add(file.size))
    }
}

impl SchemaRange {
    /// `min..=max`; `None` when `min > max`.
    pub fn new(min: u32, max: u32) -> Option<Self> {
        (min <= max).then_some(Self { min, max })
    }

    pub fn min(&self) -> u32 {
        self.min
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    pub fn contains(&self, schema: u32) -> bool {
        (self.min..=self.max).contains(&schema)
    }
}

impl fmt::Display for SchemaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.min, self.max)
    }
}

/// Why text is not a schema range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a range of store schemas: give it as MIN..MAX (inclusive), like 3..5, or one number"
)]
pub struct SchemaRangeError(String);

impl FromStr for SchemaRange {
    type Err = SchemaRangeError;

    /// `MIN..MAX` (inclusive) or a single `N`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (min, max) = match text.split_once("..") {
            Some((min, max)) => (number(min), number(max)),
            None => (number(text), number(text)),
        };
        min.zip(max)
            .and_then(|(min, max)| Self::new(min, max))
            .ok_or_else(|| SchemaRangeError(shown(text)))
    }
}

impl Serialize for SchemaRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.min, self.max].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SchemaRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [min, max] = <[u32; 2]>::deserialize(deserializer)?;
        Self::new(min, max).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "store reads [{min}, {max}]: the first schema must not be above the second"
            ))
        })
    }
}

impl BundlePath {
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let quoted = || shown(path);
        if path.is_empty() {
            return Err(PathError::Empty);
        }
        if path.starts_with('/') {
            return Err(PathError::Absolute(quoted()));
        }
        if path.contains('\\') {
            return Err(PathError::Backslash(quoted()));
        }
        for component in path.split('/') {
            match component {
                ".." => return Err(PathError::DotDot(quoted())),
                "" | "." => return Err(PathError::EmptyComponent(quoted())),
                _ => {}
            }
        }
        if let Some(c) = path
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || "/._-+@~".contains(c)))
        {
            let what = if c.is_ascii_graphic() {
                format!("`{c}`")
            } else {
                format!("the character U+{:04X}", u32::from(c))
            };
            return Err(PathError::Character {
                path: quoted(),
                what,
            });
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(quoted()));
        }
        Ok(Self(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The entry's name in the bundle's archive.
    pub fn entry_name(&self) -> String {
        format!("{FILES_DIR}{}", self.0)
    }

    /// `a/b/c` → `a`, `a/b`.
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(at, _)| &self.0[..at])
    }
}

impl fmt::Display for BundlePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for BundlePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BundlePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Sha256Digest {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "sha256 `{}` is not 64 lowercase hex digits",
                shown(&text)
            ))
        })
    }
}

impl FileMode {
    /// From a file's permission bits: executable if anyone may execute it.
    pub fn of_permissions(mode: u32) -> Self {
        if mode & 0o111 != 0 {
            Self::Executable
        } else {
            Self::Regular
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Self::Regular => 0o644,
            Self::Executable => 0o755,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Regular => "0644",
            Self::Executable => "0755",
        }
    }
}

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text())
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "0644" => Ok(Self::Regular),
            "0755" => Ok(Self::Executable),
            other => Err(serde::de::Error::custom(format!(
                "mode `{}` is neither \"0644\" nor \"0755\"",
                shown(other)
            ))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    pub(crate) fn file(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: BundlePath::parse(path).unwrap(),
            sha256: Sha256Digest([7; 32]),
            size,
            mode: FileMode::Regular,
        }
    }

    pub(crate) fn manifest(version: &str) -> Manifest {
        Manifest {
            format: FORMAT,
            version: version.parse().unwrap(),
            min_version: "1.0.0".parse().unwrap(),
            supersedes_highest: None,
            store: StoreSchemas {
                reads: SchemaRange::new(3, 4).unwrap(),
                writes: 4,
            },
            files: vec![file("bin/kiosk", 10), file("share/catalog.json", 3)],
            introduces_keys: vec![],
            retires_keys: vec![],
            notes: None,
        }
    }

    fn key(seed: u8) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&[seed; 32]))
    }

    #[test]
    fn a_manifest_round_trips_through_its_json() {
        let mut m = manifest("1.2.0");
        m.supersedes_highest = Some("1.3.0".parse().unwrap());
        m.introduces_keys = vec![key(1)];
        m.notes = Some("fixes the printer's paper-out check\n".into());
        m.files[0].mode = FileMode::Executable;
        let json = m.to_json();
        let text = std::str::from_utf8(&json).unwrap();
        for expected in [
            r#""format": 1"#,
            r#""version": "1.2.0""#,
            r#""supersedes_highest": "1.3.0""#,
            r#""mode": "0755""#,
            r#""sha256": "0707"#,
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(
            text.contains("\"reads\": [\n      3,\n      4\n    ]"),
            "{text}"
        );
        assert_eq!(Manifest::from_json(&json).unwrap(), m);
        let plain = manifest("1.2.0").to_json();
        assert!(
            !String::from_utf8(plain)
                .unwrap()
                .contains("supersedes_highest")
        );
    }

    #[test]
    fn unknown_fields_and_malformed_values_are_refused() {
        let good = String::from_utf8(manifest("1.2.0").to_json()).unwrap();
        for bad in [
            good.replacen("{", r#"{"expires": "2030-01-01","#, 1),
            good.replace(r#""size": 10,"#, r#""size": 10, "owner": "root","#),
            good.replace(r#""writes": 4"#, r#""writes": 4, "drops": 2"#),
            good.replace(r#""mode": "0644""#, r#""mode": "4755""#),
            good.replace(r#""mode": "0644""#, r#""mode": 420"#),
            good.replace("0707", "0G07"),
            good.replace("0707", "0A07"),
            good.replace(r#""version": "1.2.0""#, r#""version": "1.2""#),
            good.replace("bin/kiosk", "../kiosk"),
            good.replace("bin/kiosk", "/bin/kiosk"),
            good.replace("\"introduces_keys\": [],", ""),
            good.replace("3,\n      4", "4,\n      3"),
            good.replace(
                r#""version": "1.2.0","#,
                r#""version": "1.2.0", "version": "9.0.0","#,
            ),
        ] {
            assert!(Manifest::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_version_rules_are_checked() {
        let mut m = manifest("1.2.0");
        m.format = 2;
        assert!(matches!(m.validate(), Err(ManifestError::Format(2))));
        let mut m = manifest("1.2.0");
        m.min_version = "1.3.0".parse().unwrap();
        assert!(matches!(
            m.validate(),
            Err(ManifestError::MinAboveVersion { .. })
        ));
        let mut m = manifest("1.2.0");
        m.supersedes_highest = Some("1.2.0".parse().unwrap());
        assert!(matches!(
            m.validate(),
            Err(ManifestError::SupersedesNotNewer { .. })
        ));
        let mut m = manifest("1.2.0");
        m.store.writes = 5;
        let err = m.validate().unwrap_err();
        assert!(matches!(err, ManifestError::WritesUnreadable { .. }));
        assert_eq!(
            err.to_string(),
            "release 1.2.0 writes store schema 5 but reads only 3..4: a release must read the schema it writes"
        );
    }

    #[test]
    fn files_are_unique_sorted_and_never_a_directory_of_another() {
        let mut m = manifest("1.2.0");
        m.files.clear();
        assert!(matches!(m.validate(), Err(ManifestError::NoFiles(_))));
        let mut m = manifest("1.2.0");
        m.files.push(file("share/catalog.json", 1));
        assert!(matches!(m.validate(), Err(ManifestError::DuplicatePath(_))));
        let mut m = manifest("1.2.0");
        m.files.reverse();
        assert!(matches!(m.validate(), Err(ManifestError::Unsorted(_))));
        let mut m = manifest("1.2.0");
        m.files = vec![file("bin", 1), file("bin/kiosk", 1)];
        let err = m.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`bin` is a file and also a directory of `bin/kiosk`: a path is one or the other"
        );
        let mut m = manifest("1.2.0");
        m.files = vec![file("a", u64::MAX), file("b", 1)];
        assert!(matches!(m.validate(), Err(ManifestError::TotalOverflow)));
    }

    #[test]
    fn keys_and_notes_are_bounded() {
        let mut m = manifest("1.2.0");
        m.introduces_keys = vec![key(1), key(1)];
        assert!(matches!(
            m.validate(),
            Err(ManifestError::DuplicateKey { .. })
        ));
        let mut m = manifest("1.2.0");
        m.introduces_keys = vec![key(1)];
        m.retires_keys = vec![key(2), key(1)];
        assert!(matches!(
            m.validate(),
            Err(ManifestError::IntroducedAndRetired(_))
        ));
        let mut m = manifest("1.2.0");
        m.retires_keys = (0..=MAX_KEYS as u8).map(|seed| key(seed + 1)).collect();
        assert!(matches!(
            m.validate(),
            Err(ManifestError::TooManyKeys { .. })
        ));
        let mut m = manifest("1.2.0");
        m.notes = Some("x".repeat(MAX_NOTES_BYTES + 1));
        assert!(matches!(m.validate(), Err(ManifestError::NotesTooLong(_))));
        m.notes = Some("line\u{1b}[2J".into());
        assert!(matches!(m.validate(), Err(ManifestError::NotesControl)));
        m.notes = Some("第一行\n\tsecond line".into());
        assert!(m.validate().is_ok());
    }

    #[test]
    fn paths_that_could_leave_the_staging_directory_are_refused() {
        for good in [
            "kiosk",
            "usr/bin/kiosk",
            ".config/x",
            "a-b_c+d@e~f.g",
            "a.partial",
        ] {
            assert_eq!(BundlePath::parse(good).unwrap().as_str(), good);
        }
        type IsExpected = fn(&PathError) -> bool;
        let cases: [(&str, IsExpected); 12] = [
            ("", |e| matches!(e, PathError::Empty)),
            ("/etc/passwd", |e| matches!(e, PathError::Absolute(_))),
            ("../x", |e| matches!(e, PathError::DotDot(_))),
            ("a/../../x", |e| matches!(e, PathError::DotDot(_))),
            ("a//b", |e| matches!(e, PathError::EmptyComponent(_))),
            ("a/./b", |e| matches!(e, PathError::EmptyComponent(_))),
            ("a/", |e| matches!(e, PathError::EmptyComponent(_))),
            ("..\\x", |e| matches!(e, PathError::Backslash(_))),
            ("a b", |e| matches!(e, PathError::Character { .. })),
            ("a\nb", |e| matches!(e, PathError::Character { .. })),
            ("文件", |e| matches!(e, PathError::Character { .. })),
            ("a\0b", |e| matches!(e, PathError::Character { .. })),
        ];
        for (bad, expected) in cases {
            let err = BundlePath::parse(bad).unwrap_err();
            assert!(expected(&err), "{bad:?}: {err:?}");
        }
        assert!(matches!(
            BundlePath::parse(&"x".repeat(MAX_PATH_BYTES + 1)),
            Err(PathError::TooLong(_))
        ));
        assert!(BundlePath::parse(&"x".repeat(MAX_PATH_BYTES)).is_ok());
        let err = BundlePath::parse("a\nb").unwrap_err().to_string();
        assert!(err.contains("U+000A") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn schema_ranges_parse_from_the_command_line() {
        assert_eq!("3..5".parse(), Ok(SchemaRange::new(3, 5).unwrap()));
        assert_eq!("4".parse(), Ok(SchemaRange::new(4, 4).unwrap()));
        for bad in ["5..3", "3..", "..5", "3...5", "a..b", "-1..2", "3..=5", ""] {
            assert!(bad.parse::<SchemaRange>().is_err(), "{bad}");
        }
        assert!(SchemaRange::new(3, 5).unwrap().contains(5));
        assert!(!SchemaRange::new(3, 5).unwrap().contains(6));
    }
}
