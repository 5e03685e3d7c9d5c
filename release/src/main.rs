//! `booth-release`: make a release key, sign a release into a bundle, check a bundle.
//!
//! `keygen` and `sign` run on the signer's offline machine, the only place the secret key
//! exists; `verify` and `keyid` run anywhere. The binary's edge, and the only place `anyhow`
//! is used: the library's errors are typed.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use booth_release::{
    Bundle, Limits, PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas, TrustStore,
    VerifiedManifest, Version, decode_secret_key, encode_secret_key, generate_secret_key, pack,
};
use clap::{Parser, Subcommand};

/// Signed release bundles for over-the-air booth updates.
#[derive(Debug, Parser)]
#[command(name = "booth-release", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a new release key: the secret key goes to FILE (mode 0600, never overwritten);
    /// the public key and its key id are printed.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print a public key's key id.
    Keyid {
        #[arg(value_name = "PUB")]
        key: PublicKey,
    },
    /// Sign a release: pack the files under --from into a bundle signed with --key.
    Sign(SignArgs),
    /// Check a bundle against trusted public keys: its signature, then every file; with
    /// --stage, also write its files into DIR (new or empty).
    Verify {
        /// A trusted release public key (ed25519:…); repeat for more.
        #[arg(long = "trust", value_name = "PUB", required = true)]
        trust: Vec<PublicKey>,
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        #[arg(long, value_name = "DIR")]
        stage: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The secret key file `keygen` wrote.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// A second signing key (for a key rotation: old and new key both sign).
    #[arg(long, value_name = "FILE")]
    also_key: Vec<PathBuf>,
    /// The release's version, MAJOR.MINOR.PATCH.
    #[arg(long, value_name = "V")]
    version: Version,
    /// The lowest running version this release may replace.
    #[arg(long, value_name = "V")]
    min_version: Version,
    /// Allow this (lower) release on booths whose highest installed version is at most V.
    #[arg(long, value_name = "V")]
    supersedes_highest: Option<Version>,
    /// The store schemas the release reads, MIN..MAX inclusive.
    #[arg(long, value_name = "A..B")]
    store_reads: SchemaRange,
    /// The store schema the release writes (migrates to).
    #[arg(long, value_name = "N")]
    store_writes: u32,
    /// A public key booths trust once this release is installed; repeat for more.
    #[arg(long, value_name = "PUB")]
    introduce_key: Vec<PublicKey>,
    /// A public key booths stop trusting once this release is installed; repeat for more.
    #[arg(long, value_name = "PUB")]
    retire_key: Vec<PublicKey>,
    /// Short release notes for the technician's log.
    #[arg(long, value_name = "TEXT")]
    notes: Option<String>,
    /// The directory of the release's files (regular files and directories only).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// Where to write the bundle (must not exist yet).
    #[arg(long, value_name = "BUNDLE")]
    out: PathBuf,
}

/// A secret key file is one line of about 80 bytes.
const MAX_SECRET_KEY_FILE: u64 = 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("booth-release: {}", error_line::one_line(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

impl Command {
    fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Keygen { out } => keygen(&out),
            Self::Keyid { key } => {
                println!("{}", key.key_id());
                Ok(())
            }
            Self::Sign(args) => sign(&args),
            Self::Verify {
                trust,
                bundle,
                stage,
            } => verify(trust, &bundle, stage.as_deref()),
        }
    }
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    let key = generate_secret_key()?;
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|err| match err.kind() {
            io::ErrorKind::AlreadyExists => anyhow!(
                "{} already exists: keygen never overwrites a key; give another --out",
                out.display()
            ),
            _ => anyhow::Error::new(err).context(format!("cannot create {}", out.display())),
        })?;
    let written = file
        .write_all(encode_secret_key(&key).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(err) = written {
        // A half-written key file is no key: leave nothing that looks like one.
        let _ = fs::remove_file(out);
        return Err(anyhow::Error::new(err).context(format!("cannot write {}", out.display())));
    }
    let public = PublicKey::of(&key);
    println!("{public}");
    println!("key id {}", public.key_id());
    Ok(())
}

fn read_secret_key(path: &Path) -> anyhow::Result<SigningKey> {
    let meta = fs::metadata(path)
        .with_context(|| format!("cannot read the release key {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "the release key {} may be read by other users: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    if meta.len() > MAX_SECRET_KEY_FILE {
        bail!(
            "{} is not a booth-release secret key (it is {} bytes): give the file `booth-release keygen --out` wrote",
            path.display(),
            meta.len()
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the release key {}", path.display()))?;
    decode_secret_key(&text).with_context(|| path.display().to_string())
}

fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let mut keys = vec![read_secret_key(&args.key)?];
    for path in &args.also_key {
        keys.push(read_secret_key(path)?);
    }
    let keys: Vec<&SigningKey> = keys.iter().collect();
    let spec = ReleaseSpec {
        version: args.version,
        min_version: args.min_version,
        supersedes_highest: args.supersedes_highest,
        store: StoreSchemas {
            reads: args.store_reads,
            writes: args.store_writes,
        },
        introduces_keys: args.introduce_key.clone(),
        retires_keys: args.retire_key.clone(),
        notes: args.notes.clone(),
    };
    let out = &args.out;
    if fs::symlink_metadata(out).is_ok() {
        bail!(
            "{} already exists: give another --out, or remove it first",
            out.display()
        );
    }
    refuse_inside(out, &args.from)?;
    let partial = partial_path(out)?;
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let packed = pack(&args.from, &spec, &keys, BufWriter::new(&file))
        .map_err(anyhow::Error::new)
        .and_then(|manifest| {
            file.sync_all()
                .with_context(|| format!("cannot write {}", partial.display()))?;
            // Written beside and renamed: a file at --out is always a whole bundle.
            fs::rename(&partial, out).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), out.display())
            })?;
            Ok(manifest)
        });
    let manifest = match packed {
        Ok(manifest) => manifest,
        Err(err) => {
            let _ = fs::remove_file(&partial);
            return Err(err);
        }
    };
    let ids: Vec<String> = keys
        .iter()
        .map(|key| PublicKey::of(key).key_id().to_string())
        .collect();
    println!(
        "signed release {} ({} files, {} bytes) with key id {} into {}",
        manifest.version,
        manifest.files.len(),
        manifest.total_size().unwrap_or(0),
        ids.join(" and "),
        out.display()
    );
    Ok(())
}

/// `<out>.partial`, beside `out`.
fn partial_path(out: &Path) -> anyhow::Result<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| anyhow!("--out {} names no file: give a file name", out.display()))?;
    let mut partial = name.to_owned();
    partial.push(".partial");
    Ok(out.with_file_name(partial))
}

/// Refuses a bundle written inside the directory being packed: it would pack itself.
fn refuse_inside(out: &Path, from: &Path) -> anyhow::Result<()> {
    let from = fs::canonicalize(from)
        .with_context(|| format!("cannot read the release directory {}", from.display()))?;
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let parent = fs::canonicalize(parent)
        .with_context(|| format!("cannot write into {}", parent.display()))?;
    if parent.starts_with(&from) {
        bail!(
            "--out {} is inside --from {}: the bundle would pack itself; write it elsewhere",
            out.display(),
            from.display()
        );
    }
    Ok(())
}

fn verify(trust: Vec<PublicKey>, bundle: &Path, stage: Option<&Path>) -> anyhow::Result<()> {
    let trust = TrustStore::new(trust)?;
    let file = File::open(bundle)
        .with_context(|| format!("cannot open the bundle {}", bundle.display()))?;
    let refused = || format!("{} is refused", bundle.display());
    let opened = Bundle::open_and_verify(BufReader::new(file), &trust, Limits::default())
        .with_context(refused)?;
    let release = match stage {
        Some(dir) => opened.stage_into(dir),
        None => opened.check_files(),
    }
    .with_context(refused)?;
    print_summary(&release);
    if let Some(dir) = stage {
        println!("staged into {}", dir.display());
    }
    Ok(())
}

fn print_summary(release: &VerifiedManifest) {
    let manifest = release.manifest();
    let ids = |keys: &[PublicKey]| {
        keys.iter()
            .map(|key| format!("{} ({key})", key.key_id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("bundle verified: release {}", manifest.version);
    println!("  replaces       {} or later", manifest.min_version);
    if let Some(highest) = manifest.supersedes_highest {
        println!("  downgrade      allowed on booths that had at most {highest}");
    }
    println!(
        "  store          reads schemas {}, writes {}",
        manifest.store.reads, manifest.store.writes
    );
    println!(
        "  files          {}, {} bytes",
        manifest.files.len(),
        manifest.total_size().unwrap_or(0)
    );
    let signers: Vec<String> = release
        .signed_by()
        .iter()
        .map(|key| key.key_id().to_string())
        .collect();
    println!("  signed by      {}", signers.join(", "));
    if !manifest.introduces_keys.is_empty() {
        println!("  introduces     {}", ids(&manifest.introduces_keys));
    }
    if !manifest.retires_keys.is_empty() {
        println!("  retires        {}", ids(&manifest.retires_keys));
    }
    if let Some(notes) = &manifest.notes {
        for (i, line) in notes.lines().enumerate() {
            let label = if i == 0 { "notes" } else { "" };
            println!("  {label:<14} {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn partial_files_sit_beside_the_bundle() {
        assert_eq!(
            partial_path(Path::new("out/r.bundle")).unwrap(),
            Path::new("out/r.bundle.partial")
        );
        assert!(partial_path(Path::new("/")).is_err());
    }
}
