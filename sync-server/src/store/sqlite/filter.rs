//! A `WHERE` clause made of only the conditions a list query uses, and the seek to a page's
//! key (see [`crate::store::paging`]).
//!
//! Why not one fixed statement with `(?1 IS NULL OR s.county = ?1)` for each optional filter:
//! SQLite plans a statement before it sees the values, and an `OR` with a parameter keeps it
//! off every index, so a province's inbox would be read whole for each page.

use rusqlite::ToSql;

use crate::store::paging::PageAt;

#[derive(Default)]
pub(super) struct Filter {
    conditions: Vec<String>,
    params: Vec<Box<dyn ToSql>>,
}

impl Filter {
    /// Binds `value`; answers its placeholder.
    pub(super) fn bind(&mut self, value: impl ToSql + 'static) -> String {
        self.bind_boxed(Box::new(value))
    }

    fn bind_boxed(&mut self, value: Box<dyn ToSql>) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    pub(super) fn add(&mut self, condition: impl Into<String>) {
        self.conditions.push(condition.into());
    }

    /// `column = value`, when there is a value.
    pub(super) fn equal<T: ToSql + 'static>(&mut self, column: &str, value: Option<T>) {
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
        key: impl FnOnce(&K) -> Vec<Box<dyn ToSql>>,
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

    pub(super) fn params(&self) -> impl rusqlite::Params + '_ {
        rusqlite::params_from_iter(self.params.iter())
    }
}
