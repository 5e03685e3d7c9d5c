//! Every table a store holds, column by column, in the order rows are copied (a table after
//! the tables its foreign keys name). `migrate-store` copies and digests exactly these, and
//! refuses a SQLite file or PostgreSQL schema whose tables or columns are not exactly these
//! ([`super::sqlite_source::check_schema`], [`super::postgres_target::check_schema`]): a table
//! or column added to either schema without being added here fails loudly, in the tests and
//! at run time, instead of being left behind.

/// What a column holds, and so how each backend spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// INTEGER / BIGINT.
    Int,
    /// TEXT / TEXT.
    Text,
    /// BLOB / BYTEA.
    Blob,
    /// INTEGER Unix milliseconds / TIMESTAMPTZ.
    Time,
    /// INTEGER 0 or 1 / BOOLEAN.
    Bool,
    /// TEXT `YYYY-MM-DD` / DATE.
    Date,
}

impl Kind {
    /// The type SQLite's STRICT tables declare.
    pub fn sqlite_type(self) -> &'static str {
        match self {
            Self::Int | Self::Time | Self::Bool => "INTEGER",
            Self::Text | Self::Date => "TEXT",
            Self::Blob => "BLOB",
        }
    }

    /// The type PostgreSQL's `information_schema.columns.data_type` names.
    pub fn postgres_type(self) -> &'static str {
        match self {
            Self::Int => "bigint",
            Self::Text => "text",
            Self::Blob => "bytea",
            Self::Time => "timestamp with time zone",
            Self::Bool => "boolean",
            Self::Date => "date",
        }
    }
}

/// A column, named as PostgreSQL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// How SQLite reads it when it is not a declared column: `rowid` for `row_seq`, the order
    /// rows were inserted in, which PostgreSQL keeps as an identity column.
    pub sqlite_expr: Option<&'static str>,
}

impl Column {
    /// The expression that reads this column in SQLite.
    pub fn sqlite(&self) -> &'static str {
        self.sqlite_expr.unwrap_or(self.name)
    }
}

/// Where an identity column's sequence must start again after a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Past the largest value copied.
    Max,
    /// Past the largest value copied and past SQLite's `sqlite_sequence` entry for the table
    /// (AUTOINCREMENT): a number SQLite handed out once, even to a row since gone, is never
    /// handed out again, so a booth's cursor never skips a change.
    Autoincrement,
}

/// A PostgreSQL identity column that a copy fills with SQLite's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub column: &'static str,
    pub floor: Floor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// The primary key: rows are read, copied and digested in its order.
    pub key: &'static [&'static str],
    pub columns: &'static [Column],
    pub identity: Option<Identity>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// The key's columns, in key order.
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().filter_map(|name| self.column(name))
    }
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        sqlite_expr: None,
    }
}

/// `row_seq`, read from SQLite's `rowid`.
const ROW_SEQ: Column = Column {
    name: "row_seq",
    kind: Kind::Int,
    sqlite_expr: Some("rowid"),
};

use Kind::{Blob, Bool, Date, Int, Text, Time};

/// Tables PostgreSQL has and SQLite does not, never copied: the migrations' own bookkeeping,
/// written when the schema is made, and the instances' shared guards.
pub const POSTGRES_ONLY: &[&str] = &[
    "schema_migrations",
    // What the server instances share besides the store (`crate::shared::postgres`): replay
    // memory and guessing limits, minutes long; a SQLite server kept them in memory, so a new
    // PostgreSQL store starts them empty as a restart would.
    "replay_nonces",
    "enroll_attempts",
    "login_attempts",
    "device_attempts",
    "login_devices",
];

/// Every table, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "meta",
        key: &["key"],
        columns: &[col("key", Text), col("value", Text)],
        identity: None,
    },
    Table {
        name: "enroll_codes",
        key: &["code_key"],
        columns: &[
            col("code_key", Text),
            col("county", Text),
            col("township", Text),
            col("village", Text),
            col("created_at", Time),
            col("expires_at", Time),
            col("used_at", Time),
            col("used_by", Text),
        ],
        identity: None,
    },
    Table {
        name: "kiosks",
        key: &["kiosk_id"],
        columns: &[
            col("kiosk_id", Text),
            ROW_SEQ,
            col("kiosk_number", Int),
            col("public_key", Blob),
            col("county", Text),
            col("township", Text),
            col("village", Text),
            col("app_version", Text),
            col("enrolled_at", Time),
            col("revoked_at", Time),
            col("last_seen_at", Time),
            col("heartbeat", Text),
            col("heartbeat_at", Time),
            col("replaced_by", Text),
            // What the fleet's alert counts need of the heartbeat, kept beside it.
            col("paper_alert", Text),
            col("queue_stuck", Bool),
            col("quarantined", Int),
        ],
        identity: Some(Identity {
            column: "row_seq",
            floor: Floor::Max,
        }),
    },
    Table {
        name: "submissions",
        key: &["id"],
        columns: &[
            col("id", Text),
            ROW_SEQ,
            col("kiosk_id", Text),
            col("receipt_number", Text),
            col("kind", Text),
            col("item_code", Text),
            col("status", Text),
            col("content_digest", Text),
            col("body", Text),
            col("received_at", Time),
            col("status_changed_at", Time),
            col("stage", Int),
            col("levels", Int),
            col("accepted_at", Time),
            col("suspended_at", Time),
            col("suspended_days", Int),
            col("due_on", Date),
            col("rating", Int),
            col("county", Text),
            col("township", Text),
            col("village", Text),
            col("id_lookup", Text),
            // A supplement's case.
            col("supplement_to", Text),
            // The phone upload's token hash, and its use.
            col("phone_upload", Text),
            col("phone_upload_used_at", Time),
            col("phone_upload_pages", Int),
        ],
        identity: Some(Identity {
            column: "row_seq",
            floor: Floor::Max,
        }),
    },
    Table {
        name: "attachments",
        key: &["submission_id", "sha256"],
        columns: &[
            col("submission_id", Text),
            col("sha256", Text),
            col("bytes", Int),
            col("sealed", Bool),
            col("material", Int),
            col("page", Int),
            col("received", Int),
            col("complete_at", Time),
            col("sealed_with", Int),
            col("phone_at", Time),
        ],
        identity: None,
    },
    Table {
        name: "status_changes",
        key: &["seq"],
        columns: &[
            col("seq", Int),
            col("submission_id", Text),
            col("kiosk_id", Text),
            col("receipt_number", Text),
            col("status", Text),
            col("note", Text),
            col("changed_at", Time),
            col("materials", Text),
        ],
        identity: Some(Identity {
            column: "seq",
            floor: Floor::Autoincrement,
        }),
    },
    Table {
        name: "feed_counters",
        key: &["feed"],
        columns: &[col("feed", Text), col("last_seq", Int)],
        identity: None,
    },
    Table {
        name: "catalog_items",
        key: &["code"],
        columns: &[
            col("code", Text),
            col("version", Int),
            col("withdrawn", Bool),
            col("body", Text),
            col("change_seq", Int),
            col("updated_at", Time),
        ],
        identity: None,
    },
    Table {
        name: "notices",
        key: &["id"],
        columns: &[
            col("id", Text),
            col("for_every_village", Bool),
            col("body", Text),
            col("change_seq", Int),
            col("created_at", Time),
        ],
        identity: None,
    },
    Table {
        name: "notice_villages",
        key: &["notice_id", "village"],
        columns: &[col("notice_id", Text), col("village", Text)],
        identity: None,
    },
    Table {
        name: "staff_users",
        key: &["username"],
        columns: &[
            col("username", Text),
            col("display_name", Text),
            col("role", Text),
            col("scope", Text),
            col("password_hash", Text),
            col("created_at", Time),
            col("password_changed_at", Time),
            col("disabled_at", Time),
            col("failed_logins", Int),
            col("locked_until", Time),
        ],
        identity: None,
    },
    Table {
        name: "staff_sessions",
        key: &["token_hash"],
        columns: &[
            col("token_hash", Text),
            col("username", Text),
            col("csrf_token", Text),
            col("created_at", Time),
            col("last_used_at", Time),
            col("expires_at", Time),
            col("remote", Text),
        ],
        identity: None,
    },
    Table {
        name: "audit_log",
        key: &["seq"],
        columns: &[
            col("seq", Int),
            col("at", Time),
            col("actor", Text),
            col("action", Text),
            col("target", Text),
            col("detail", Text),
            col("remote", Text),
            col("prev_hash", Blob),
            col("hash", Blob),
        ],
        identity: Some(Identity {
            column: "seq",
            floor: Floor::Max,
        }),
    },
    Table {
        name: "review_actions",
        key: &["seq"],
        columns: &[
            col("seq", Int),
            col("submission_id", Text),
            col("stage", Int),
            col("actor", Text),
            col("action", Text),
            col("comment", Text),
            col("at", Time),
            // The materials a correction request names or a supplement brought (JSON).
            col("materials", Text),
        ],
        identity: Some(Identity {
            column: "seq",
            floor: Floor::Autoincrement,
        }),
    },
    Table {
        name: "follow_ups",
        key: &["submission_id"],
        columns: &[
            col("submission_id", Text),
            col("called_back_at", Time),
            col("call_note", Text),
            col("fix_note", Text),
            col("closed_at", Time),
            col("closed_by", Text),
            col("updated_at", Time),
        ],
        identity: None,
    },
    Table {
        name: "calendar_days",
        key: &["day"],
        columns: &[col("day", Date), col("kind", Text), col("name", Text)],
        identity: None,
    },
    Table {
        name: "catalog_drafts",
        key: &["code"],
        columns: &[
            col("code", Text),
            col("body", Text),
            col("updated_at", Time),
            col("updated_by", Text),
        ],
        identity: None,
    },
    Table {
        name: "catalog_versions",
        key: &["code", "version"],
        columns: &[
            col("code", Text),
            col("version", Int),
            col("body", Text),
            col("published_at", Time),
            col("published_by", Text),
        ],
        identity: None,
    },
    Table {
        name: "releases",
        key: &["version"],
        columns: &[
            col("version", Text),
            col("major", Int),
            col("minor", Int),
            col("patch", Int),
            col("bundle", Text),
            col("size", Int),
            col("summary", Text),
            col("uploaded_by", Text),
            col("uploaded_at", Time),
        ],
        identity: None,
    },
    Table {
        name: "rollouts",
        key: &["id"],
        columns: &[
            col("id", Int),
            col("version", Text),
            col("percent", Int),
            col("townships", Text),
            col("villages", Text),
            col("booths", Text),
            col("state", Text),
            col("failure_threshold", Int),
            col("state_reason", Text),
            col("created_by", Text),
            col("created_at", Time),
            col("changed_at", Time),
        ],
        identity: Some(Identity {
            column: "id",
            floor: Floor::Autoincrement,
        }),
    },
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|table| table.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_identity_names_a_column_of_its_table() {
        for table in TABLES {
            assert_eq!(
                table.key_columns().count(),
                table.key.len(),
                "{}: key",
                table.name
            );
            if let Some(identity) = table.identity {
                assert_eq!(
                    table.column(identity.column).map(|c| c.kind),
                    Some(Kind::Int),
                    "{}: identity",
                    table.name
                );
            }
        }
    }

    #[test]
    fn tables_are_listed_once() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
    }
}
