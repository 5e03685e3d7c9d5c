//! `sync-server notice add --title T --body B [--village V]... [--published DATE]
//! [--expires DATE] [--json]`.
//!
//! Text: `published notice ID to all villages` (or `to 石门村, 六合村`). `--json`: the notice
//! as booths receive it.

use anyhow::ensure;
use chrono::{NaiveDate, Utc};
use sync_server::store::{NewNotice, Store};

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Publish a notice to every booth, or to the booths of some villages.
    Add {
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: String,
        /// A target village; repeat for several; none for every village.
        #[arg(long = "village", value_name = "VILLAGE")]
        villages: Vec<String>,
        /// The publication date (YYYY-MM-DD); today when left out.
        #[arg(long, value_name = "DATE")]
        published: Option<NaiveDate>,
        /// The last day booths show it (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        expires: Option<NaiveDate>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        let Self::Add {
            title,
            body,
            villages,
            published,
            expires,
            json,
        } = self;
        ensure!(
            !title.trim().is_empty() && !body.trim().is_empty(),
            "a notice needs a --title and a --body"
        );
        let now = Utc::now();
        let published_on = published.unwrap_or_else(|| now.date_naive());
        if let Some(expires) = expires {
            ensure!(
                *expires >= published_on,
                "--expires {expires} is before the publication date {published_on}"
            );
        }
        let notice = store
            .add_notice(
                NewNotice {
                    title: title.trim().to_owned(),
                    body: body.trim().to_owned(),
                    published_on,
                    expires_on: *expires,
                    villages: villages
                        .iter()
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect(),
                },
                now,
            )
            .await?;
        store
            .append_audit(
                sync_server::store::staff::AuditEntry::new(now, "cli", "notice.create")
                    .target(notice.id.to_string()),
            )
            .await?;
        if *json {
            return output::print_json(&notice);
        }
        let audience = if notice.villages.is_empty() {
            "all villages".to_owned()
        } else {
            notice.villages.join(", ")
        };
        println!("published notice {} to {audience}", notice.id);
        Ok(())
    }
}
