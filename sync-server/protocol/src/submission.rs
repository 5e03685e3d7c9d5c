//! What a booth uploads, and what the server answers for each item.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::receipt::ReceiptNumber;

/// The most submissions one batch may carry.
pub const MAX_BATCH: usize = 100;
/// The most form fields one submission may carry.
pub const MAX_FIELDS: usize = 64;
/// The longest free text (complaint, consultation), in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest catalogue item code and form field key, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// The longest applicant name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest applicant address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 500;
/// The longest contact phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 32;

/// The four things a villager can hand in at the booth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionKind {
    /// 事务办理: apply for a catalogue item.
    Application,
    /// 投诉.
    Complaint,
    /// 好差评: a 1–5 rating of a service.
    Evaluation,
    /// 咨询.
    Consultation,
}

impl SubmissionKind {
    pub const ALL: [Self; 4] = [
        Self::Application,
        Self::Complaint,
        Self::Evaluation,
        Self::Consultation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Complaint => "complaint",
            Self::Evaluation => "evaluation",
            Self::Consultation => "consultation",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Application => "事务办理",
            Self::Complaint => "投诉",
            Self::Evaluation => "评价",
            Self::Consultation => "咨询",
        }
    }
}

impl std::str::FromStr for SubmissionKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not a submission kind: use application, complaint, evaluation or consultation"))
    }
}

/// Who applies — only the parts the catalogue item needs. Never logged; `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The full 18-character number; shown only masked anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl fmt::Debug for Applicant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |present: bool| if present { "<redacted>" } else { "-" };
        f.debug_struct("Applicant")
            .field("name", &shown(self.name.is_some()))
            .field("id_number", &self.id_number.as_deref().map(mask_id_number))
            .field("address", &shown(self.address.is_some()))
            .finish()
    }
}

/// `450902********1234`: the first six and last four characters of an ID number.
pub fn mask_id_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 11 {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - 10;
    chars[..6]
        .iter()
        .chain(std::iter::repeat_n(&'*', hidden))
        .chain(&chars[chars.len() - 4..])
        .collect()
}

/// One submission, created on the booth. `id` is generated before it is first stored and
/// never changes: it is the idempotency key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// UUIDv7, generated on the booth.
    pub id: Uuid,
    /// Per-kiosk sequence number (1, 2, 3 …), also inside `receipt_number`.
    pub kiosk_seq: u64,
    /// The number printed on the villager's receipt.
    pub receipt_number: String,
    pub kind: SubmissionKind,
    /// The catalogue item applied for or complained about / rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    /// The catalogue version the booth showed when the form was filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<u32>,
    /// The item's form fields, by key.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Free text: the complaint, the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// 1 (very dissatisfied) … 5 (very satisfied), for evaluations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The personal part (applicant, phone, fields, text) sealed to the county's key on the
    /// booth ([`crate::personal`]); those fields are then empty. Absent from booths that
    /// predate sealing, and from every submission the server stores or digests (it opens
    /// this first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<crate::personal::SealedPersonal>,
    /// The files (photographed pages) it carries, uploaded after it
    /// ([`crate::attachment`]); part of its content digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::AttachmentRef>,
    /// For a supplement (补正材料): the id of the application it completes. A supplement is
    /// an application of the same item carrying the pages photographed again; it joins the
    /// original's case rather than opening one of its own. Any booth of the county may send
    /// it; the server refuses one whose original it does not hold
    /// ([`crate::ErrorCode::UnknownOriginal`]). Absent otherwise, so a submission without it
    /// digests as it did before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplement_to: Option<Uuid>,
    /// For an application handed in at a booth without a document camera: the
    /// [`crate::phone_upload::token_hash`] (64 lowercase hex digits) of the one-time token the
    /// receipt's QR code carries, with which the villager's phone uploads the materials once.
    /// Only an application that is not a supplement carries it; part of the content digest.
    /// Absent otherwise, so a submission without it digests as it did before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_upload: Option<String>,
}

impl fmt::Debug for Submission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field values and free text may hold personal data; Debug ends up in logs.
        f.debug_struct("Submission")
            .field("id", &self.id)
            .field("kiosk_seq", &self.kiosk_seq)
            .field("receipt_number", &self.receipt_number)
            .field("kind", &self.kind)
            .field("item_code", &self.item_code)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("applicant", &self.applicant)
            .field("sealed", &self.sealed.is_some())
            .field("created_at", &self.created_at)
            .field("supplement_to", &self.supplement_to)
            // The hash is an upload credential's lookup key: only whether there is one.
            .field("phone_upload", &self.phone_upload.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a submission is not acceptable as sent; retrying it unchanged cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("receipt number `{0}` is malformed or fails its check symbol")]
    ReceiptNumber(String),
    #[error("receipt number {receipt} does not carry sequence number {seq}")]
    SequenceMismatch { receipt: String, seq: u64 },
    #[error("an evaluation needs a rating from 1 to 5")]
    Rating,
    #[error("an application needs a catalogue item code")]
    MissingItem,
    #[error("{what} is too long")]
    TooLong { what: &'static str },
    #[error("an ID number must be 18 characters (digits, last may be X)")]
    IdNumber,
    #[error("the files listed: {0}")]
    Attachments(crate::attachment::ListProblem),
    #[error("only an application carries files")]
    AttachmentsOnlyForApplications,
    #[error("only an application can be a supplement to another")]
    SupplementOnlyForApplications,
    #[error("a supplement cannot complete itself")]
    SupplementToItself,
    #[error("only an application (not a supplement) can offer a phone upload")]
    PhoneUploadOnlyForApplications,
    #[error("phone_upload must be the token's SHA-256 as 64 lowercase hex digits")]
    PhoneUploadHash,
    #[error(
        "the contact phone is neither a mobile number nor a landline with its area code (like {})",
        crate::phone::EXAMPLES
    )]
    Phone,
}

impl Invalid {
    /// The code a program reads in the item's result, where the refusal has one of its own.
    pub fn code(&self) -> Option<crate::ErrorCode> {
        match self {
            Self::PhoneUploadOnlyForApplications | Self::PhoneUploadHash => {
                Some(crate::ErrorCode::InvalidPhoneUpload)
            }
            _ => None,
        }
    }
}

impl Submission {
    /// SHA-256 over the canonical JSON: the same submission sent twice hashes the same, so
    /// the server can tell a retry (duplicate) from a different body under the same id
    /// (conflict).
    pub fn content_digest(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&canonical))
    }

    /// Checks what the server would reject for good.
    pub fn validate(&self) -> Result<(), Invalid> {
        let receipt = self
            .receipt_number
            .parse::<ReceiptNumber>()
            .map_err(|_| Invalid::ReceiptNumber(self.receipt_number.clone()))?;
        if receipt.seq() != self.kiosk_seq {
            return Err(Invalid::SequenceMismatch {
                receipt: self.receipt_number.clone(),
                seq: self.kiosk_seq,
            });
        }
        match self.kind {
            SubmissionKind::Evaluation if !matches!(self.rating, Some(1..=5)) => {
                return Err(Invalid::Rating);
            }
            SubmissionKind::Application if self.item_code.is_none() => {
                return Err(Invalid::MissingItem);
            }
            _ => {}
        }
        if !self.attachments.is_empty() && self.kind != SubmissionKind::Application {
            return Err(Invalid::AttachmentsOnlyForApplications);
        }
        if let Some(original) = self.supplement_to {
            if self.kind != SubmissionKind::Application {
                return Err(Invalid::SupplementOnlyForApplications);
            }
            if original == self.id {
                return Err(Invalid::SupplementToItself);
            }
        }
        if let Some(hash) = &self.phone_upload {
            if self.kind != SubmissionKind::Application || self.supplement_to.is_some() {
                return Err(Invalid::PhoneUploadOnlyForApplications);
            }
            if !crate::phone_upload::is_token_hash(hash) {
                return Err(Invalid::PhoneUploadHash);
            }
        }
        crate::attachment::check_list(&self.attachments).map_err(Invalid::Attachments)?;
        if self.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(Invalid::Rating);
        }
        if self
            .text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(Invalid::TooLong { what: "the text" });
        }
        if self.fields.len() > MAX_FIELDS
            || self
                .fields
                .values()
                .any(|v| v.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(Invalid::TooLong { what: "the form" });
        }
        let over = |text: Option<&str>, max: usize| text.is_some_and(|t| t.chars().count() > max);
        if over(self.item_code.as_deref(), MAX_KEY_CHARS) {
            return Err(Invalid::TooLong {
                what: "the item code",
            });
        }
        if self.fields.keys().any(|k| over(Some(k), MAX_KEY_CHARS)) {
            return Err(Invalid::TooLong {
                what: "a form field's key",
            });
        }
        if over(self.contact_phone.as_deref(), MAX_PHONE_CHARS) {
            return Err(Invalid::TooLong {
                what: "the contact phone",
            });
        }
        if let Some(applicant) = &self.applicant {
            if over(applicant.name.as_deref(), MAX_NAME_CHARS) {
                return Err(Invalid::TooLong {
                    what: "the applicant's name",
                });
            }
            if over(applicant.address.as_deref(), MAX_ADDRESS_CHARS) {
                return Err(Invalid::TooLong {
                    what: "the applicant's address",
                });
            }
        }
        if self
            .contact_phone
            .as_deref()
            .is_some_and(|phone| !crate::phone::is_valid(phone))
        {
            return Err(Invalid::Phone);
        }
        if let Some(number) = self.applicant.as_ref().and_then(|a| a.id_number.as_deref()) {
            let ok = number.len() == 18
                && number.chars().take(17).all(|c| c.is_ascii_digit())
                && number
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_digit() || c == 'X');
            if !ok {
                return Err(Invalid::IdNumber);
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /api/v1/submissions`, oldest first, at most [`MAX_BATCH`] items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub submissions: Vec<Submission>,
}

/// One result per submission, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<ItemResult>,
}

/// The server's answer for one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub id: Uuid,
    pub outcome: Outcome,
    /// Why, for `conflict` and `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the server first stored it (for `accepted` and `duplicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    /// For programs, where a refusal has a code of its own (an `invalid` supplement whose
    /// original the server does not hold: [`crate::ErrorCode::UnknownOriginal`]); `message`
    /// says it for people either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<crate::ErrorCode>,
}

/// What happened to one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored now.
    Accepted,
    /// Stored before with the same content: the original result stands.
    Duplicate,
    /// The id is taken by a different body (HTTP 409 semantics, per item).
    Conflict,
    /// Rejected for good ([`Invalid`]).
    Invalid,
}

impl Outcome {
    /// Whether the booth may consider the item delivered.
    pub fn is_acknowledged(self) -> bool {
        matches!(self, Self::Accepted | Self::Duplicate)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::receipt::ReceiptNumber;

    pub(crate) fn sample() -> Submission {
        Submission {
            attachments: Vec::new(),
            id: Uuid::now_v7(),
            kiosk_seq: 42,
            receipt_number: ReceiptNumber::new(7, 42).to_string(),
            kind: SubmissionKind::Application,
            item_code: Some("PEN-001".into()),
            catalog_version: Some(3),
            fields: BTreeMap::from([("household_size".into(), "4".into())]),
            text: None,
            rating: None,
            applicant: Some(Applicant {
                name: Some("李秀英".into()),
                id_number: Some("450902196208150028".into()),
                address: None,
            }),
            contact_phone: Some("13800000000".into()),
            created_at: "2026-11-26T08:00:00Z".parse().unwrap(),
            sealed: None,
            supplement_to: None,
            phone_upload: None,
        }
    }

    /// A submission as booths sent it before supplements existed, in its canonical form.
    const BEFORE_SUPPLEMENTS: &str = r#"{"id":"0192f0c1-0000-7000-8000-00000000002a","kiosk_seq":42,"receipt_number":"007-00042-X","kind":"application","item_code":"PEN-001","catalog_version":3,"fields":{"household_size":"4"},"created_at":"2026-11-26T08:00:00Z","attachments":[{"sha256":"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d","bytes":400000,"material":0,"material_name":"居民户口簿","page":1,"sealed":true}]}"#;

    #[test]
    fn a_submission_without_a_supplement_digests_as_it_did_before() {
        let mut old: Submission = serde_json::from_str(BEFORE_SUPPLEMENTS).unwrap();
        assert_eq!(old.supplement_to, None);
        assert_eq!(serde_json::to_string(&old).unwrap(), BEFORE_SUPPLEMENTS);
        assert_eq!(
            old.content_digest(),
            hex(&Sha256::digest(BEFORE_SUPPLEMENTS.as_bytes()))
        );
        let before = old.content_digest();
        old.supplement_to = Some(Uuid::now_v7());
        assert_ne!(old.content_digest(), before, "the link is signed content");
    }

    #[test]
    fn a_submission_without_a_phone_upload_digests_as_it_did_before() {
        let mut old: Submission = serde_json::from_str(BEFORE_SUPPLEMENTS).unwrap();
        assert_eq!(old.phone_upload, None);
        assert_eq!(serde_json::to_string(&old).unwrap(), BEFORE_SUPPLEMENTS);
        let before = old.content_digest();
        let hash = crate::phone_upload::token_hash("AAAAAAAAAAAAAAAAAAAAAA");
        old.phone_upload = Some(hash.clone());
        assert_ne!(old.content_digest(), before, "the hash is signed content");
        let json = serde_json::to_string(&old).unwrap();
        assert!(
            json.contains(&format!(r#""phone_upload":"{hash}""#)),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Submission>(&json).unwrap(), old);
        assert!(!format!("{old:?}").contains(&hash), "Debug hides the hash");
    }

    #[test]
    fn only_an_application_offers_a_phone_upload_and_only_by_a_hash() {
        let hash = crate::phone_upload::token_hash("AAAAAAAAAAAAAAAAAAAAAA");
        let mut offered = sample();
        offered.phone_upload = Some(hash.clone());
        assert_eq!(offered.validate(), Ok(()));
        let mut upper = sample();
        upper.phone_upload = Some(hash.to_uppercase());
        assert_eq!(upper.validate(), Err(Invalid::PhoneUploadHash));
        let mut token = sample();
        token.phone_upload = Some("AAAAAAAAAAAAAAAAAAAAAA".into());
        assert_eq!(token.validate(), Err(Invalid::PhoneUploadHash));
        assert_eq!(
            Invalid::PhoneUploadHash.code(),
            Some(crate::ErrorCode::InvalidPhoneUpload)
        );
        let mut complaint = sample();
        complaint.kind = SubmissionKind::Complaint;
        complaint.phone_upload = Some(hash.clone());
        assert_eq!(
            complaint.validate(),
            Err(Invalid::PhoneUploadOnlyForApplications)
        );
        let mut supplement = sample();
        supplement.supplement_to = Some(Uuid::now_v7());
        supplement.phone_upload = Some(hash);
        assert_eq!(
            supplement.validate(),
            Err(Invalid::PhoneUploadOnlyForApplications)
        );
        assert_eq!(Invalid::Rating.code(), None);
    }

    #[test]
    fn a_supplement_round_trips_and_is_an_application_of_another() {
        let original = sample();
        let mut supplement = sample();
        supplement.id = Uuid::now_v7();
        supplement.applicant = None;
        supplement.fields.clear();
        supplement.contact_phone = None;
        supplement.supplement_to = Some(original.id);
        assert_eq!(supplement.validate(), Ok(()));
        let json = serde_json::to_string(&supplement).unwrap();
        assert!(
            json.contains(&format!(r#""supplement_to":"{}""#, original.id)),
            "{json}"
        );
        let read: Submission = serde_json::from_str(&json).unwrap();
        assert_eq!(read, supplement);
        assert_eq!(read.content_digest(), supplement.content_digest());

        let mut itself = supplement.clone();
        itself.supplement_to = Some(itself.id);
        assert_eq!(itself.validate(), Err(Invalid::SupplementToItself));
        let mut complaint = supplement;
        complaint.kind = SubmissionKind::Complaint;
        assert_eq!(
            complaint.validate(),
            Err(Invalid::SupplementOnlyForApplications)
        );
    }

    #[test]
    fn a_result_carries_its_code_only_when_it_has_one() {
        let plain = ItemResult {
            id: Uuid::now_v7(),
            outcome: Outcome::Accepted,
            message: None,
            received_at: None,
            code: None,
        };
        assert!(!serde_json::to_string(&plain).unwrap().contains("code"));
        let refused = ItemResult {
            outcome: Outcome::Invalid,
            message: Some("no such original".into()),
            code: Some(crate::ErrorCode::UnknownOriginal),
            ..plain
        };
        let json = serde_json::to_string(&refused).unwrap();
        assert!(json.contains(r#""code":"unknown_original""#), "{json}");
        assert_eq!(serde_json::from_str::<ItemResult>(&json).unwrap(), refused);
    }

    #[test]
    fn the_digest_changes_with_content_and_not_with_reserialisation() {
        let s = sample();
        let again: Submission = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s.content_digest(), again.content_digest());
        let mut changed = s.clone();
        changed.fields.insert("household_size".into(), "5".into());
        assert_ne!(s.content_digest(), changed.content_digest());
    }

    #[test]
    fn validation_rejects_what_a_retry_cannot_fix() {
        assert_eq!(sample().validate(), Ok(()));
        let mut wrong_seq = sample();
        wrong_seq.kiosk_seq = 43;
        assert!(matches!(
            wrong_seq.validate(),
            Err(Invalid::SequenceMismatch { .. })
        ));
        let mut rating = sample();
        rating.kind = SubmissionKind::Evaluation;
        rating.rating = Some(6);
        assert_eq!(rating.validate(), Err(Invalid::Rating));
        let mut typo = sample();
        typo.receipt_number.pop();
        assert!(matches!(typo.validate(), Err(Invalid::ReceiptNumber(_))));
        let mut phone = sample();
        phone.contact_phone = Some("\t=1+1".into());
        assert_eq!(phone.validate(), Err(Invalid::Phone));
        phone.contact_phone = Some("0775-1234567".into());
        assert_eq!(phone.validate(), Ok(()));
    }

    #[test]
    fn every_text_a_booth_sends_has_a_cap() {
        let long = |n: usize| "长".repeat(n + 1);
        type Set = fn(&mut Submission, String);
        let cases: [(Set, usize); 4] = [
            (|s, v| s.item_code = Some(v), MAX_KEY_CHARS),
            (
                |s, v| {
                    s.fields.insert(v, "4".into());
                },
                MAX_KEY_CHARS,
            ),
            (
                |s, v| s.applicant.as_mut().unwrap().name = Some(v),
                MAX_NAME_CHARS,
            ),
            (
                |s, v| s.applicant.as_mut().unwrap().address = Some(v),
                MAX_ADDRESS_CHARS,
            ),
        ];
        for (set, max) in cases {
            let mut at_cap = sample();
            set(&mut at_cap, "长".repeat(max));
            assert_eq!(at_cap.validate(), Ok(()));
            let mut over = sample();
            set(&mut over, long(max));
            assert!(
                matches!(over.validate(), Err(Invalid::TooLong { .. })),
                "{max}"
            );
        }
        // A phone's format is checked too (`crate::phone`); a long one is refused for its length.
        let mut phone = sample();
        phone.contact_phone = Some("1".repeat(MAX_PHONE_CHARS + 1));
        assert!(matches!(
            phone.validate(),
            Err(Invalid::TooLong {
                what: "the contact phone"
            })
        ));
    }

    #[test]
    fn debug_never_shows_personal_data() {
        let text = format!("{:?}", sample());
        assert!(
            !text.contains("李秀英") && !text.contains("196208150028"),
            "{text}"
        );
        assert!(text.contains("450902********0028"), "{text}");
    }
}
