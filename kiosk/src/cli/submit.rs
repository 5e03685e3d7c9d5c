//! `kiosk submit`: hand in a submission offline and print its receipt number.
//!
//! The receipt line is printed (and stdout flushed) only after the store's commit returned:
//! a number that was printed is durably queued, even if the process is killed right after.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use hardware::printer::{PaperWidth, Printer, PrinterConfig};
use kiosk_core::devices::PortSpec;
use kiosk_core::receipt_paper::{self, PrintedReceipt};

use anyhow::Context;
use kiosk_core::submit::{Draft, ItemLookup, prepare};
use sync_protocol::submission::SubmissionKind;

use super::open_store;

#[derive(clap::Args)]
pub struct Submit {
    /// application, complaint, evaluation or consultation.
    #[arg(long)]
    kind: SubmissionKind,
    /// The catalogue item's code (needed for an application).
    #[arg(long, value_name = "CODE")]
    item: Option<String>,
    /// A form field of the item; repeat for each field.
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
    fields: Vec<(String, String)>,
    /// Free text: the complaint or the question.
    #[arg(long)]
    text: Option<String>,
    /// 1 (very dissatisfied) to 5 (very satisfied), for an evaluation.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    rating: Option<u8>,
    /// The applicant's name (kept only if the item needs it).
    #[arg(long)]
    name: Option<String>,
    /// The applicant's 18-character ID number (kept only if the item needs it).
    #[arg(long = "id-number", value_name = "NUMBER")]
    id_number: Option<String>,
    /// The applicant's address (kept only if the item needs it).
    #[arg(long)]
    address: Option<String>,
    /// A contact phone number.
    #[arg(long)]
    phone: Option<String>,
    /// Print the villager's receipt (number, item, masked ID, QR code) on this printer port,
    /// e.g. /dev/usb/lp0 or the path `kiosk hw emulate printer` shows.
    #[arg(long, value_name = "PORT")]
    print: Option<PortSpec>,
    /// Paper width of that printer: 58 or 80 (mm).
    #[arg(long, default_value = "58")]
    paper: PaperWidth,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl fmt::Debug for Submit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The arguments carry the villager's personal data.
        f.debug_struct("Submit")
            .field("kind", &self.kind)
            .field("item", &self.item)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Submit {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let mut fields = BTreeMap::new();
        for (key, value) in &self.fields {
            if fields.insert(key.clone(), value.clone()).is_some() {
                anyhow::bail!("--field {key}=… is given twice: give each field once");
            }
        }
        let mut store = open_store(data_dir)?;
        let cached = match &self.item {
            Some(code) => store.catalog_item(code)?,
            None => None,
        };
        let lookup = match (&self.item, &cached) {
            (None, _) => ItemLookup::NoItem,
            (Some(_), Some(item)) => ItemLookup::Found(item),
            (Some(_), None) if store.catalog_items()?.is_empty() => ItemLookup::CatalogNotLoaded,
            (Some(_), None) => ItemLookup::Unknown,
        };
        let draft = Draft {
            kind: self.kind,
            item_code: self.item.clone(),
            fields,
            text: self.text.clone(),
            rating: self.rating,
            name: self.name.clone(),
            id_number: self.id_number.clone(),
            address: self.address.clone(),
            contact_phone: self.phone.clone(),
        };
        let submission = prepare(draft, lookup)?;
        let kind = submission.kind;
        let receipt = store.submit(submission)?;
        // Committed: only now may the number be shown.
        let line = if self.json {
            serde_json::json!({
                "receipt_number": receipt.number.to_string(),
                "id": receipt.id,
                "seq": receipt.seq,
                "created_at": receipt.created_at,
                "masked_id": receipt.masked_id,
            })
            .to_string()
        } else {
            format!("receipt: {}", receipt.number)
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .with_context(|| {
                format!(
                    "the submission is saved as receipt {}, but the number could not be printed: kiosk receipt show {0}",
                    receipt.number
                )
            })?;
        drop(stdout);
        if let Some(port) = &self.print {
            let paper = PrintedReceipt {
                booth: store
                    .identity()?
                    .map(|i| i.village.village)
                    .unwrap_or_default(),
                kind,
                item: cached.as_ref(),
                item_code: self.item.as_deref(),
                receipt: &receipt,
                supplement_to: None,
                phone_upload: None,
            };
            print_receipt(port, self.paper, &paper).with_context(|| {
                format!(
                    "the submission is saved as receipt {}, but its paper receipt was not printed",
                    receipt.number
                )
            })?;
        }
        Ok(())
    }
}

/// Prints the receipt on `port`.
fn print_receipt(
    port: &PortSpec,
    paper: PaperWidth,
    printed: &PrintedReceipt<'_>,
) -> anyhow::Result<()> {
    let transport = port.open(9600)?;
    let config = PrinterConfig {
        width: paper,
        ..PrinterConfig::default()
    };
    let report = Printer::new(transport, config).print(&receipt_paper::document(printed))?;
    if report.paper_near_end() {
        eprintln!("warning: the printer's paper is running out: load a new roll soon");
    }
    Ok(())
}

/// `key=value`; the value may contain `=`.
fn parse_field(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not a field: write KEY=VALUE, e.g. household_size=4"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_field("note=a=b"),
            Ok(("note".to_owned(), "a=b".to_owned()))
        );
        assert!(parse_field("=4").is_err());
        assert!(
            parse_field("household_size")
                .unwrap_err()
                .contains("KEY=VALUE")
        );
    }
}
