//! A `WHERE` clause made of only the conditions a list query uses, and the seek to a page's
//! key (see [`crate::store::paging`]); SQLite's `filter.rs` in PostgreSQL's placeholders.
//!
//! PostgreSQL plans an unnamed statement with its values, so `($1 IS NULL OR s.county = $1)`
//! would reach an index here; the conditions are still left out rather than switched off so
//! both stores send their planners the same question.

use tokio_postgres::types::ToSql;

use crate::store::paging::PageAt;

/// A bound value.
pub(super) type Value = Box<dyn ToSql + Sync + Send>;

#[derive(Default)]
pub(super) struct Filter {
    conditions: Vec<String>,
    params: Vec<Value>,
}

impl Filter {
    /// Binds `value`; answers its placeholder.
    pub(super) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.bind_boxed(Box::new(value))
    }

    fn bind_boxed(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    pub(super) fn add(&mut self, condition: impl Into<String>) {
        self.conditions.push(condition.into());
    }

    /// `column = value`, when there is a value.
    pub(super) fn equal<T: ToSql + Sync + Send + 'static>(
        &mut self,
        column: &str,
        value: Option<T>,
    ) {
        if let Some(value) = value {
            let holder = self.bind(value);
            self.add(format!("{column} = {holder}"));
        }
    }

    /// Keeps the rows past `at`'s key in the order of `columns` (all ascending, or all
    /// descending), and answers the `ORDER BY` that reads them from there: against the order
    /// when the page is the one before the key. `key` gives the key's value per column.
    pub(super) fn seek<K>(
        &mut self,
        columns: &[&str],
        descending: bool,
        at: &PageAt<K>,
        key: impl FnOnce(&K) -> Vec<Value>,
    ) -> String {
        let reads_down = descending != at.backward();
        if let Some(found) = at.key() {
            let holders: Vec<String> = key(found)
                .into_iter()
                .map(|value| self.bind_boxed(value))
                .collect();
            let past = if reads_down { "<" } else { ">" };
            self.add(format!(
                "({}) {past} ({})",
                columns.join(", "),
                holders.join(", ")
            ));
        }
        let direction = if reads_down { "DESC" } else { "ASC" };
        columns
            .iter()
            .map(|column| format!("{column} {direction}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `WHERE …`, or nothing.
    pub(super) fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}
