//! `kiosk notices [--json]`: the government notices this booth shows today (its village's and
//! everyone's, published, not expired, not withdrawn), as the notices screen lists them.

use std::path::Path;

use anyhow::Context as _;

use super::open_store;

#[derive(Debug, clap::Args)]
pub struct Notices {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Notices {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let store = open_store(data_dir)?;
        let identity = store
            .identity()?
            .context("this booth is not enrolled: kiosk enroll --server URL --code CODE")?;
        let notices = store.notices(&identity.village.village, store.beijing_today()?)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&notices)?);
            return Ok(());
        }
        if notices.is_empty() {
            println!("no notices for {} today", identity.village.village);
        }
        for notice in notices {
            let until = notice
                .expires_on
                .map_or_else(String::new, |d| format!(" until {d}"));
            println!("{} {}{until}", notice.published_on, notice.title);
        }
        Ok(())
    }
}
