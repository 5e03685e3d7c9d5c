//! One column's value on its way between backends, and its canonical encoding for the
//! per-table digests.

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest as _, Sha256};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::tables::Kind;

/// A value as the store means it, whichever backend it was read from: a time is an instant,
/// not SQLite's milliseconds or PostgreSQL's microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Time(DateTime<Utc>),
    Bool(bool),
    Date(NaiveDate),
}

impl Value {
    /// Feeds the canonical encoding to `hasher`: a tag byte per kind, then fixed-width
    /// big-endian numbers or a length-prefixed byte string. No two different values encode
    /// alike, and a time encodes in microseconds, so a copy that lost or gained precision
    /// does not digest like its source.
    pub fn encode(&self, hasher: &mut Sha256) {
        fn bytes(hasher: &mut Sha256, tag: u8, bytes: &[u8]) {
            hasher.update([tag]);
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        match self {
            Self::Null => hasher.update([0]),
            Self::Int(value) => {
                hasher.update([1]);
                hasher.update(value.to_be_bytes());
            }
            Self::Text(text) => bytes(hasher, 2, text.as_bytes()),
            Self::Blob(blob) => bytes(hasher, 3, blob),
            Self::Time(at) => {
                hasher.update([4]);
                hasher.update(at.timestamp_micros().to_be_bytes());
            }
            Self::Bool(flag) => hasher.update([5, u8::from(*flag)]),
            Self::Date(day) => {
                hasher.update([6]);
                hasher.update(day.to_string().as_bytes());
            }
        }
    }
}

/// The PostgreSQL type of a column of `kind`, for binary COPY.
pub fn postgres_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Text => Type::TEXT,
        Kind::Blob => Type::BYTEA,
        Kind::Time => Type::TIMESTAMPTZ,
        Kind::Bool => Type::BOOL,
        Kind::Date => Type::DATE,
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(value) => value.to_sql(ty, out),
            Self::Text(text) => text.to_sql(ty, out),
            Self::Blob(blob) => blob.to_sql(ty, out),
            Self::Time(at) => at.to_sql(ty, out),
            Self::Bool(flag) => flag.to_sql(ty, out),
            Self::Date(day) => day.to_sql(ty, out),
        }
    }

    // The column's kind picks the value; `to_sql` of the inner type refuses a mismatch.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(values: &[Value]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for value in values {
            value.encode(&mut hasher);
        }
        hasher.finalize().into()
    }

    #[test]
    fn different_values_never_encode_alike() {
        let at = DateTime::from_timestamp_millis(1_772_352_000_123).unwrap();
        let cases = [
            vec![Value::Null],
            vec![Value::Int(0)],
            vec![Value::Bool(false)],
            vec![Value::Text(String::new())],
            vec![Value::Blob(Vec::new())],
            vec![Value::Text("ab".into()), Value::Text("c".into())],
            vec![Value::Text("a".into()), Value::Text("bc".into())],
            vec![Value::Time(at)],
            vec![Value::Time(at + chrono::Duration::microseconds(1))],
            vec![Value::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())],
        ];
        let digests: std::collections::HashSet<_> = cases.iter().map(|c| digest(c)).collect();
        assert_eq!(digests.len(), cases.len());
    }
}
