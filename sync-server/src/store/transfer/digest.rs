//! Per-table digests: a table's rows in key order, each column's value in its canonical
//! encoding ([`super::value::Value::encode`]), hashed with SHA-256. Two stores whose tables
//! digest alike hold the same values, whichever backends they are.

use std::fmt;

use sha2::{Digest as _, Sha256};

use super::tables::Table;
use super::value::Value;

/// Separates these digests from every other hash the server computes.
const DOMAIN: &[u8] = b"sync-server-table-digest/v1\0";

/// What one table holds, in a few bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TableDigest {
    pub table: &'static str,
    pub rows: u64,
    pub sha256: [u8; 32],
}

impl TableDigest {
    /// The first 16 hex digits, for a report.
    pub fn short(&self) -> String {
        self.sha256[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl fmt::Debug for TableDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} rows, {}", self.table, self.rows, self.short())
    }
}

/// A digest being computed, one row at a time.
pub struct Digester {
    table: &'static Table,
    rows: u64,
    hasher: Sha256,
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digester({}: {} rows so far)",
            self.table.name, self.rows
        )
    }
}

impl Digester {
    pub fn new(table: &'static Table) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        hasher.update(table.name.as_bytes());
        hasher.update([0]);
        Self {
            table,
            rows: 0,
            hasher,
        }
    }

    pub fn row(&mut self, row: &[Value]) {
        self.rows += 1;
        for value in row {
            value.encode(&mut self.hasher);
        }
    }

    pub fn finish(self) -> TableDigest {
        TableDigest {
            table: self.table.name,
            rows: self.rows,
            sha256: self.hasher.finalize().into(),
        }
    }
}

/// One table compared across two stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCheck {
    pub table: &'static str,
    pub source: TableDigest,
    pub target: TableDigest,
}

impl TableCheck {
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// Pairs the digests of two stores table by table (both lists are in [`super::TABLES`]
/// order, one digest per table).
pub fn compare(source: &[TableDigest], target: &[TableDigest]) -> Vec<TableCheck> {
    source
        .iter()
        .zip(target)
        .map(|(source, target)| TableCheck {
            table: source.table,
            source: *source,
            target: *target,
        })
        .collect()
}
