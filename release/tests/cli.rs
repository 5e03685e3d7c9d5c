//! The real binary: keygen → sign → verify → stage, and a bundle changed in each of its
//! regions refused with nothing left staged.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::Command;

use common::{fails, keygen, ok, path, release_args, release_dir, run, sign};

#[test]
fn keygen_writes_the_secret_key_once_readable_by_its_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("release.key");
    let stdout = ok(&["keygen", "--out", path(&file)]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("ed25519:"), "{stdout}");
    let id = lines[1].strip_prefix("key id ").unwrap();
    assert_eq!(id.len(), 16);
    assert_eq!(ok(&["keyid", lines[0]]).trim(), id);

    let meta = fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let secret = fs::read_to_string(&file).unwrap();
    assert!(secret.starts_with("booth-release-secret-key-v1:") && secret.ends_with('\n'));
    assert_eq!(secret.lines().count(), 1);
    // The public key is not the secret.
    assert!(!secret.contains(lines[0].strip_prefix("ed25519:").unwrap()));

    let err = fails(&["keygen", "--out", path(&file)]);
    assert!(
        err.contains("already exists") && err.contains("never overwrites"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), secret);
}

#[test]
fn a_signed_bundle_verifies_stages_and_is_the_same_when_signed_again() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k1");
    let from = release_dir(dir.path(), "a");
    let mut args = release_args("1.2.0");
    args.extend(["--notes".to_owned(), "fixes paper-out".to_owned()]);
    let bundle = sign(&key, &from, &dir.path().join("r.bundle"), &args);

    let again = sign(&key, &from, &dir.path().join("again.bundle"), &args);
    assert_eq!(fs::read(&bundle).unwrap(), fs::read(&again).unwrap());
    assert!(!dir.path().join("r.bundle.partial").exists());

    let stdout = ok(&["verify", "--trust", &public, path(&bundle)]);
    let id = ok(&["keyid", &public]).trim().to_owned();
    for expected in [
        "bundle verified: release 1.2.0",
        "replaces       1.0.0 or later",
        "store          reads schemas 3..4, writes 4",
        "files          4, 3612 bytes",
        &format!("signed by      {id}"),
        "notes          fixes paper-out",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }

    let stage = dir.path().join("stage");
    let stdout = ok(&[
        "verify",
        "--trust",
        &public,
        path(&bundle),
        "--stage",
        path(&stage),
    ]);
    assert!(stdout.ends_with(&format!("staged into {}\n", stage.display())));
    assert_same_tree(&from, &stage);
}

/// Same files, same bytes, same modes (0755 or 0644).
fn assert_same_tree(expected: &Path, actual: &Path) {
    let list = |root: &Path| {
        let mut out = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_owned();
                    let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                    out.push((rel, fs::read(&p).unwrap(), mode));
                }
            }
        }
        out.sort();
        out
    };
    let (expected, actual) = (list(expected), list(actual));
    assert_eq!(
        expected.iter().map(|e| &e.0).collect::<Vec<_>>(),
        actual.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert_eq!(expected, actual);
}

#[test]
fn a_bundle_is_a_plain_tar_that_gnu_tar_lists_and_unpacks() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "k1");
    let from = release_dir(dir.path(), "a");
    let bundle = sign(
        &key,
        &from,
        &dir.path().join("r.bundle"),
        &release_args("1.2.0"),
    );
    let out = dir.path().join("unpacked");
    fs::create_dir(&out).unwrap();
    let status = Command::new("tar")
        .args(["-xf", path(&bundle), "-C", path(&out)])
        .status()
        .expect("GNU tar is installed");
    assert!(status.success());
    assert!(out.join("manifest.json").is_file() && out.join("manifest.sig").is_file());
    assert_same_tree(&from, &out.join("files"));
}

/// The regions of a bundle: each header, each entry's data and padding, the end marker.
fn regions(bytes: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let header = &bytes[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            out.push(("the end marker".to_owned(), at..bytes.len()));
            return out;
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8(header[..name_end].to_vec()).unwrap();
        let size_text = std::str::from_utf8(&header[124..135]).unwrap();
        let size = usize::from_str_radix(size_text, 8).unwrap();
        out.push((format!("the header of {name}"), at..at + 512));
        at += 512;
        if size > 0 {
            out.push((format!("the data of {name}"), at..at + size));
        }
        let padded = size.div_ceil(512) * 512;
        if padded > size {
            out.push((format!("the padding of {name}"), at + size..at + padded));
        }
        at += padded;
    }
}

#[test]
fn a_byte_changed_in_any_region_is_refused_and_nothing_is_staged() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k1");
    let from = release_dir(dir.path(), "a");
    let bundle = sign(
        &key,
        &from,
        &dir.path().join("r.bundle"),
        &release_args("1.2.0"),
    );
    let bytes = fs::read(&bundle).unwrap();
    let regions = regions(&bytes);
    let names: Vec<&str> = regions.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "the header of manifest.json",
            "the data of manifest.json",
            "the padding of manifest.json",
            "the header of manifest.sig",
            "the data of manifest.sig",
            "the padding of manifest.sig",
            "the header of files/bin/kiosk",
            "the data of files/bin/kiosk",
            "the padding of files/bin/kiosk",
            "the header of files/share/booth/catalog.json",
            "the data of files/share/booth/catalog.json",
            "the padding of files/share/booth/catalog.json",
            "the header of files/share/booth/data.bin",
            "the data of files/share/booth/data.bin",
            "the padding of files/share/booth/data.bin",
            "the header of files/share/empty",
            "the end marker",
        ]
    );

    let changed = dir.path().join("changed.bundle");
    for (name, range) in &regions {
        for at in [range.start, (range.start + range.end) / 2, range.end - 1] {
            let mut tampered = bytes.clone();
            tampered[at] ^= 0x01;
            fs::write(&changed, &tampered).unwrap();
            let stage = dir.path().join("stage");
            let err = fails(&[
                "verify",
                "--trust",
                &public,
                path(&changed),
                "--stage",
                path(&stage),
            ]);
            assert!(!stage.exists(), "{name}, byte {at}: something was staged");
            let expected = if name.starts_with("the header") {
                "tar header"
            } else if name == "the data of manifest.json" {
                "does not verify"
            } else if let Some(file) = name.strip_prefix("the data of files/") {
                &format!("files/{file}` does not match its SHA-256")
            } else if name.starts_with("the padding") {
                "padding after"
            } else if name == "the end marker" {
                "altered"
            } else {
                // manifest.sig: a changed signature does not verify, a changed key is not
                // trusted, a changed bracket is not JSON; each is its own refusal.
                ""
            };
            assert!(err.contains(expected), "{name}, byte {at}: {err}");
        }
    }

    // An existing empty staging directory is left empty.
    let stage = dir.path().join("kept");
    fs::create_dir(&stage).unwrap();
    let mut tampered = bytes;
    let last_data = &regions[13].1;
    tampered[last_data.end - 1] ^= 0x01;
    fs::write(&changed, &tampered).unwrap();
    fails(&[
        "verify",
        "--trust",
        &public,
        path(&changed),
        "--stage",
        path(&stage),
    ]);
    assert_eq!(fs::read_dir(&stage).unwrap().count(), 0);
}

#[test]
fn cut_short_or_lengthened_bundles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k1");
    let from = release_dir(dir.path(), "a");
    let bundle = sign(
        &key,
        &from,
        &dir.path().join("r.bundle"),
        &release_args("1.2.0"),
    );
    let bytes = fs::read(&bundle).unwrap();
    let changed = dir.path().join("changed.bundle");
    let stage = dir.path().join("stage");
    let end = bytes.len() - 1024;
    for len in [0, 511, 1024, bytes.len() / 2, end, bytes.len() - 1] {
        fs::write(&changed, &bytes[..len]).unwrap();
        let err = fails(&[
            "verify",
            "--trust",
            &public,
            path(&changed),
            "--stage",
            path(&stage),
        ]);
        assert!(
            err.contains("cut short") || err.contains("end marker"),
            "{len}: {err}"
        );
        assert!(!stage.exists());
    }
    // An extra file after the last listed one.
    let mut longer = bytes[..end].to_vec();
    let mut header = bytes[regions(&bytes)[15].1.clone()].to_vec();
    header[..100].fill(0);
    header[..11].copy_from_slice(b"files/extra");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    longer.extend_from_slice(&header);
    longer.extend_from_slice(&[0; 1024]);
    fs::write(&changed, &longer).unwrap();
    let err = fails(&[
        "verify",
        "--trust",
        &public,
        path(&changed),
        "--stage",
        path(&stage),
    ]);
    assert!(err.contains("`files/extra` after its last file"), "{err}");
    assert!(!stage.exists());
    // Anything after the end marker.
    let mut trailing = bytes;
    trailing.extend_from_slice(&[0; 512]);
    fs::write(&changed, &trailing).unwrap();
    let err = fails(&["verify", "--trust", &public, path(&changed)]);
    assert!(err.contains("goes on after its end marker"), "{err}");
}

#[test]
fn a_bundle_signed_by_an_unknown_key_is_refused_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, signer) = keygen(dir.path(), "k1");
    let (_, other) = keygen(dir.path(), "k2");
    let from = release_dir(dir.path(), "a");
    let bundle = sign(
        &key,
        &from,
        &dir.path().join("r.bundle"),
        &release_args("1.2.0"),
    );
    let stage = dir.path().join("stage");
    let err = fails(&[
        "verify",
        "--trust",
        &other,
        path(&bundle),
        "--stage",
        path(&stage),
    ]);
    let id = ok(&["keyid", &signer]).trim().to_owned();
    assert!(
        err.contains(&format!(
            "signed only by {id}, which this booth does not trust"
        )),
        "{err}"
    );
    assert!(!stage.exists());
}

#[test]
fn a_rotation_bundle_signed_by_both_keys_verifies_with_either() {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_public) = keygen(dir.path(), "old");
    let (new, new_public) = keygen(dir.path(), "new");
    let from = release_dir(dir.path(), "a");
    let mut args = release_args("1.1.0");
    args.extend([
        "--also-key".to_owned(),
        path(&new).to_owned(),
        "--introduce-key".to_owned(),
        new_public.clone(),
    ]);
    let bundle = sign(&old, &from, &dir.path().join("r.bundle"), &args);
    let old_id = ok(&["keyid", &old_public]).trim().to_owned();
    let new_id = ok(&["keyid", &new_public]).trim().to_owned();
    let stdout = ok(&["verify", "--trust", &old_public, path(&bundle)]);
    assert!(
        stdout.contains(&format!("signed by      {old_id}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("introduces     {new_id} ({new_public})")),
        "{stdout}"
    );
    let stdout = ok(&["verify", "--trust", &new_public, path(&bundle)]);
    assert!(
        stdout.contains(&format!("signed by      {new_id}\n")),
        "{stdout}"
    );
    let stdout = ok(&[
        "verify",
        "--trust",
        &new_public,
        "--trust",
        &old_public,
        path(&bundle),
    ]);
    assert!(
        stdout.contains(&format!("signed by      {old_id}, {new_id}\n")),
        "{stdout}"
    );
}

#[test]
fn sign_refuses_what_would_make_a_bad_or_leaky_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "k1");
    let from = release_dir(dir.path(), "a");
    let out = dir.path().join("r.bundle");
    let sign_args = |extra: &[&str]| {
        let mut args = vec!["sign", "--key", path(&key), "--from", path(&from)];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run_sign = |extra: &[&str]| {
        let args = sign_args(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&refs)
    };
    let plain: Vec<String> = release_args("1.2.0");
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();

    let inside = from.join("r.bundle");
    let err = run_sign(&[&plain[..], &["--out", path(&inside)]].concat());
    assert!(err.contains("inside --from"), "{err}");
    assert!(!inside.exists() && !from.join("r.bundle.partial").exists());

    symlink("/etc/passwd", from.join("share/passwd")).unwrap();
    let err = run_sign(&[&plain[..], &["--out", path(&out)]].concat());
    assert!(err.contains("share/passwd is a symbolic link"), "{err}");
    assert!(!out.exists() && !dir.path().join("r.bundle.partial").exists());
    fs::remove_file(from.join("share/passwd")).unwrap();

    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = run_sign(&[&plain[..], &["--out", path(&out)]].concat());
    assert!(
        err.contains("may be read by other users: chmod 600"),
        "{err}"
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();

    let err = run_sign(&[
        "--version",
        "1.2.0",
        "--min-version",
        "1.0.0",
        "--store-reads",
        "3..4",
        "--store-writes",
        "5",
        "--out",
        path(&out),
    ]);
    assert!(
        err.contains("writes store schema 5 but reads only 3..4"),
        "{err}"
    );

    fs::write(&out, b"precious").unwrap();
    let err = run_sign(&[&plain[..], &["--out", path(&out)]].concat());
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read(&out).unwrap(), b"precious");

    let not_a_key = dir.path().join("not-a-key");
    fs::write(&not_a_key, "ed25519:AAAA\n").unwrap();
    fs::set_permissions(&not_a_key, fs::Permissions::from_mode(0o600)).unwrap();
    let unused_out = dir.path().join("x");
    let args = [
        &[
            "sign",
            "--key",
            path(&not_a_key),
            "--from",
            path(&from),
            "--out",
            path(&unused_out),
        ][..],
        &plain[..],
    ]
    .concat();
    let err = fails(&args);
    assert!(
        err.contains("not-a-key: this is not a booth-release secret key"),
        "{err}"
    );
}

#[test]
fn malformed_arguments_are_refused_by_the_parser_with_our_reason() {
    let output = run(&["keyid", "ed25519:nope"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("is not a release public key"), "{stderr}");
    let output = run(&[
        "sign",
        "--key",
        "k",
        "--from",
        "d",
        "--out",
        "o",
        "--version",
        "1.2",
        "--min-version",
        "1.0.0",
        "--store-reads",
        "3..4",
        "--store-writes",
        "4",
    ]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("`1.2` is not a release version"),
        "{stderr}"
    );
}
