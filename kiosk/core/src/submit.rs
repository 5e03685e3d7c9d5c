//! From what a villager filled in to a [`NewSubmission`] the catalogue item allows: required
//! form fields present, choices among the allowed ones, and only the identity the item needs
//! kept (minimisation: an item that needs no identity gets none stored).

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use sync_protocol::feed::{CatalogItem, FieldKind, IdentityNeed};
use sync_protocol::submission::{Applicant, SubmissionKind};

use crate::store::NewSubmission;

/// What was filled in, before it is checked against the item.
#[derive(Clone, PartialEq, Eq)]
pub struct Draft {
    pub kind: SubmissionKind,
    pub item_code: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub text: Option<String>,
    pub rating: Option<u8>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
}

impl fmt::Debug for Draft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Draft")
            .field("kind", &self.kind)
            .field("item_code", &self.item_code)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the booth knows of the item named in the draft.
#[derive(Debug, Clone, Copy)]
pub enum ItemLookup<'a> {
    /// No item named.
    NoItem,
    /// The item from the catalogue cache.
    Found(&'a CatalogItem),
    /// Not in the cache, and the cache is empty (never synced): accepted unchecked, the server
    /// checks it.
    CatalogNotLoaded,
    /// Not in a loaded cache: most likely a typo.
    Unknown,
}

/// Why a draft does not fit its item; each says what to fill in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error(
        "no item `{0}` in the booth's catalogue: check the code (the catalogue updates on sync)"
    )]
    UnknownItem(String),
    #[error("item {item} is withdrawn: it can no longer be applied for")]
    Withdrawn { item: String },
    #[error("item {item} needs the field `{key}` ({label}): add --field {key}=VALUE")]
    MissingField {
        item: String,
        key: String,
        label: String,
    },
    #[error("item {item} has no field `{key}`; its fields are: {known}")]
    UnknownField {
        item: String,
        key: String,
        known: String,
    },
    #[error("field `{key}` of item {item} must be one of: {choices}")]
    NotAChoice {
        item: String,
        key: String,
        choices: String,
    },
    #[error("field `{key}` of item {item} must be {expected}")]
    WrongFormat {
        item: String,
        key: String,
        expected: &'static str,
    },
    #[error("item {item} needs the applicant's {what}: add {flags}")]
    MissingIdentity {
        item: String,
        what: &'static str,
        flags: &'static str,
    },
}

/// Checks `draft` against its item and keeps only the identity the item needs.
pub fn prepare(draft: Draft, item: ItemLookup<'_>) -> Result<NewSubmission, DraftError> {
    let Draft {
        kind,
        item_code,
        fields,
        text,
        rating,
        name,
        id_number,
        address,
        contact_phone,
    } = draft;
    let trimmed =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let name = trimmed(name);
    let id_number = trimmed(id_number).map(|n| n.to_ascii_uppercase());
    let address = trimmed(address);
    let mut applicant = Applicant {
        name,
        id_number,
        address,
    };
    let mut catalog_version = None;
    match item {
        ItemLookup::Unknown => {
            return Err(DraftError::UnknownItem(item_code.unwrap_or_default()));
        }
        // Only an application fills in the item's form; a complaint, rating or question
        // about an item just names it.
        ItemLookup::Found(item) if kind == SubmissionKind::Application => {
            if item.withdrawn {
                return Err(DraftError::Withdrawn {
                    item: item.code.clone(),
                });
            }
            check_fields(item, &fields)?;
            applicant = keep_needed(item, applicant)?;
            catalog_version = Some(item.version);
        }
        ItemLookup::Found(item) => catalog_version = Some(item.version),
        ItemLookup::NoItem | ItemLookup::CatalogNotLoaded => {}
    }
    let has_identity =
        applicant.name.is_some() || applicant.id_number.is_some() || applicant.address.is_some();
    Ok(NewSubmission {
        pages: Vec::new(),
        kind,
        item_code: item_code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        catalog_version,
        fields,
        text: trimmed(text),
        rating,
        applicant: has_identity.then_some(applicant),
        contact_phone: trimmed(contact_phone),
        // Set by the booth from the card it read, not from what was typed: only the card's
        // holder should later list these receipts with the same card.
        holder_id_number: None,
        // A supplement is made from a receipt, not from this form.
        supplement_to: None,
        // The booth decides: only one without a camera offers the phone page.
        phone_upload: false,
    })
}

fn check_fields(item: &CatalogItem, fields: &BTreeMap<String, String>) -> Result<(), DraftError> {
    for key in fields.keys() {
        if !item.form.iter().any(|f| &f.key == key) {
            let known: Vec<&str> = item.form.iter().map(|f| f.key.as_str()).collect();
            return Err(DraftError::UnknownField {
                item: item.code.clone(),
                key: key.clone(),
                known: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            });
        }
    }
    for field in &item.form {
        let value = fields.get(&field.key).map(|v| v.trim()).unwrap_or("");
        if value.is_empty() {
            if field.required {
                return Err(DraftError::MissingField {
                    item: item.code.clone(),
                    key: field.key.clone(),
                    label: field.label_zh.clone(),
                });
            }
            continue;
        }
        let wrong = |expected| DraftError::WrongFormat {
            item: item.code.clone(),
            key: field.key.clone(),
            expected,
        };
        match field.kind {
            FieldKind::Choice if !field.choices.iter().any(|c| c == value) => {
                return Err(DraftError::NotAChoice {
                    item: item.code.clone(),
                    key: field.key.clone(),
                    choices: field.choices.join(", "),
                });
            }
            FieldKind::Number if value.parse::<f64>().is_err() => {
                return Err(wrong("a number"));
            }
            FieldKind::Date if NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err() => {
                return Err(wrong("a date like 2026-11-26"));
            }
            FieldKind::Phone
                if !value
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
                    || !value.chars().any(|c| c.is_ascii_digit()) =>
            {
                return Err(wrong("a phone number"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Minimisation: drop what the item does not need, and insist on what it does.
fn keep_needed(item: &CatalogItem, applicant: Applicant) -> Result<Applicant, DraftError> {
    let missing = |what, flags| DraftError::MissingIdentity {
        item: item.code.clone(),
        what,
        flags,
    };
    match item.identity {
        IdentityNeed::None => Ok(Applicant::default()),
        IdentityNeed::IdNumber => {
            if applicant.name.is_none() || applicant.id_number.is_none() {
                return Err(missing("name and ID number", "--name and --id-number"));
            }
            Ok(Applicant {
                address: None,
                ..applicant
            })
        }
        IdentityNeed::Full => {
            if applicant.name.is_none()
                || applicant.id_number.is_none()
                || applicant.address.is_none()
            {
                return Err(missing(
                    "name, ID number and address",
                    "--name, --id-number and --address",
                ));
            }
            Ok(applicant)
        }
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::feed::{FormField, Office, TimeLimit};

    use super::*;

    fn item(identity: IdentityNeed) -> CatalogItem {
        CatalogItem {
            code: "PEN-001".into(),
            version: 3,
            name_zh: "城乡居民养老保险待遇申领".into(),
            name_en: "Rural pension claim".into(),
            category: "社会保险".into(),
            legal_basis: "《社会保险法》".into(),
            conditions: vec![],
            materials: vec![],
            steps: vec![],
            time_limit: TimeLimit::WorkingDays { days: 5 },
            fees: vec![],
            office: Office {
                name: "乡镇社保所".into(),
                address: "镇政府一楼".into(),
                phone: "0775-1234567".into(),
            },
            complaint_phone: "12345".into(),
            identity,
            form: vec![
                FormField {
                    key: "household_size".into(),
                    label_zh: "家庭人口".into(),
                    kind: FieldKind::Number,
                    required: true,
                    choices: vec![],
                },
                FormField {
                    key: "bank".into(),
                    label_zh: "开户银行".into(),
                    kind: FieldKind::Choice,
                    required: false,
                    choices: vec!["农村信用社".into(), "邮储银行".into()],
                },
            ],
            review_levels: 3,
            withdrawn: false,
        }
    }

    fn draft() -> Draft {
        Draft {
            kind: SubmissionKind::Application,
            item_code: Some("PEN-001".into()),
            fields: BTreeMap::from([("household_size".into(), "4".into())]),
            text: None,
            rating: None,
            name: Some("李秀英".into()),
            id_number: Some("45090219620815002x".into()),
            address: Some("某村3组".into()),
            contact_phone: Some(" 13800000000 ".into()),
        }
    }

    #[test]
    fn only_the_identity_the_item_needs_is_kept() {
        let none = prepare(draft(), ItemLookup::Found(&item(IdentityNeed::None))).unwrap();
        assert_eq!(none.applicant, None);
        let id = prepare(draft(), ItemLookup::Found(&item(IdentityNeed::IdNumber))).unwrap();
        let applicant = id.applicant.unwrap();
        assert_eq!(applicant.address, None);
        assert_eq!(applicant.id_number.as_deref(), Some("45090219620815002X"));
        let full = prepare(draft(), ItemLookup::Found(&item(IdentityNeed::Full))).unwrap();
        assert!(full.applicant.unwrap().address.is_some());
        assert_eq!(full.catalog_version, Some(3));
        assert_eq!(full.contact_phone.as_deref(), Some("13800000000"));
    }

    #[test]
    fn rating_an_item_does_not_ask_for_its_application_form() {
        let rating = Draft {
            kind: SubmissionKind::Evaluation,
            fields: BTreeMap::new(),
            rating: Some(5),
            ..draft()
        };
        let prepared = prepare(rating, ItemLookup::Found(&item(IdentityNeed::Full))).unwrap();
        assert_eq!(prepared.item_code.as_deref(), Some("PEN-001"));
        assert_eq!(prepared.catalog_version, Some(3));
    }

    #[test]
    fn a_needed_identity_must_be_given() {
        let mut no_id = draft();
        no_id.id_number = None;
        let error = prepare(no_id, ItemLookup::Found(&item(IdentityNeed::IdNumber))).unwrap_err();
        assert!(error.to_string().contains("--id-number"), "{error}");
    }

    #[test]
    fn form_fields_are_checked_against_the_item() {
        let item = item(IdentityNeed::None);
        let mut missing = draft();
        missing.fields.clear();
        let error = prepare(missing, ItemLookup::Found(&item)).unwrap_err();
        assert!(
            error.to_string().contains("--field household_size="),
            "{error}"
        );
        let mut unknown = draft();
        unknown.fields.insert("housold".into(), "4".into());
        assert!(matches!(
            prepare(unknown, ItemLookup::Found(&item)),
            Err(DraftError::UnknownField { .. })
        ));
        let mut choice = draft();
        choice.fields.insert("bank".into(), "瑞士银行".into());
        assert!(matches!(
            prepare(choice, ItemLookup::Found(&item)),
            Err(DraftError::NotAChoice { .. })
        ));
        let mut number = draft();
        number.fields.insert("household_size".into(), "four".into());
        assert!(matches!(
            prepare(number, ItemLookup::Found(&item)),
            Err(DraftError::WrongFormat { .. })
        ));
    }

    #[test]
    fn an_unknown_item_is_refused_only_when_the_catalogue_is_loaded() {
        assert!(matches!(
            prepare(draft(), ItemLookup::Unknown),
            Err(DraftError::UnknownItem(code)) if code == "PEN-001"
        ));
        let unchecked = prepare(draft(), ItemLookup::CatalogNotLoaded).unwrap();
        assert_eq!(unchecked.catalog_version, None);
        assert!(unchecked.applicant.is_some());
    }

    #[test]
    fn debug_shows_no_personal_data() {
        let text = format!("{:?}", draft());
        assert!(
            !text.contains("李秀英") && !text.contains("13800000000"),
            "{text}"
        );
    }
}
