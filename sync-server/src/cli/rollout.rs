//! `sync-server rollout create|list|pause|resume|widen|stop`: what the staff releases page
//! does with rollouts, for county IT at a terminal, audited as `cli`.
//!
//! `create VERSION [--percent N] [--township COUNTY/TOWNSHIP]… [--village
//! COUNTY/TOWNSHIP/VILLAGE]… [--booth N]… [--threshold P]` prints `rollout ID started: …`;
//! `widen ID` takes the same targets and adds them; `pause`, `resume` and `stop` take the id.
//! `list` prints one line per rollout with its progress (targeted, under way, installed,
//! failed) and why it paused itself, if it did.

use anyhow::bail;
use booth_release::Version;
use chrono::Utc;
use sync_server::domain::releases::{self, RolloutTargets, parse_targets, parse_threshold};
use sync_server::store::Store;
use sync_server::store::releases::{NewRollout, RolloutChange};
use sync_server::store::staff::AuditEntry;

use super::output;

/// Which booths, as on the page.
#[derive(Debug, clap::Args)]
pub struct Targets {
    /// Of all booths, 0 to 100 (chosen by a hash of the rollout and the booth number, so a
    /// larger percentage keeps the booths a smaller one had).
    #[arg(long, value_name = "N", default_value = "")]
    percent: String,
    /// Every booth of a township, `county/township` (repeat for more).
    #[arg(long = "township", value_name = "COUNTY/TOWNSHIP")]
    townships: Vec<String>,
    /// Every booth of a village, `county/township/village` (repeat for more).
    #[arg(long = "village", value_name = "COUNTY/TOWNSHIP/VILLAGE")]
    villages: Vec<String>,
    /// One booth by its number (repeat for more).
    #[arg(long = "booth", value_name = "N")]
    booths: Vec<String>,
}

impl Targets {
    fn parse(&self) -> anyhow::Result<RolloutTargets> {
        Ok(parse_targets(
            &self.percent,
            &self.townships.join("\n"),
            &self.villages.join("\n"),
            &self.booths.join(","),
        )?)
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start rolling a release out to some booths.
    Create {
        /// The release's version, as `release list` shows it.
        version: String,
        #[command(flatten)]
        targets: Targets,
        /// Pause by itself when more than this percent of the booths that started it failed.
        #[arg(long, value_name = "PERCENT", default_value = "")]
        threshold: String,
    },
    /// List the rollouts, newest first, with their progress.
    List,
    /// No new booth starts; booths that started keep their target.
    Pause { id: i64 },
    /// Go on after a pause (an automatic one too).
    Resume { id: i64 },
    /// No booth keeps this target.
    Stop { id: i64 },
    /// Add booths: a larger percentage, more places or booth numbers.
    Widen {
        id: i64,
        #[command(flatten)]
        targets: Targets,
    },
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        let audit = |action: &str| AuditEntry::new(Utc::now(), "cli", action);
        let (id, change) = match self {
            Self::Create {
                version,
                targets,
                threshold,
            } => return create(store, version, targets, threshold).await,
            Self::List => return list(store).await,
            Self::Pause { id } => (*id, RolloutChange::Pause),
            Self::Resume { id } => (*id, RolloutChange::Resume),
            Self::Stop { id } => (*id, RolloutChange::Stop),
            Self::Widen { id, targets } => (*id, RolloutChange::Widen(targets.parse()?)),
        };
        let mut line = audit(change.action());
        if let RolloutChange::Widen(more) = &change {
            line = line.detail(format!("add {more}"));
        }
        match store.change_rollout(id, change, line).await? {
            Ok(rollout) => {
                println!(
                    "rollout {} of {} is {}: {}",
                    rollout.id, rollout.version, rollout.state, rollout.targets
                );
                Ok(())
            }
            Err(refusal) => bail!(refusal),
        }
    }
}

async fn create(
    store: &dyn Store,
    version: &str,
    targets: &Targets,
    threshold: &str,
) -> anyhow::Result<()> {
    let version: Version = version.trim().parse()?;
    let targets = targets.parse()?;
    let failure_threshold = parse_threshold(threshold)?;
    let audit = AuditEntry::new(Utc::now(), "cli", "rollout.create").detail(format!(
        "{version} to {targets}, pause past {failure_threshold} % failed"
    ));
    let rollout = NewRollout {
        version,
        targets,
        failure_threshold,
        created_by: "cli".into(),
        created_at: Utc::now(),
    };
    match store.create_rollout(rollout, audit).await? {
        Ok(rollout) => {
            println!(
                "rollout {} started: {} to {}, pausing past {} % failed",
                rollout.id, rollout.version, rollout.targets, rollout.failure_threshold
            );
            Ok(())
        }
        Err(refusal) => bail!(refusal),
    }
}

async fn list(store: &dyn Store) -> anyhow::Result<()> {
    let rollouts = store.list_rollouts().await?;
    if rollouts.is_empty() {
        println!("no rollouts: start one with `sync-server rollout create VERSION --percent 10`");
        return Ok(());
    }
    let kiosks = store.list_kiosks().await?;
    for rollout in &rollouts {
        let p = releases::progress(rollout, &kiosks);
        println!(
            "{}  {}  {}  [{}]  targeted {}  under way {}  installed {}  failed {}  threshold {} %  since {}{}",
            rollout.id,
            rollout.version,
            rollout.state,
            rollout.targets,
            p.targeted,
            p.in_progress,
            p.installed,
            p.failed,
            rollout.failure_threshold,
            output::time(rollout.changed_at),
            rollout
                .state_reason
                .as_deref()
                .map(|reason| format!("  ({reason})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
