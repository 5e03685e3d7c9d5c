//! The PostgreSQL side: a plain connection (no pool: one transaction does the whole copy),
//! the schema checked against [`TABLES`], emptiness, digests read back in key order, and the
//! sealed values opened with the key file.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::{Client, NoTls, Row, Transaction};

use super::TransferError;
use super::digest::{Digester, TableDigest};
use super::tables::{Kind, POSTGRES_ONLY, TABLES, Table};
use super::value::Value;
use crate::store::postgres::redacted;
use crate::store::sealed_columns::SEALED;
use crate::store::sealing::KeyRing;

/// Rows a digest or sealed-value pass fetches at a time.
const FETCH: i32 = 1024;

/// A connection to the store at a URL.
pub struct PostgresTarget {
    client: Client,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTarget").finish_non_exhaustive()
    }
}

impl PostgresTarget {
    /// Connects to `url` (its `search_path` option names the store's schema, as for
    /// `--store`). The password never reaches an error message.
    pub async fn connect(url: &str) -> Result<Self, TransferError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|source| TransferError::Connect {
                url: redacted(url),
                source,
            })?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "the PostgreSQL connection closed");
            }
        });
        Ok(Self { client })
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub fn client_ref(&self) -> &Client {
        &self.client
    }

    /// The schema tables are made in (`None` when the URL's `search_path` names none that
    /// exists).
    pub async fn current_schema(&self) -> Result<Option<String>, TransferError> {
        let row = self
            .client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(TransferError::postgres("read the current schema"))?;
        Ok(row.get(0))
    }

    /// The server's major version (15 for 15.x).
    pub async fn server_major(&self) -> Result<u32, TransferError> {
        let row = self
            .client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map_err(TransferError::postgres("read the server version"))?;
        let number: i32 = row.get(0);
        Ok(number.unsigned_abs() / 10_000)
    }

    /// How the schema's tables and columns differ from [`TABLES`], one line each.
    pub async fn schema_differences(&self) -> Result<Vec<String>, TransferError> {
        let rows = self
            .client
            .query(
                "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                        c.is_identity::text = 'YES'
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                 ORDER BY c.table_name, c.ordinal_position",
                &[],
            )
            .await
            .map_err(TransferError::postgres("read the schema"))?;
        let mut found: BTreeMap<String, BTreeMap<String, (String, bool)>> = BTreeMap::new();
        for row in rows {
            found
                .entry(row.get(0))
                .or_default()
                .insert(row.get(1), (row.get(2), row.get(3)));
        }
        let mut differences = Vec::new();
        for name in found.keys() {
            if super::tables::table(name).is_none() && !POSTGRES_ONLY.contains(&name.as_str()) {
                differences.push(format!("table {name} is not in the copy's list"));
            }
        }
        for table in TABLES {
            match found.get(table.name) {
                None => differences.push(format!("table {} is missing", table.name)),
                Some(columns) => differences.extend(column_differences(table, columns)),
            }
        }
        Ok(differences)
    }

    /// Fails unless the schema is exactly [`TABLES`].
    pub async fn check_schema(&self) -> Result<(), TransferError> {
        let differences = self.schema_differences().await?;
        if differences.is_empty() {
            Ok(())
        } else {
            Err(TransferError::Schema {
                side: "PostgreSQL",
                detail: differences.join("; "),
            })
        }
    }
}

fn column_differences(table: &Table, found: &BTreeMap<String, (String, bool)>) -> Vec<String> {
    let mut differences = Vec::new();
    for (name, (data_type, identity)) in found {
        let Some(column) = table.column(name) else {
            differences.push(format!(
                "column {}.{name} is not in the copy's list",
                table.name
            ));
            continue;
        };
        if data_type != column.kind.postgres_type() {
            differences.push(format!(
                "column {}.{name} is {data_type}, not {}",
                table.name,
                column.kind.postgres_type()
            ));
        }
        let listed = table.identity.is_some_and(|id| id.column == name);
        if *identity != listed {
            differences.push(format!(
                "column {}.{name} is {}an identity column",
                table.name,
                if *identity { "" } else { "not " }
            ));
        }
    }
    let names: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    for column in table.columns {
        if !names.contains(column.name) {
            differences.push(format!("column {}.{} is missing", table.name, column.name));
        }
    }
    differences
}

/// The listed tables that hold rows (`meta` aside: opening a store writes its own).
pub async fn tables_with_rows(tx: &Transaction<'_>) -> Result<Vec<&'static str>, TransferError> {
    let mut held = Vec::new();
    for table in TABLES.iter().filter(|table| table.name != "meta") {
        let row = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM \"{}\")", table.name),
                &[],
            )
            .await
            .map_err(TransferError::postgres("look for rows"))?;
        if row.get::<_, bool>(0) {
            held.push(table.name);
        }
    }
    Ok(held)
}

/// `SELECT` of `table`'s columns in key order. Text keys are ordered byte by byte (`COLLATE
/// "C"`), as SQLite orders them, so both sides digest rows in the same order whatever the
/// database's collation.
fn select_in_key_order(table: &Table) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| format!("\"{}\"", column.name))
        .collect();
    let order: Vec<String> = table
        .key_columns()
        .map(|column| match column.kind {
            Kind::Text => format!("\"{}\" COLLATE \"C\"", column.name),
            _ => format!("\"{}\"", column.name),
        })
        .collect();
    format!(
        "SELECT {} FROM \"{}\" ORDER BY {}",
        columns.join(", "),
        table.name,
        order.join(", ")
    )
}

/// `COPY` of `table`'s columns in binary.
pub(super) fn copy_in_statement(table: &Table) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| format!("\"{}\"", column.name))
        .collect();
    format!(
        "COPY \"{}\" ({}) FROM STDIN (FORMAT binary)",
        table.name,
        columns.join(", ")
    )
}

/// `table`'s digest as `tx` sees it.
pub async fn digest_table(
    tx: &Transaction<'_>,
    table: &'static Table,
) -> Result<TableDigest, TransferError> {
    let statement = tx
        .prepare(&select_in_key_order(table))
        .await
        .map_err(TransferError::postgres("read a table back"))?;
    let portal = tx
        .bind(&statement, &[])
        .await
        .map_err(TransferError::postgres("read a table back"))?;
    let mut digester = Digester::new(table);
    let mut number = 0_u64;
    loop {
        let rows = tx
            .query_portal(&portal, FETCH)
            .await
            .map_err(TransferError::postgres("read a table back"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            number += 1;
            digester.row(&row_values(table, row, number)?);
        }
    }
    Ok(digester.finish())
}

/// Every table's digest as `tx` sees it.
pub async fn digest_tables(tx: &Transaction<'_>) -> Result<Vec<TableDigest>, TransferError> {
    let mut digests = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        digests.push(digest_table(tx, table).await?);
    }
    Ok(digests)
}

/// Every table's digest of the store at `url`, read as of one instant.
pub async fn digest_postgres(url: &str) -> Result<Vec<TableDigest>, TransferError> {
    let mut target = PostgresTarget::connect(url).await?;
    target.check_schema().await?;
    let tx = snapshot(target.client()).await?;
    let digests = digest_tables(&tx).await?;
    tx.commit()
        .await
        .map_err(TransferError::postgres("finish reading"))?;
    Ok(digests)
}

/// A read-only transaction that sees one instant throughout.
pub(super) async fn snapshot(client: &mut Client) -> Result<Transaction<'_>, TransferError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(TransferError::postgres("start reading"))
}

fn row_values(table: &'static Table, row: &Row, number: u64) -> Result<Vec<Value>, TransferError> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            read_value(row, index, column.kind).map_err(|_| TransferError::BadValue {
                table: table.name,
                column: column.name,
                expected: column.kind.postgres_type(),
                row: number,
            })
        })
        .collect()
}

fn read_value(row: &Row, index: usize, kind: Kind) -> Result<Value, tokio_postgres::Error> {
    Ok(match kind {
        Kind::Int => row
            .try_get::<_, Option<i64>>(index)?
            .map_or(Value::Null, Value::Int),
        Kind::Text => row
            .try_get::<_, Option<String>>(index)?
            .map_or(Value::Null, Value::Text),
        Kind::Blob => row
            .try_get::<_, Option<Vec<u8>>>(index)?
            .map_or(Value::Null, Value::Blob),
        Kind::Time => row
            .try_get::<_, Option<DateTime<Utc>>>(index)?
            .map_or(Value::Null, Value::Time),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(index)?
            .map_or(Value::Null, Value::Bool),
        Kind::Date => row
            .try_get::<_, Option<NaiveDate>>(index)?
            .map_or(Value::Null, Value::Date),
    })
}

/// Opens every sealed value in the store with `keys` (and throws the plaintext away): the
/// proof that the key file reads what was copied. How many opened.
pub async fn open_sealed(client: &mut Client, keys: &KeyRing) -> Result<u64, TransferError> {
    let tx = snapshot(client).await?;
    let mut opened = 0_u64;
    for column in SEALED {
        let statement = tx
            .prepare(&format!(
                "SELECT \"{key}\"::text, \"{value}\" FROM \"{table}\" WHERE \"{value}\" IS NOT NULL",
                key = column.key,
                value = column.column,
                table = column.table
            ))
            .await
            .map_err(TransferError::postgres("read sealed values"))?;
        let portal = tx
            .bind(&statement, &[])
            .await
            .map_err(TransferError::postgres("read sealed values"))?;
        loop {
            let rows = tx
                .query_portal(&portal, FETCH)
                .await
                .map_err(TransferError::postgres("read sealed values"))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let key: String = row.get(0);
                let stored: String = row.get(1);
                column.open(keys, &key, &stored)?;
                opened += 1;
            }
        }
    }
    tx.commit()
        .await
        .map_err(TransferError::postgres("finish reading"))?;
    Ok(opened)
}
