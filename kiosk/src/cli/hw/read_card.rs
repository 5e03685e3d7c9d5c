//! `kiosk hw read-card`: read the card on the ID card reader, as the booth will.
//!
//! A technician usually tests with someone else's card, so the output keeps personal data back:
//! the number is always masked, and the name, birth date and address are shown only with
//! `--show-personal` (for a holder testing their own card, in front of them).

use std::time::Duration;

use hardware::id_card::{Card, CardRead, Reader, ReaderConfig};
use kiosk_core::devices::{READER_BAUD, wait_for_card};
use serde_json::json;

use super::{PortArgs, parse_duration};

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
            Some(limit) => {
                eprintln!("place the card on the reader at {} …", reader.port());
                wait_for_card(&mut reader, limit)?
            }
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
        rows.extend(
            self.kind_fields()
                .into_iter()
                .map(|(label, _, value)| (label, value)),
        );
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

    /// What only this kind of card holds, as (text label, JSON key, value). A foreign permanent
    /// resident card's English name is its holder's primary name: masked like the name.
    fn kind_fields(&self) -> Vec<(&'static str, &'static str, String)> {
        let english_name = |name: &str| {
            if self.show_personal {
                name.to_owned()
            } else {
                mask_name(name)
            }
        };
        match self.card() {
            Card::Resident(c) => vec![
                ("nation", "nation", c.nation.to_string()),
                ("issuer", "issuer", c.issuer.clone()),
            ],
            Card::Permit(c) => vec![
                ("pass number", "pass_number", c.pass_number.to_string()),
                ("issue count", "issue_count", c.issue_count.to_string()),
                ("issuer", "issuer", c.issuer.clone()),
            ],
            Card::Foreign2017(c) => vec![
                (
                    "english name",
                    "english_name",
                    english_name(&c.english_name),
                ),
                ("nationality", "nationality", c.nationality.clone()),
            ],
            Card::Foreign2023(c) => vec![
                (
                    "english name",
                    "english_name",
                    english_name(&c.english_name),
                ),
                ("nationality", "nationality", c.nationality.clone()),
            ],
        }
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
        for (_, key, field) in self.kind_fields() {
            value[key] = json!(field);
        }
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
