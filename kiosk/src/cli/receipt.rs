//! `kiosk receipt show NUMBER`: the villager's progress query, as the booth knows it: the item,
//! the masked ID, when it was handed in, and the latest status the county sent.

use std::path::Path;

use chrono::SecondsFormat;
use clap::Subcommand;
use kiosk_core::store::LocalReceipt;
use serde_json::json;
use sync_protocol::feed::CatalogItem;

use super::open_store;

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Show a receipt: item, masked ID, created, latest status (typed numbers are checked).
    Show(Show),
}

impl ReceiptCommand {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        match self {
            Self::Show(cmd) => cmd.run(data_dir),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Show {
    /// The receipt number, e.g. 007-0001A-X (any case; dashes optional).
    number: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Show {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let store = open_store(data_dir)?;
        let receipt = store.existing_receipt(&self.number)?;
        let item = match &receipt.item_code {
            Some(code) => store.catalog_item(code)?,
            None => None,
        };
        if self.json {
            println!("{}", receipt_json(&receipt, item.as_ref()));
        } else {
            print!("{}", describe(&receipt, item.as_ref()));
        }
        Ok(())
    }
}

fn receipt_json(receipt: &LocalReceipt, item: Option<&CatalogItem>) -> serde_json::Value {
    json!({
        "receipt_number": receipt.number,
        "submission_id": receipt.submission_id,
        "kind": receipt.kind,
        "item_code": receipt.item_code,
        "item_name_zh": item.map(|i| &i.name_zh),
        "item_name_en": item.map(|i| &i.name_en),
        "masked_id": receipt.masked_id,
        "created_at": receipt.created_at,
        "status": receipt.status,
        "status_zh": receipt.status.map(|s| s.name_zh()),
        "status_note": receipt.status_note,
        "status_changed_at": receipt.status_changed_at,
        "upload": receipt.upload,
    })
}

fn describe(receipt: &LocalReceipt, item: Option<&CatalogItem>) -> String {
    let mut lines = vec![
        format!("receipt: {}", receipt.number),
        format!(
            "kind: {} ({})",
            receipt.kind.name_zh(),
            receipt.kind.as_str()
        ),
    ];
    match (&receipt.item_code, item) {
        (Some(_), Some(item)) => lines.push(format!(
            "item: {} {} / {}",
            item.code, item.name_zh, item.name_en
        )),
        (Some(code), None) => lines.push(format!("item: {code}")),
        (None, _) => {}
    }
    if let Some(masked) = &receipt.masked_id {
        lines.push(format!("ID: {masked}"));
    }
    lines.push(format!(
        "created: {}",
        receipt
            .created_at
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    ));
    lines.push(match (receipt.status, receipt.status_changed_at) {
        (Some(status), Some(at)) => format!(
            "status: {} ({}) since {}",
            status.name_zh(),
            status.as_str(),
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        (Some(status), None) => format!("status: {} ({})", status.name_zh(), status.as_str()),
        (None, _) => format!(
            "status: {} ({}): the county has not received it yet",
            receipt.upload.name_zh(),
            receipt.upload.as_str()
        ),
    });
    if let Some(note) = &receipt.status_note {
        lines.push(format!("note: {note}"));
    }
    lines.push(format!(
        "upload: {} ({})",
        receipt.upload.name_zh(),
        receipt.upload.as_str()
    ));
    lines.join("\n") + "\n"
}
