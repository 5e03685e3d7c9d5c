//! The SQLite side: a store file opened read-only (the copy must not change a byte of it),
//! checked against [`TABLES`], read table by table in key order inside one read transaction,
//! so every table comes from the same instant.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::TransferError;
use super::digest::{Digester, TableDigest};
use super::tables::{Kind, TABLES, Table};
use super::value::Value;
use crate::store::StoreError;
use crate::store::sqlite::SCHEMA_VERSION;

/// A store file open for reading only.
pub struct SqliteSource {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for SqliteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteSource {
    /// Opens `path` read-only and checks that it is a store of this program's schema
    /// version, with exactly the tables and columns of [`TABLES`]. Blocking.
    pub fn open(path: &Path) -> Result<Self, TransferError> {
        let shown = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| TransferError::Sqlite {
            operation: "open the store",
            path: shown.clone(),
            source,
        })?;
        let source = Self { conn, path: shown };
        // A server writing at the same time holds its write lock for milliseconds.
        source
            .conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(source.failed("open the store"))?;
        source.check_version()?;
        let differences = source.schema_differences()?;
        if !differences.is_empty() {
            return Err(TransferError::Schema {
                side: "SQLite",
                detail: differences.join("; "),
            });
        }
        Ok(source)
    }

    fn failed(&self, operation: &'static str) -> impl FnOnce(rusqlite::Error) -> TransferError {
        let path = self.path.clone();
        move |source| TransferError::Sqlite {
            operation,
            path,
            source,
        }
    }

    fn check_version(&self) -> Result<(), TransferError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(self.failed("read the schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            }
            .into());
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::SchemaTooOld {
                found,
                supported: SCHEMA_VERSION,
            }
            .into());
        }
        Ok(())
    }

    /// How the file's tables and columns differ from [`TABLES`], one line each (none: the
    /// same). Read from `sqlite_schema`, so a table a migration adds shows up here until it is
    /// listed.
    pub fn schema_differences(&self) -> Result<Vec<String>, TransferError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT name FROM sqlite_schema
                 WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 ORDER BY name",
            )
            .map_err(self.failed("read the schema"))?;
        let found: BTreeSet<String> = statement
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(self.failed("read the schema"))?;
        let mut differences = Vec::new();
        for name in &found {
            if super::tables::table(name).is_none() {
                differences.push(format!("table {name} is not in the copy's list"));
            }
        }
        for table in TABLES {
            if !found.contains(table.name) {
                differences.push(format!("table {} is missing", table.name));
                continue;
            }
            differences.extend(self.column_differences(table)?);
        }
        Ok(differences)
    }

    fn column_differences(&self, table: &Table) -> Result<Vec<String>, TransferError> {
        let mut statement = self
            .conn
            .prepare("SELECT name, type FROM pragma_table_info(?1)")
            .map_err(self.failed("read the schema"))?;
        let declared: BTreeMap<String, String> = statement
            .query_map([table.name], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(self.failed("read the schema"))?;
        let mut differences = Vec::new();
        for (name, declared_type) in &declared {
            match table.column(name) {
                None => differences.push(format!(
                    "column {}.{name} is not in the copy's list",
                    table.name
                )),
                Some(column) if !declared_type.eq_ignore_ascii_case(column.kind.sqlite_type()) => {
                    differences.push(format!(
                        "column {}.{name} is {declared_type}, not {}",
                        table.name,
                        column.kind.sqlite_type()
                    ));
                }
                Some(_) => {}
            }
        }
        for column in table.columns {
            if column.sqlite_expr.is_none() && !declared.contains_key(column.name) {
                differences.push(format!("column {}.{} is missing", table.name, column.name));
            }
        }
        Ok(differences)
    }

    /// The `meta` rows: server id and key checks.
    pub fn meta(&self) -> Result<BTreeMap<String, String>, TransferError> {
        let mut statement = self
            .conn
            .prepare("SELECT key, value FROM meta")
            .map_err(self.failed("read meta"))?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(self.failed("read meta"))
    }

    /// `sqlite_sequence`: the last number each AUTOINCREMENT table handed out.
    pub fn sequences(&self) -> Result<HashMap<String, i64>, TransferError> {
        let exists: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE name = 'sqlite_sequence'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.failed("read sqlite_sequence"))?;
        if exists.is_none() {
            return Ok(HashMap::new());
        }
        let mut statement = self
            .conn
            .prepare("SELECT name, seq FROM sqlite_sequence")
            .map_err(self.failed("read sqlite_sequence"))?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(self.failed("read sqlite_sequence"))
    }

    /// Starts the read transaction every later read shares, so all tables are read as of one
    /// instant even while a server writes (SQLite's WAL keeps the snapshot).
    pub fn begin(&self) -> Result<(), TransferError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(self.failed("start reading"))?;
        // The snapshot is taken at the first read, not at BEGIN.
        self.conn
            .query_row("SELECT COUNT(*) FROM meta", [], |_| Ok(()))
            .map_err(self.failed("start reading"))
    }

    pub fn end(&self) -> Result<(), TransferError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(self.failed("finish reading"))
    }

    /// Reads `table` in key order, handing `sink` batches of at most `batch` rows (values in
    /// [`Table::columns`] order), and digests what it read.
    pub fn read_table(
        &self,
        table: &'static Table,
        batch: usize,
        mut sink: impl FnMut(Vec<Vec<Value>>) -> Result<(), TransferError>,
    ) -> Result<TableDigest, TransferError> {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|column| match column.sqlite_expr {
                Some(expr) => expr.to_owned(),
                None => format!("\"{}\"", column.name),
            })
            .collect();
        let order: Vec<String> = table.key.iter().map(|key| format!("\"{key}\"")).collect();
        let sql = format!(
            "SELECT {} FROM \"{}\" ORDER BY {}",
            columns.join(", "),
            table.name,
            order.join(", ")
        );
        let mut statement = self
            .conn
            .prepare(&sql)
            .map_err(self.failed("read a table"))?;
        let mut rows = statement.query([]).map_err(self.failed("read a table"))?;
        let mut digester = Digester::new(table);
        let mut pending = Vec::with_capacity(batch);
        let mut number = 0_u64;
        while let Some(row) = rows.next().map_err(self.failed("read a table"))? {
            number += 1;
            let mut values = Vec::with_capacity(table.columns.len());
            for (index, column) in table.columns.iter().enumerate() {
                let raw = row.get_ref(index).map_err(self.failed("read a table"))?;
                let value = value(raw, column.kind).ok_or(TransferError::BadValue {
                    table: table.name,
                    column: column.name,
                    expected: expected(column.kind),
                    row: number,
                })?;
                values.push(value);
            }
            digester.row(&values);
            pending.push(values);
            if pending.len() == batch {
                sink(std::mem::replace(&mut pending, Vec::with_capacity(batch)))?;
            }
        }
        if !pending.is_empty() {
            sink(pending)?;
        }
        Ok(digester.finish())
    }

    /// Every table's digest, read as of one instant.
    pub fn digests(&self) -> Result<Vec<TableDigest>, TransferError> {
        self.begin()?;
        let digests = TABLES
            .iter()
            .map(|table| self.read_table(table, 1024, |_| Ok(())))
            .collect::<Result<Vec<_>, _>>()?;
        self.end()?;
        Ok(digests)
    }

    /// Writes a compacted, consistent copy of the whole file to `to` (new or empty), from one
    /// read transaction: safe while the server writes.
    pub fn vacuum_into(&self, to: &Path) -> Result<(), TransferError> {
        let target = to.to_str().ok_or_else(|| TransferError::Io {
            operation: "write to",
            path: to.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8"),
        })?;
        self.conn
            .execute("VACUUM INTO ?1", [target])
            .map(drop)
            .map_err(self.failed("write the backup"))
    }

    /// `PRAGMA integrity_check`: `None` when the file is sound.
    pub fn integrity_problem(&self) -> Result<Option<String>, TransferError> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA integrity_check(1)", [], |row| row.get(0))
            .map_err(self.failed("check the file"))?;
        Ok((verdict != "ok").then_some(verdict))
    }
}

/// Every table's digest of the store file at `path` (read-only). Blocking.
pub fn digest_sqlite(path: &Path) -> Result<Vec<TableDigest>, TransferError> {
    SqliteSource::open(path)?.digests()
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "an integer",
        Kind::Text => "text",
        Kind::Blob => "a blob",
        Kind::Time => "a time in Unix milliseconds",
        Kind::Bool => "0 or 1",
        Kind::Date => "a YYYY-MM-DD date",
    }
}

/// `raw` as a value of `kind`, or `None` when it is not one. STRICT tables keep each column's
/// type; what they cannot keep (a flag of 2, a time out of range, a date that is not one) is
/// refused here rather than copied as something else.
fn value(raw: ValueRef<'_>, kind: Kind) -> Option<Value> {
    Some(match (raw, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(number), Kind::Int) => Value::Int(number),
        (ValueRef::Integer(millis), Kind::Time) => {
            Value::Time(DateTime::from_timestamp_millis(millis)?)
        }
        (ValueRef::Integer(0), Kind::Bool) => Value::Bool(false),
        (ValueRef::Integer(1), Kind::Bool) => Value::Bool(true),
        (ValueRef::Text(text), Kind::Text) => Value::Text(String::from_utf8(text.to_vec()).ok()?),
        (ValueRef::Text(text), Kind::Date) => {
            let text = std::str::from_utf8(text).ok()?;
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            // Only the canonical spelling: SQLite compares these as text.
            (day.to_string() == text).then_some(Value::Date(day))?
        }
        (ValueRef::Blob(blob), Kind::Blob) => Value::Blob(blob.to_vec()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_refused_rather_than_bent() {
        assert_eq!(value(ValueRef::Integer(2), Kind::Bool), None);
        assert_eq!(value(ValueRef::Integer(1), Kind::Text), None);
        assert_eq!(value(ValueRef::Text(b"2026-3-1"), Kind::Date), None);
        assert_eq!(value(ValueRef::Integer(i64::MAX), Kind::Time), None);
        assert_eq!(
            value(ValueRef::Text(b"2026-03-01"), Kind::Date),
            NaiveDate::from_ymd_opt(2026, 3, 1).map(Value::Date)
        );
        assert_eq!(
            value(ValueRef::Integer(1_500), Kind::Time),
            DateTime::from_timestamp_millis(1_500).map(Value::Time)
        );
    }
}
