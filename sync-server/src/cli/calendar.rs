//! `sync-server calendar add DATE --kind holiday|workday --name NAME`, `calendar remove DATE`,
//! `calendar list [--json]`: the days that break the Monday-to-Friday rule, which deadlines
//! are counted with. Enter each year's holidays from the State Council's notice.

use chrono::{NaiveDate, Utc};
use sync_server::domain::calendar::{CalendarDay, DayKind};
use sync_server::store::Store;
use sync_server::store::staff::AuditEntry;

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Mark a day as a holiday (a weekday off) or a workday (a weekend day worked).
    Add {
        /// YYYY-MM-DD.
        day: NaiveDate,
        #[arg(long, value_parser = parse_kind)]
        kind: DayKind,
        /// What it is, e.g. 国庆节 or 国庆节调休.
        #[arg(long)]
        name: String,
    },
    /// Take a day off the calendar (it follows the weekday rule again).
    Remove { day: NaiveDate },
    /// List the calendar's days.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn parse_kind(text: &str) -> Result<DayKind, String> {
    text.parse()
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::Add { day, kind, name } => {
                anyhow::ensure!(!name.trim().is_empty(), "give the day a --name");
                store
                    .set_calendar_day(
                        CalendarDay {
                            day: *day,
                            kind: *kind,
                            name: name.trim().to_owned(),
                        },
                        AuditEntry::new(Utc::now(), "cli", "calendar.set")
                            .target(day.to_string())
                            .detail(format!("{} {}", kind.as_str(), name.trim())),
                    )
                    .await?;
                println!("{day} is now a {} ({})", kind.as_str(), name.trim());
            }
            Self::Remove { day } => {
                let removed = store
                    .remove_calendar_day(
                        *day,
                        AuditEntry::new(Utc::now(), "cli", "calendar.remove")
                            .target(day.to_string()),
                    )
                    .await?;
                if removed {
                    println!("{day} follows the weekday rule again");
                } else {
                    println!("{day} was not on the calendar: nothing changed");
                }
            }
            Self::List { json } => {
                let days = store.calendar_days().await?;
                if *json {
                    return output::print_json(&days);
                }
                if days.is_empty() {
                    println!(
                        "no holidays or exchanged workdays: add them with `sync-server calendar add`"
                    );
                }
                for day in days {
                    println!(
                        "{} {:<3} {:<8} {}",
                        day.day,
                        day.day.format("%a"),
                        day.kind.as_str(),
                        day.name
                    );
                }
            }
        }
        Ok(())
    }
}
