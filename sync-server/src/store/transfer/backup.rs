//! Backups each store's own way, taken while the server runs, and restores into an empty
//! store.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy from one read transaction (the server goes
//!   on writing to its WAL meanwhile), compacted; a restore checks the file (schema, SQLite's
//!   integrity check, the key file's check) and puts it in a data directory that has no
//!   database.
//! - PostgreSQL: `pg_dump --format=custom` of the store's schema (pg_dump reads one snapshot,
//!   so it too is consistent while the server runs), and `pg_restore` into an empty schema of
//!   the same name in one transaction, so a failed restore leaves nothing behind. The two
//!   tools must be the server's major version: a dump restores with the same or a newer
//!   pg_restore only, and pg_dump refuses a newer server.
//!
//! A backup is written aside (`FILE.partial-PID`), checked, then linked to its name, which
//! fails rather than overwrite: a file under the backup's name is always a whole, checked
//! backup. Backups hold the personal data sealed (as the store does); the key file that opens
//! them is backed up apart (`docs/personal-data.md`).

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};

use super::digest::TableDigest;
use super::postgres_target::{PostgresTarget, digest_postgres, digest_tables, snapshot};
use super::sqlite_source::{SqliteSource, digest_sqlite};
use super::tables::TABLES;
use super::{TransferError, check_keys};
use crate::store::postgres::PostgresStore;
use crate::store::sealing::KeyRing;
use crate::store::sqlite::SqliteStore;

/// How a SQLite database file starts.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// How a pg_dump custom-format archive starts.
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    /// Per-table digests of what the backup holds, to compare with a restore's.
    pub tables: Vec<TableDigest>,
    /// The PostgreSQL schema dumped, and the pg_dump that dumped it.
    pub schema: Option<String>,
    pub tool: Option<String>,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// Per-table digests of the restored store, as opened.
    pub tables: Vec<TableDigest>,
    pub schema: Option<String>,
    /// Values opening re-sealed: a backup made before a key rotation is brought under the
    /// key file's newest key (its digests then differ from the backup's where it did).
    pub resealed: u64,
}

// ── SQLite ──

/// Writes a consistent copy of the store at `database` to `to` (a new file) with
/// `VACUUM INTO`, and checks it. Safe while the server runs. Blocking.
pub fn backup_sqlite(database: &Path, to: &Path) -> Result<BackupReport, TransferError> {
    refuse_existing(to)?;
    let source = SqliteSource::open(database)?;
    let partial = partial_path(to);
    // Made here, empty and private, so the copy is never readable by others; VACUUM INTO
    // fills an empty file.
    create_private(&partial)?;
    let written = vacuum_into(&source, &partial).and_then(|()| check_sqlite_backup(&partial));
    let tables = match written {
        Ok(tables) => tables,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    link_into_place(&partial, to)?;
    Ok(BackupReport {
        path: to.to_owned(),
        bytes: file_size(to)?,
        tables,
        schema: None,
        tool: None,
    })
}

fn vacuum_into(source: &SqliteSource, partial: &Path) -> Result<(), TransferError> {
    source.vacuum_into(partial)?;
    std::fs::File::open(partial)
        .and_then(|file| file.sync_all())
        .map_err(TransferError::io("flush", partial))
}

/// A SQLite backup that opens as a store of this version and passes the integrity check:
/// its per-table digests.
fn check_sqlite_backup(path: &Path) -> Result<Vec<TableDigest>, TransferError> {
    let backup = SqliteSource::open(path)?;
    if let Some(detail) = backup.integrity_problem()? {
        return Err(TransferError::Integrity {
            path: path.display().to_string(),
            detail,
        });
    }
    backup.digests()
}

/// Puts the SQLite backup `from` in place as the database `database` (which must not exist,
/// or be the empty file a new data directory starts with), after checking it and that
/// `keys` open it; then opens it as the server does. Blocking.
pub fn restore_sqlite(
    from: &Path,
    database: &Path,
    keys: Arc<KeyRing>,
) -> Result<RestoreReport, TransferError> {
    expect_kind(
        from,
        SQLITE_MAGIC,
        "a SQLite backup (a PostgreSQL dump restores with --store postgres://…)",
    )?;
    refuse_database(database)?;
    let backup = SqliteSource::open(from)?;
    if let Some(detail) = backup.integrity_problem()? {
        return Err(TransferError::Integrity {
            path: from.display().to_string(),
            detail,
        });
    }
    check_keys(&backup.meta()?, &keys)?;
    drop(backup);
    let partial = partial_path(database);
    create_private(&partial)?;
    let copied = std::fs::File::open(from)
        .and_then(|mut source| {
            let mut target = std::fs::OpenOptions::new().write(true).open(&partial)?;
            std::io::copy(&mut source, &mut target)?;
            target.sync_all()
        })
        .map_err(TransferError::io("copy the backup to", &partial));
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    // Over the empty file a new data directory has, if any: refused above if it held data.
    std::fs::rename(&partial, database).map_err(TransferError::io("put in place", database))?;
    sync_parent(database)?;
    // As the server will open it: migrations, key check, the re-seal pass, the writer.
    let store = SqliteStore::open(database, keys)?;
    let resealed = store.sealed_at_open().resealed;
    drop(store);
    Ok(RestoreReport {
        tables: digest_sqlite(database)?,
        schema: None,
        resealed,
    })
}

/// Refuses a database that holds anything (an empty file is what a new data directory has).
fn refuse_database(database: &Path) -> Result<(), TransferError> {
    let dir = database.parent().unwrap_or(Path::new("."));
    let name = database
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    for file in [
        database.to_owned(),
        dir.join(format!("{name}-wal")),
        dir.join(format!("{name}-journal")),
    ] {
        if std::fs::metadata(&file).is_ok_and(|meta| meta.len() > 0) {
            return Err(TransferError::DatabaseExists {
                dir: dir.display().to_string(),
                file: file.display().to_string(),
            });
        }
    }
    Ok(())
}

// ── PostgreSQL ──

/// Where pg_dump and pg_restore are: a directory, or `PATH`.
#[derive(Debug, Clone, Default)]
pub struct PgTools {
    pub dir: Option<PathBuf>,
}

impl PgTools {
    fn program(&self, tool: &str) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.join(tool),
            None => PathBuf::from(tool),
        }
    }

    /// Checks that `tool` exists and is the server's major version; its version line.
    async fn check(&self, tool: &'static str, server_major: u32) -> Result<String, TransferError> {
        let program = self.program(tool);
        let output = tokio::process::Command::new(&program)
            .arg("--version")
            .output()
            .await
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => TransferError::ToolMissing {
                    tool,
                    path: program.display().to_string(),
                    server_major,
                },
                _ => TransferError::io("run", &program)(error),
            })?;
        let line = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let found = tool_major(&line);
        if found != Some(server_major) {
            return Err(TransferError::ToolVersion {
                tool,
                found: if line.is_empty() {
                    "unknown".into()
                } else {
                    line
                },
                server_major,
            });
        }
        Ok(line)
    }

    async fn run(
        &self,
        tool: &'static str,
        args: &[OsString],
        password: Option<&[u8]>,
    ) -> Result<Output, TransferError> {
        let program = self.program(tool);
        let mut command = tokio::process::Command::new(&program);
        command.args(args);
        // The password goes in the environment, which only this user can read, never in the
        // arguments every user on the machine can list.
        if let Some(password) = password {
            command.env("PGPASSWORD", OsString::from_vec(password.to_vec()));
        }
        let output = command
            .output()
            .await
            .map_err(TransferError::io("run", &program))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            return Err(TransferError::ToolFailed {
                tool,
                status: output.status.to_string(),
                stderr: lines[lines.len().saturating_sub(3)..].join(" / "),
            });
        }
        Ok(output)
    }
}

/// The major version in `pg_dump (PostgreSQL) 15.20 (Debian …)`.
fn tool_major(line: &str) -> Option<u32> {
    let after = line.split_once(") ")?.1;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// How libpq's tools reach the store: a `key=value` string without the password (which goes
/// in `PGPASSWORD`), and the password.
struct Connection {
    conninfo: String,
    password: Option<Vec<u8>>,
}

impl Connection {
    fn of(url: &str) -> Result<Self, TransferError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|source| TransferError::Connect {
                url: crate::store::postgres::redacted(url),
                source,
            })?;
        let mut parts = Vec::new();
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        if !hosts.is_empty() {
            parts.push(("host", hosts.join(",")));
        }
        let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
        if !ports.is_empty() {
            parts.push(("port", ports.join(",")));
        }
        for (key, value) in [
            ("user", config.get_user()),
            ("dbname", config.get_dbname()),
            ("options", config.get_options()),
            ("application_name", config.get_application_name()),
        ] {
            if let Some(value) = value {
                parts.push((key, value.to_owned()));
            }
        }
        match config.get_ssl_mode() {
            SslMode::Disable => parts.push(("sslmode", "disable".into())),
            SslMode::Require => parts.push(("sslmode", "require".into())),
            _ => {}
        }
        if let Some(timeout) = config.get_connect_timeout() {
            parts.push(("connect_timeout", timeout.as_secs().max(1).to_string()));
        }
        let conninfo = parts
            .iter()
            .map(|(key, value)| {
                format!(
                    "{key}='{}'",
                    value.replace('\\', "\\\\").replace('\'', "\\'")
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Self {
            conninfo,
            password: config.get_password().map(<[u8]>::to_vec),
        })
    }

    fn dbname_arg(&self) -> OsString {
        format!("--dbname={}", self.conninfo).into()
    }
}

/// The first schema of the `search_path` the URL's `options` set (`-c search_path=…`,
/// `-csearch_path=…` or `--search_path=…`), if any.
fn search_path_of(url: &str) -> Option<String> {
    let config: tokio_postgres::Config = url.parse().ok()?;
    let options = config.get_options()?;
    let mut tokens = options.split_whitespace();
    while let Some(token) = tokens.next() {
        let setting = match token {
            "-c" => tokens.next()?,
            _ => token
                .strip_prefix("-c")
                .or_else(|| token.strip_prefix("--"))
                .unwrap_or(""),
        };
        if let Some(value) = setting.strip_prefix("search_path=") {
            let first = value.split(',').next()?.trim().trim_matches('"');
            return (!first.is_empty()).then(|| first.to_owned());
        }
    }
    None
}

/// Dumps the PostgreSQL store at `url` (its schema only) to `to` (a new file) with
/// `pg_dump --format=custom`, and checks the archive lists every table. Safe while the
/// server runs.
pub async fn backup_postgres(
    url: &str,
    to: &Path,
    tools: &PgTools,
) -> Result<BackupReport, TransferError> {
    refuse_existing(to)?;
    let mut target = PostgresTarget::connect(url).await?;
    let schema = target.current_schema().await?.ok_or_else(|| {
        TransferError::NoSchema("the URL's search_path names no schema that exists".into())
    })?;
    target.check_schema().await?;
    let server_major = target.server_major().await?;
    let tool = tools.check("pg_dump", server_major).await?;
    let connection = Connection::of(url)?;
    let partial = partial_path(to);
    // pg_dump reads the snapshot this transaction exports, so the digests taken in it are of
    // exactly what was dumped, while the server goes on writing.
    let tx = snapshot(target.client()).await?;
    let exported: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(TransferError::postgres("export a snapshot"))?
        .get(0);
    let dumped = async {
        tools
            .run(
                "pg_dump",
                &[
                    "--format=custom".into(),
                    "--no-password".into(),
                    format!("--schema={}", quoted_pattern(&schema)).into(),
                    format!("--snapshot={exported}").into(),
                    {
                        let mut arg = OsString::from("--file=");
                        arg.push(&partial);
                        arg
                    },
                    connection.dbname_arg(),
                ],
                connection.password.as_deref(),
            )
            .await?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
            .map_err(TransferError::io("make private", &partial))?;
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(TransferError::io("flush", &partial))?;
        let listed = list_archive(tools, &partial).await?;
        check_archive_tables(&listed, &schema, &partial)?;
        digest_tables(&tx).await
    }
    .await;
    let tables = match dumped {
        Ok(tables) => tables,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    tx.commit()
        .await
        .map_err(TransferError::postgres("finish reading"))?;
    link_into_place(&partial, to)?;
    Ok(BackupReport {
        path: to.to_owned(),
        bytes: file_size(to)?,
        tables,
        schema: Some(schema),
        tool: Some(tool),
    })
}

/// A pg_dump pattern that matches `name` exactly (quoted: no wildcards, case kept).
fn quoted_pattern(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The archive's table of contents (`pg_restore --list`).
async fn list_archive(tools: &PgTools, archive: &Path) -> Result<String, TransferError> {
    let output = tools
        .run(
            "pg_restore",
            &["--list".into(), archive.as_os_str().to_owned()],
            None,
        )
        .await?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// One entry of a table of contents: `ID; TABLEOID OID TYPE SCHEMA NAME OWNER`, TYPE being
/// one or two words.
struct TocEntry<'a> {
    kind: String,
    schema: &'a str,
    name: &'a str,
}

/// The types of entry spelled in two words.
const TWO_WORD_KINDS: &[&str] = &[
    "TABLE DATA",
    "SEQUENCE SET",
    "SEQUENCE OWNED",
    "FK CONSTRAINT",
    "DEFAULT ACL",
];

fn toc_entry(line: &str) -> Option<TocEntry<'_>> {
    if line.starts_with(';') {
        return None;
    }
    let (_, rest) = line.split_once("; ")?;
    let words: Vec<&str> = rest.split_whitespace().skip(2).collect();
    let two = words.get(..2).map(|pair| pair.join(" "));
    let (kind, rest) = match two {
        Some(two) if TWO_WORD_KINDS.contains(&two.as_str()) => (two, &words[2..]),
        _ => ((*words.first()?).to_owned(), &words[1..]),
    };
    Some(TocEntry {
        kind,
        schema: rest.first()?,
        name: rest.get(1)?,
    })
}

/// The archive must hold every table's definition and data, all in `schema`.
fn check_archive_tables(listing: &str, schema: &str, archive: &Path) -> Result<(), TransferError> {
    let entries: Vec<TocEntry<'_>> = listing.lines().filter_map(toc_entry).collect();
    let missing: Vec<&str> = TABLES
        .iter()
        .map(|table| table.name)
        .filter(|name| {
            !["TABLE", "TABLE DATA"].iter().all(|kind| {
                entries
                    .iter()
                    .any(|e| e.kind == *kind && e.schema == schema && e.name == *name)
            })
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TransferError::NotABackup {
            path: archive.display().to_string(),
            expected: format!("a whole store: it lacks {}", missing.join(", ")),
        })
    }
}

/// The one schema an archive's tables are in.
fn archive_schema(listing: &str, archive: &Path) -> Result<String, TransferError> {
    let mut schemas: Vec<&str> = listing
        .lines()
        .filter_map(toc_entry)
        .filter(|entry| entry.kind == "TABLE")
        .map(|entry| entry.schema)
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    match schemas.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => Err(TransferError::NotABackup {
            path: archive.display().to_string(),
            expected: "a dump of one store's schema (sync-server backup)".into(),
        }),
    }
}

/// Restores the archive `from` into the PostgreSQL store at `url`, which must be an empty
/// schema of the archive's schema name (or one that does not exist yet), in one
/// transaction; then opens it as the server does (the key file's check) and digests it.
pub async fn restore_postgres(
    from: &Path,
    url: &str,
    keys: Arc<KeyRing>,
    tools: &PgTools,
) -> Result<RestoreReport, TransferError> {
    expect_kind(
        from,
        PG_DUMP_MAGIC,
        "a PostgreSQL dump (a SQLite backup restores with --store sqlite)",
    )?;
    let target = PostgresTarget::connect(url).await?;
    let server_major = target.server_major().await?;
    tools.check("pg_restore", server_major).await?;
    let schema = match target.current_schema().await? {
        Some(schema) => schema,
        None => search_path_of(url).ok_or_else(|| {
            TransferError::NoSchema("the URL names no schema (options=-csearch_path=NAME)".into())
        })?,
    };
    let listing = list_archive(tools, from).await?;
    let dumped = archive_schema(&listing, from)?;
    if dumped != schema {
        return Err(TransferError::SchemaName {
            dump: dumped,
            target: schema,
        });
    }
    let exists = schema_objects(&target, &schema).await?;
    let connection = Connection::of(url)?;
    let mut args: Vec<OsString> = vec![
        "--no-owner".into(),
        "--no-privileges".into(),
        "--single-transaction".into(),
        "--exit-on-error".into(),
        "--no-password".into(),
        connection.dbname_arg(),
    ];
    // An existing (empty) schema is kept: the archive's CREATE SCHEMA and its comment are
    // left out, or the restore would stop on them.
    let list_file = match exists {
        None => None,
        Some(objects) if !objects.is_empty() => {
            return Err(TransferError::SchemaNotEmpty {
                schema,
                objects: objects.join(", "),
            });
        }
        Some(_) => {
            let path = partial_path(&std::env::temp_dir().join("sync-server-restore.list"));
            let kept: Vec<&str> = listing
                .lines()
                .filter(|line| {
                    toc_entry(line).is_none_or(|entry| {
                        entry.kind != "SCHEMA"
                            && !(entry.kind == "COMMENT"
                                && entry.schema == "-"
                                && entry.name == "SCHEMA")
                    })
                })
                .collect();
            std::fs::write(&path, kept.join("\n")).map_err(TransferError::io("write", &path))?;
            let mut arg = OsString::from("--use-list=");
            arg.push(&path);
            args.push(arg);
            Some(path)
        }
    };
    args.push(from.as_os_str().to_owned());
    let restored = tools
        .run("pg_restore", &args, connection.password.as_deref())
        .await;
    if let Some(path) = list_file {
        let _ = std::fs::remove_file(path);
    }
    restored?;
    // As the server will open it: migrations, key check, the re-seal pass.
    let store = PostgresStore::open_with(url, keys, 1).await?;
    let resealed = store.sealed_at_open().resealed;
    drop(store);
    Ok(RestoreReport {
        tables: digest_postgres(url).await?,
        schema: Some(schema),
        resealed,
    })
}

/// `None` when `schema` does not exist, else the names of what it holds (tables, sequences,
/// functions…), at most a few.
async fn schema_objects(
    target: &PostgresTarget,
    schema: &str,
) -> Result<Option<Vec<String>>, TransferError> {
    let client = target.client_ref();
    let exists = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await
        .map_err(TransferError::postgres("look for the schema"))?;
    if !exists.get::<_, bool>(0) {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1
             UNION ALL
             SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = $1
             LIMIT 5",
            &[&schema],
        )
        .await
        .map_err(TransferError::postgres("look into the schema"))?;
    Ok(Some(rows.iter().map(|row| row.get(0)).collect()))
}

// ── files ──

fn refuse_existing(path: &Path) -> Result<(), TransferError> {
    if path.exists() {
        return Err(TransferError::BackupExists {
            path: path.display().to_string(),
        });
    }
    Ok(())
}

/// `FILE.partial-PID`, beside `path`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

fn create_private(path: &Path) -> Result<(), TransferError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(TransferError::io("create", path))
}

/// Gives the checked `partial` its name: a hard link, which fails if the name is taken, so
/// nothing is overwritten even if a file appeared meanwhile.
fn link_into_place(partial: &Path, to: &Path) -> Result<(), TransferError> {
    let linked = std::fs::hard_link(partial, to);
    let _ = std::fs::remove_file(partial);
    match linked {
        Ok(()) => sync_parent(to),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(TransferError::BackupExists {
                path: to.display().to_string(),
            })
        }
        Err(error) => Err(TransferError::io("name the backup", to)(error)),
    }
}

/// Makes a new name in `path`'s directory survive a power cut.
fn sync_parent(path: &Path) -> Result<(), TransferError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(TransferError::io("flush", dir))
}

fn file_size(path: &Path) -> Result<u64, TransferError> {
    std::fs::metadata(path)
        .map(|meta| meta.len())
        .map_err(TransferError::io("read the size of", path))
}

/// Refuses a file that does not start with `magic`.
fn expect_kind(path: &Path, magic: &[u8], expected: &str) -> Result<(), TransferError> {
    let mut start = vec![0_u8; magic.len()];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .map_err(TransferError::io("read", path))?;
    if start == magic {
        Ok(())
    } else {
        Err(TransferError::NotABackup {
            path: path.display().to_string(),
            expected: expected.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_major_version_is_read_from_their_version_line() {
        assert_eq!(
            tool_major("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(tool_major("pg_restore (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(tool_major("something else"), None);
    }

    #[test]
    fn the_search_path_is_read_from_the_urls_options() {
        assert_eq!(
            search_path_of("postgres://u@h/db?options=-csearch_path%3Dt_1").as_deref(),
            Some("t_1")
        );
        assert_eq!(
            search_path_of("postgres://u@h/db?options=-c%20search_path%3Dcounty,public").as_deref(),
            Some("county")
        );
        assert_eq!(search_path_of("postgres://u@h/db"), None);
    }

    #[test]
    fn the_password_stays_out_of_the_arguments() {
        let connection = Connection::of(
            "postgres://sync:s3cr%27t@db.example:5433/sync?options=-csearch_path%3Dx",
        )
        .unwrap();
        assert!(!connection.conninfo.contains("s3cr"));
        assert_eq!(connection.password.as_deref(), Some(&b"s3cr't"[..]));
        assert_eq!(
            connection.conninfo,
            "host='db.example' port='5433' user='sync' dbname='sync' options='-csearch_path=x'"
        );
    }

    #[test]
    fn table_of_contents_entries_are_parsed() {
        let listing = ";\n; Archive created at 2026-03-01\n;\n\
            5; 2615 16386 SCHEMA - t_1 postgres\n\
            3345; 0 0 COMMENT - SCHEMA public pg_database_owner\n\
            215; 1259 16387 TABLE t_1 kiosks postgres\n\
            3400; 0 16387 TABLE DATA t_1 kiosks postgres\n\
            3410; 0 0 SEQUENCE SET t_1 kiosks_row_seq_seq postgres\n";
        let entries: Vec<_> = listing.lines().filter_map(toc_entry).collect();
        let seen: Vec<_> = entries
            .iter()
            .map(|e| (e.kind.as_str(), e.schema, e.name))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("SCHEMA", "-", "t_1"),
                ("COMMENT", "-", "SCHEMA"),
                ("TABLE", "t_1", "kiosks"),
                ("TABLE DATA", "t_1", "kiosks"),
                ("SEQUENCE SET", "t_1", "kiosks_row_seq_seq"),
            ]
        );
        assert_eq!(archive_schema(listing, Path::new("x")).unwrap(), "t_1");
    }
}
