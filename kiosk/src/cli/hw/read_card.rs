//! `kiosk hw read-card`: read the card on the ID card reader, as the booth will.
//!
//! A technician usually tests with someone else's card, so the output keeps personal data back:
//! the number is always masked, and the name, birth date and address are shown only with
//! `--show-personal` (for a holder testing their own card, in front of them).

use std::time::{Duration, Instant};

use hardware::id_card::{Card, CardRead, PollEvent, Reader, ReaderConfig, ReaderError, Status};
use serde_json::json;

use super::{PortArgs, parse_duration};

/// GA 467 modules default to 115200 baud.
pub const READER_BAUD: u32 = 115_200;

#[derive(Debug, clap::Args)]
pub struct ReadCard {
    #[command(flatten)]
    port: PortArgs,
    /// Wait this long for a card to be placed instead of failing at once (e.g. 30s).
    #[arg(long, value_parser = parse_duration)]
    wait: Option<Duration>,
    /// Also show the holder's name, birth date and address (only for the holder's own eyes).
    #[arg(long)]
    show_personal: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl ReadCard {
    pub fn run(&self) -> anyhow::Result<()> {
        let transport = self.port.open(READER_BAUD)?;
        let mut reader = Reader::new(transport, ReaderConfig::default());
        let read = match self.wait {
            None => reader.read_card()?,
            Some(limit) => wait_for_card(&mut reader, limit)?,
        };
        let view = CardView::new(&read, self.show_personal);
        if self.json {
            println!("{}", serde_json::to_string_pretty(&view.json())?);
        } else {
            print!("{}", view.text());
        }
        Ok(())
    }
}

fn wait_for_card<T: hardware::transport::Transport>(
    reader: &mut Reader<T>,
    limit: Duration,
) -> anyhow::Result<CardRead> {
    let deadline = Instant::now() + limit;
    eprintln!("place the card on the reader at {} …", reader.port());
    loop {
        match reader.poll() {
            Ok(PollEvent::Placed(read)) => return Ok(*read),
            Ok(_) => {}
            // A card lifted mid-read or not yet selectable: keep polling like the booth does.
            Err(ReaderError::Status {
                status: Status::ReadFailed | Status::SelectFailed,
                ..
            }) => {}
            Err(err) => return Err(err.into()),
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "no card was placed on the reader at {} within {limit:?}: place the card flat on the reader",
                reader.port()
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// What is shown of a card read.
pub(super) struct CardView<'a> {
    read: &'a CardRead,
    show_personal: bool,
}

impl<'a> CardView<'a> {
    pub(super) fn new(read: &'a CardRead, show_personal: bool) -> Self {
        Self {
            read,
            show_personal,
        }
    }

    fn card(&self) -> &Card {
        &self.read.card
    }

    fn name(&self) -> String {
        let name = self.card().display_name();
        if self.show_personal {
            name.to_owned()
        } else {
            mask_name(name)
        }
    }

    fn rows(&self) -> Vec<(&'static str, String)> {
        let card = self.card();
        let mut rows = vec![
            (
                "kind",
                format!("{} ({})", card.kind().name_zh(), card.kind().name_en()),
            ),
            ("number", card.id_number().to_string()),
            (
                "number check",
                if card.validate_number().is_ok() {
                    "passes".into()
                } else {
                    "FAILS".into()
                },
            ),
            ("name", self.name()),
            ("gender", card.gender().name_zh().to_owned()),
        ];
        match card {
            Card::Resident(c) => {
                rows.push(("nation", c.nation.to_string()));
                rows.push(("issuer", c.issuer.clone()));
            }
            Card::Permit(c) => {
                rows.push(("pass number", c.pass_number.to_string()));
                rows.push(("issue count", c.issue_count.to_string()));
                rows.push(("issuer", c.issuer.clone()));
            }
            Card::Foreign2017(c) => rows.push(("nationality", c.nationality.clone())),
            Card::Foreign2023(c) => rows.push(("nationality", c.nationality.clone())),
        }
        rows.push(("valid until", card.valid_until().to_string()));
        rows.push((
            "photo",
            format!("{} bytes (WLT)", self.read.photo.as_bytes().len()),
        ));
        let appended = self.read.appended_address.is_some();
        if self.show_personal {
            rows.push(("birth", card.birth().to_string()));
            if let Some(address) = address(card) {
                rows.push(("address", address.to_owned()));
            }
            if let Some(extra) = &self.read.appended_address {
                rows.push(("appended address", extra.clone()));
            }
        } else {
            rows.push((
                "appended address",
                if appended {
                    "present (hidden)".into()
                } else {
                    "none".into()
                },
            ));
        }
        rows
    }

    pub(super) fn text(&self) -> String {
        self.rows()
            .into_iter()
            .map(|(label, value)| format!("{label:<17} {value}\n"))
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        let card = self.card();
        let mut value = json!({
            "kind": card.kind().name_en(),
            "number_masked": card.id_number().to_string(),
            "number_valid": card.validate_number().is_ok(),
            "name": self.name(),
            "gender": card.gender().name_zh(),
            "valid_until": card.valid_until().to_string(),
            "photo_bytes": self.read.photo.as_bytes().len(),
            "has_appended_address": self.read.appended_address.is_some(),
        });
        if self.show_personal {
            value["birth"] = json!(card.birth().to_string());
            value["address"] = json!(address(card));
            value["appended_address"] = json!(self.read.appended_address);
        }
        value
    }
}

fn address(card: &Card) -> Option<&str> {
    match card {
        Card::Resident(c) => Some(&c.address),
        Card::Permit(c) => Some(&c.address),
        Card::Foreign2017(_) | Card::Foreign2023(_) => None,
    }
}

/// Keeps the first character: `李秀英` → `李**`, enough to tell cards apart at the booth.
fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first)
            .chain(chars.map(|c| if c == ' ' { ' ' } else { '*' }))
            .collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_name;

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("李秀英"), "李**");
        assert_eq!(mask_name("Anna Smith"), "A*** *****");
        assert_eq!(mask_name(""), "");
    }
}
