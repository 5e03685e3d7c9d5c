//! `sync-server submissions list|show|set-status`: the staff view until the web app exists.
//!
//! Personal data: `list` shows no names and only masked ID numbers (`450902********0028`), in
//! text and JSON; `show` is the one place staff see a submission whole (name, full ID number,
//! address, phone, form, text), because handling it needs them.
//!
//! - `list` text: `RECEIPT  KIND  ITEM  STATUS  KIOSK  RECEIVED  ID NUMBER` per line, newest
//!   first; `--json`: an array of `{id, receipt_number, kind, item_code, status, kiosk_id,
//!   kiosk_number, received_at, status_changed_at, id_number_masked}`.
//! - `show` text: `field: value` lines, then the status history; `--json`: `{submission,
//!   kiosk_id, kiosk_number, status, received_at, status_changed_at, history}`.
//! - `set-status` text: `RECEIPT: OLD -> NEW`; `--json`: the status change as the booth
//!   receives it.

use anyhow::{Context as _, bail};
use chrono::Utc;
use serde_json::{Value, json};
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::mask_id_number;
use sync_server::store::{KioskRef, Store, SubmissionFilter, SubmissionRecord, SubmissionRef};

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List submissions, newest first (no names; ID numbers masked).
    List {
        /// Only this kiosk's (id or number).
        #[arg(long)]
        kiosk: Option<String>,
        /// Only those in this status: received, accepted, in_review, needs_correction,
        /// approved, rejected.
        #[arg(long)]
        status: Option<SubmissionStatus>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one submission in full, personal data included, with its status history.
    Show {
        /// The submission id or its receipt number.
        submission: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a submission's status; the booth that sent it sees the change on its next sync.
    SetStatus {
        /// The submission id or its receipt number.
        submission: String,
        /// received, accepted, in_review, needs_correction, approved or rejected.
        status: SubmissionStatus,
        /// A note shown to the villager (e.g. what to bring).
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::List {
                kiosk,
                status,
                limit,
                json,
            } => {
                let filter = SubmissionFilter {
                    kiosk: kiosk.as_deref().map(KioskRef::parse),
                    status: *status,
                    limit: Some(*limit),
                };
                list(store, &filter, *json).await
            }
            Self::Show { submission, json } => show(store, &parse_ref(submission)?, *json).await,
            Self::SetStatus {
                submission,
                status,
                note,
                json,
            } => {
                let reference = parse_ref(submission)?;
                set_status(store, &reference, *status, note.clone(), *json).await
            }
        }
    }
}

fn parse_ref(text: &str) -> anyhow::Result<SubmissionRef> {
    if let Ok(id) = text.trim().parse::<uuid::Uuid>() {
        return Ok(SubmissionRef::Id(id));
    }
    let receipt: ReceiptNumber = text
        .parse()
        .with_context(|| format!("`{text}` is neither a submission id nor a receipt number"))?;
    Ok(SubmissionRef::Receipt(receipt.to_string()))
}

fn masked_id(record: &SubmissionRecord) -> Option<String> {
    record
        .submission
        .applicant
        .as_ref()
        .and_then(|a| a.id_number.as_deref())
        .map(mask_id_number)
}

async fn list(store: &dyn Store, filter: &SubmissionFilter, json: bool) -> anyhow::Result<()> {
    let records = store.list_submissions(filter).await?;
    if json {
        let rows: Vec<Value> = records
            .iter()
            .map(|r| {
                json!({
                    "id": r.submission.id,
                    "receipt_number": r.submission.receipt_number,
                    "kind": r.submission.kind,
                    "item_code": r.submission.item_code,
                    "status": r.status,
                    "kiosk_id": r.kiosk_id,
                    "kiosk_number": r.kiosk_number,
                    "received_at": r.received_at,
                    "status_changed_at": r.status_changed_at,
                    "id_number_masked": masked_id(r),
                })
            })
            .collect();
        return output::print_json(&rows);
    }
    if records.is_empty() {
        println!("no submissions");
        return Ok(());
    }
    println!(
        "{:<13} {:<13} {:<10} {:<17} {:<6} {:<24} ID NUMBER",
        "RECEIPT", "KIND", "ITEM", "STATUS", "KIOSK", "RECEIVED"
    );
    for record in &records {
        println!(
            "{:<13} {:<13} {:<10} {:<17} {:<6} {:<24} {}",
            record.submission.receipt_number,
            record.kind().as_str(),
            record.submission.item_code.as_deref().unwrap_or("-"),
            record.status.as_str(),
            format!("#{}", record.kiosk_number),
            output::time(record.received_at),
            masked_id(record).unwrap_or_else(|| "-".into()),
        );
    }
    Ok(())
}

async fn find(store: &dyn Store, reference: &SubmissionRef) -> anyhow::Result<SubmissionRecord> {
    match store.find_submission(reference).await? {
        Some(record) => Ok(record),
        None => bail!(
            "no submission {reference}: check the number, or see `sync-server submissions list`"
        ),
    }
}

async fn show(store: &dyn Store, reference: &SubmissionRef, json: bool) -> anyhow::Result<()> {
    let record = find(store, reference).await?;
    let history = store.submission_history(record.submission.id).await?;
    if json {
        return output::print_json(&json!({
            "submission": record.submission,
            "kiosk_id": record.kiosk_id,
            "kiosk_number": record.kiosk_number,
            "status": record.status,
            "received_at": record.received_at,
            "status_changed_at": record.status_changed_at,
            "history": history,
        }));
    }
    let s = &record.submission;
    let line = |label: &str, value: &str| println!("{label:<16} {value}");
    line("receipt:", &s.receipt_number);
    line("id:", &s.id.to_string());
    line(
        "kind:",
        &format!("{} ({})", s.kind.as_str(), s.kind.name_zh()),
    );
    line("item:", s.item_code.as_deref().unwrap_or("-"));
    if let Some(version) = s.catalog_version {
        line("catalog version:", &version.to_string());
    }
    line(
        "status:",
        &format!("{} ({})", record.status.as_str(), record.status.name_zh()),
    );
    line(
        "kiosk:",
        &format!("#{} ({})", record.kiosk_number, record.kiosk_id),
    );
    line("created:", &output::time(s.created_at));
    line("received:", &output::time(record.received_at));
    if let Some(applicant) = &s.applicant {
        line("name:", applicant.name.as_deref().unwrap_or("-"));
        line("id number:", applicant.id_number.as_deref().unwrap_or("-"));
        line("address:", applicant.address.as_deref().unwrap_or("-"));
    }
    line("phone:", s.contact_phone.as_deref().unwrap_or("-"));
    if let Some(rating) = s.rating {
        line("rating:", &format!("{rating}/5"));
    }
    for (key, value) in &s.fields {
        line(&format!("{key}:"), value);
    }
    if let Some(text) = &s.text {
        line("text:", text);
    }
    println!("history:");
    for change in &history {
        println!(
            "  {}  {}{}",
            output::time(change.changed_at),
            change.status.as_str(),
            change
                .note
                .as_deref()
                .map_or_else(String::new, |n| format!("  ({n})"))
        );
    }
    Ok(())
}

async fn set_status(
    store: &dyn Store,
    reference: &SubmissionRef,
    status: SubmissionStatus,
    note: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let before = find(store, reference).await?;
    let Some(change) = store
        .set_status(reference, status, note, Utc::now())
        .await?
    else {
        bail!("no submission {reference}: it vanished while being changed");
    };
    // Outside the review chain, so at least on the record.
    store
        .append_audit(
            sync_server::store::staff::AuditEntry::new(Utc::now(), "cli", "submission.set_status")
                .target(&change.receipt_number)
                .detail(format!(
                    "{} -> {}",
                    before.status.as_str(),
                    change.status.as_str()
                )),
        )
        .await?;
    if json {
        return output::print_json(&change);
    }
    println!(
        "{}: {} -> {}{}",
        change.receipt_number,
        before.status.as_str(),
        change.status.as_str(),
        change
            .note
            .as_deref()
            .map_or_else(String::new, |n| format!(" ({n})"))
    );
    Ok(())
}
