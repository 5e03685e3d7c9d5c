//! Paging by key for the staff lists (the inbox, follow-up tasks, the fleet): a page starts
//! just after (or, going back, just before) the sort key of a row the previous page showed,
//! never at a row count.
//!
//! Why not `OFFSET`: the database reads and throws away every row before the offset, so page
//! 1,000 of a province's inbox costs a thousand pages; and rows arriving while someone pages
//! shift every later page, so a row is shown twice or never. A key names a place in the order
//! that new rows do not move, and an index on the order finds it at once. Every order ends
//! with the row's own number (SQLite's rowid, PostgreSQL's `row_seq`), so keys are unique and
//! a page boundary inside a run of equal times neither skips nor repeats a row.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PageAt<K> {
    /// The start of the order.
    #[default]
    First,
    /// The rows after this key, in order.
    After(K),
    /// The rows before this key: the page that ends just before it.
    Before(K),
}

impl<K> PageAt<K> {
    /// Whether the rows are read against the order (and turned round before they are shown).
    pub fn backward(&self) -> bool {
        matches!(self, Self::Before(_))
    }

    /// The key the page starts from, if any.
    pub fn key(&self) -> Option<&K> {
        match self {
            Self::First => None,
            Self::After(key) | Self::Before(key) => Some(key),
        }
    }
}

/// Rows of one page with the keys that ask for its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T, K> {
    pub items: Vec<T>,
    /// `PageAt::Before` this for the page before; `None` at the start.
    pub previous: Option<K>,
    /// `PageAt::After` this for the page after; `None` at the end.
    pub next: Option<K>,
}

impl<T, K> Default for Paged<T, K> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            previous: None,
            next: None,
        }
    }
}

/// Makes the page from rows read in the scan's direction (see [`PageAt::backward`]), at most
/// `limit + 1` of them: the one past the page says whether there is more that way.
///
/// Going forward from a key, the key's own row is behind, so there is a page before; going
/// back, the key's row is ahead. (A row can leave a filtered list between two clicks, a
/// submission approved while someone pages an inbox of open ones; the page that way is then
/// the rows before it, or empty, never a repeat.)
pub fn assemble<T, K: Clone>(mut rows: Vec<(T, K)>, at: &PageAt<K>, limit: usize) -> Paged<T, K> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    if at.backward() {
        rows.reverse();
    }
    let first = rows.first().map(|(_, key)| key.clone());
    let last = rows.last().map(|(_, key)| key.clone());
    let (previous, next) = match at {
        PageAt::First => (None, last.filter(|_| more)),
        PageAt::After(_) => (first, last.filter(|_| more)),
        PageAt::Before(_) => (first.filter(|_| more), last),
    };
    Paged {
        items: rows.into_iter().map(|(item, _)| item).collect(),
        previous,
        next,
    }
}

/// Why a key from a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a page key this server gave out: start from the first page")]
pub struct BadKey(pub String);

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms.parse().ok()?)
}

/// What keys and SQL write for "no promised date" (`COALESCE(due_on, '9999-12-31')`): a date
/// after every real one, so an order that puts undated rows last has no NULL in its key (a
/// NULL in a row comparison answers nothing, and an index cannot seek to it).
pub const LAST_DUE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(day) => day,
    None => NaiveDate::MAX,
};

/// A promised date as keys hold it.
pub fn due_key(due_on: Option<NaiveDate>) -> NaiveDate {
    due_on.unwrap_or(LAST_DUE_DATE)
}

/// Where a row stands in an inbox order ([`crate::store::review::InboxOrder`]). Written in
/// links as text (`Display`/`FromStr`); opaque to everyone but the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKey {
    /// Newest first: received time, then row number, both descending.
    Newest {
        received_at: DateTime<Utc>,
        row: i64,
    },
    /// Open before finished, then the earliest promised date (none last), then the oldest
    /// received, then row number, all ascending.
    MostUrgent {
        is_final: bool,
        due: NaiveDate,
        received_at: DateTime<Utc>,
        row: i64,
    },
}

impl fmt::Display for InboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Newest { received_at, row } => write!(f, "n.{}.{row}", millis(*received_at)),
            Self::MostUrgent {
                is_final,
                due,
                received_at,
                row,
            } => write!(
                f,
                "u.{}.{}.{}.{row}",
                u8::from(*is_final),
                due.format("%Y%m%d"),
                millis(*received_at)
            ),
        }
    }
}

impl FromStr for InboxKey {
    type Err = BadKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadKey(text.to_owned());
        let parts: Vec<&str> = text.split('.').collect();
        match parts[..] {
            ["n", at, row] => Ok(Self::Newest {
                received_at: time(at).ok_or_else(bad)?,
                row: row.parse().map_err(|_| bad())?,
            }),
            ["u", is_final, due, at, row] => Ok(Self::MostUrgent {
                is_final: match is_final {
                    "0" => false,
                    "1" => true,
                    _ => return Err(bad()),
                },
                due: NaiveDate::parse_from_str(due, "%Y%m%d").map_err(|_| bad())?,
                received_at: time(at).ok_or_else(bad)?,
                row: row.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

/// Where a follow-up task stands in its list: the received time (open lists, ascending) or
/// the closing time (the closed list, descending), then the row number the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskKey {
    pub at: DateTime<Utc>,
    pub row: i64,
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", millis(self.at), self.row)
    }
}

impl FromStr for TaskKey {
    type Err = BadKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadKey(text.to_owned());
        let (at, row) = text.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            at: time(at).ok_or_else(bad)?,
            row: row.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    #[test]
    fn keys_read_back_as_written_and_refuse_anything_else() {
        let keys = [
            InboxKey::Newest {
                received_at: at(1_772_352_000_123),
                row: 42,
            },
            InboxKey::MostUrgent {
                is_final: true,
                due: LAST_DUE_DATE,
                received_at: at(5),
                row: 1,
            },
        ];
        for key in keys {
            assert_eq!(key.to_string().parse::<InboxKey>(), Ok(key));
        }
        let task = TaskKey { at: at(7), row: 9 };
        assert_eq!(task.to_string().parse::<TaskKey>(), Ok(task));
        for bad in [
            "",
            "n.1",
            "n.x.1",
            "u.2.20260301.1.1",
            "u.0.2026-03-01.1.1",
            "x.1.1",
        ] {
            assert!(bad.parse::<InboxKey>().is_err(), "{bad}");
        }
        assert!("1".parse::<TaskKey>().is_err());
    }

    #[test]
    fn a_page_knows_its_neighbours_in_both_directions() {
        let rows = |keys: &[i64]| keys.iter().map(|k| (*k, *k)).collect::<Vec<_>>();
        let first = assemble(rows(&[1, 2, 3]), &PageAt::First, 2);
        assert_eq!(
            (first.items, first.previous, first.next),
            (vec![1, 2], None, Some(2))
        );
        let middle = assemble(rows(&[3, 4, 5]), &PageAt::After(2), 2);
        assert_eq!(
            (middle.items, middle.previous, middle.next),
            (vec![3, 4], Some(3), Some(4))
        );
        let last = assemble(rows(&[5]), &PageAt::After(4), 2);
        assert_eq!(
            (last.items, last.previous, last.next),
            (vec![5], Some(5), None)
        );
        // Read backwards from 5: 4, 3, and 2 says there is more before.
        let back = assemble(rows(&[4, 3, 2]), &PageAt::Before(5), 2);
        assert_eq!(
            (back.items, back.previous, back.next),
            (vec![3, 4], Some(3), Some(4))
        );
        let start = assemble(rows(&[2, 1]), &PageAt::Before(3), 2);
        assert_eq!(
            (start.items, start.previous, start.next),
            (vec![1, 2], None, Some(2))
        );
        let empty = assemble(Vec::<(i64, i64)>::new(), &PageAt::After(9), 2);
        assert_eq!((empty.previous, empty.next), (None, None));
    }
}
