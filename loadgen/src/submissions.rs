//! Submissions the server accepts, made the way `kiosk-core` makes them: a UUIDv7 id, the
//! booth's next `kiosk_seq` inside a receipt number of the booth's own kiosk number (the
//! server refuses another kiosk's), an application for a catalogue item with the identity and
//! form fields that item asks for, and the personal part sealed to the county's key (HPKE),
//! as a booth does once it knows the key.
//!
//! The mix: 55 % applications, 20 % evaluations, 15 % complaints, 10 % consultations; without
//! a catalogue only complaints and consultations.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::feed::{CatalogItem, FieldKind, FormField, IdentityNeed, MAX_PAGE};
use sync_protocol::personal::CountyKey;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Applicant, Submission, SubmissionKind};
use sync_server::store::{Store, StoreError};
use uuid::Uuid;

/// What an application needs of one catalogue item.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    code: String,
    version: u32,
    identity: IdentityNeed,
    form: Vec<FormField>,
}

/// The published catalogue items booths offer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    items: Vec<Item>,
}

impl Catalogue {
    pub fn from_items(items: impl IntoIterator<Item = CatalogItem>) -> Self {
        Self {
            items: items
                .into_iter()
                .filter(|item| !item.withdrawn)
                .map(|item| Item {
                    code: item.code,
                    version: item.version,
                    identity: item.identity,
                    form: item.form,
                })
                .collect(),
        }
    }

    /// The whole catalogue feed, as a booth that caught up holds it.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.catalog_page(after.as_deref(), MAX_PAGE).await?;
            let stuck = page.items.is_empty() || after.as_deref() == Some(page.cursor.as_str());
            items.extend(page.items);
            if !page.more || stuck {
                break;
            }
            after = Some(page.cursor);
        }
        Ok(Self::from_items(items))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("kiosk #{kiosk} has no receipt number for sequence {seq}")]
pub struct OutOfReceipts {
    pub kiosk: u32,
    pub seq: u64,
}

/// Makes submissions for any booth.
#[derive(Debug, Clone)]
pub struct Factory {
    catalogue: Arc<Catalogue>,
    seal_to: Option<CountyKey>,
}

impl Factory {
    /// Personal parts are sealed to `seal_to` when given, else sent in the clear (as a booth
    /// that predates sealing does).
    pub fn new(catalogue: Arc<Catalogue>, seal_to: Option<CountyKey>) -> Self {
        Self { catalogue, seal_to }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Submission `seq` of kiosk `kiosk_number`, handed in at `created_at`.
    pub fn make(
        &self,
        rng: &mut fastrand::Rng,
        kiosk_number: u32,
        seq: u64,
        created_at: DateTime<Utc>,
    ) -> Result<Submission, OutOfReceipts> {
        let receipt = ReceiptNumber::try_new(kiosk_number, seq).ok_or(OutOfReceipts {
            kiosk: kiosk_number,
            seq,
        })?;
        let mut submission = Submission {
            attachments: Vec::new(),
            supplement_to: None,
            phone_upload: None,
            id: Uuid::now_v7(),
            kiosk_seq: seq,
            receipt_number: receipt.to_string(),
            kind: SubmissionKind::Complaint,
            item_code: None,
            catalog_version: None,
            fields: BTreeMap::new(),
            text: None,
            rating: None,
            applicant: None,
            contact_phone: None,
            created_at,
            sealed: None,
        };
        let roll = rng.u32(0..100);
        let item = (!self.catalogue.is_empty())
            .then(|| &self.catalogue.items[rng.usize(0..self.catalogue.items.len())]);
        match (roll, item) {
            (0..55, Some(item)) => application(rng, &mut submission, item),
            (55..75, Some(item)) => {
                submission.kind = SubmissionKind::Evaluation;
                submission.item_code = Some(item.code.clone());
                submission.catalog_version = Some(item.version);
                submission.rating = Some(*pick(rng, &[5, 5, 5, 4, 4, 3, 2, 1]));
                if matches!(submission.rating, Some(1 | 2)) {
                    submission.text = Some(pick(rng, EVALUATION_REASONS).to_string());
                }
            }
            (0..90, _) => {
                submission.kind = SubmissionKind::Complaint;
                submission.text = Some(pick(rng, COMPLAINTS).to_string());
                submission.contact_phone = rng.bool().then(|| phone(rng));
            }
            _ => {
                submission.kind = SubmissionKind::Consultation;
                submission.text = Some(pick(rng, QUESTIONS).to_string());
                submission.contact_phone = Some(phone(rng));
            }
        }
        if let Some(key) = &self.seal_to {
            submission.seal_personal(key);
        }
        Ok(submission)
    }
}

fn application(rng: &mut fastrand::Rng, submission: &mut Submission, item: &Item) {
    submission.kind = SubmissionKind::Application;
    submission.item_code = Some(item.code.clone());
    submission.catalog_version = Some(item.version);
    let name = format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN_NAMES));
    submission.applicant = match item.identity {
        IdentityNeed::None => None,
        IdentityNeed::IdNumber => Some(Applicant {
            name: Some(name),
            id_number: Some(id_number(rng)),
            address: None,
        }),
        IdentityNeed::Full => Some(Applicant {
            name: Some(name),
            id_number: Some(id_number(rng)),
            address: Some(format!("压测村{}组{}号", rng.u32(1..12), rng.u32(1..80))),
        }),
    };
    submission.contact_phone = Some(phone(rng));
    for field in &item.form {
        if field.required || rng.bool() {
            let value = match field.kind {
                FieldKind::Text => "压测填写".to_owned(),
                FieldKind::Number => rng.u32(1..9).to_string(),
                FieldKind::Date => NaiveDate::from_ymd_opt(2026, rng.u32(1..=12), rng.u32(1..=28))
                    .map_or_else(|| "2026-01-01".to_owned(), |date| date.to_string()),
                FieldKind::Phone => phone(rng),
                FieldKind::Choice => field
                    .choices
                    .get(rng.usize(0..field.choices.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| "是".to_owned()),
            };
            submission.fields.insert(field.key.clone(), value);
        }
    }
}

fn pick<'a, T>(rng: &mut fastrand::Rng, from: &'a [T]) -> &'a T {
    &from[rng.usize(0..from.len())]
}

/// A mobile number (`1[3-9]` and nine digits).
fn phone(rng: &mut fastrand::Rng) -> String {
    format!("1{}{:09}", rng.u32(3..=9), rng.u32(0..1_000_000_000))
}

/// An 18-character resident ID number with a correct GB 11643 check symbol.
fn id_number(rng: &mut fastrand::Rng) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let body = format!(
        "450902{:04}{:02}{:02}{:03}",
        rng.u32(1940..2005),
        rng.u32(1..=12),
        rng.u32(1..=28),
        rng.u32(0..1000)
    );
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    format!("{body}{}", char::from(CHECK[(sum % 11) as usize]))
}

const SURNAMES: &[&str] = &["李", "王", "张", "刘", "陈", "黄", "韦", "覃", "蒙", "莫"];
const GIVEN_NAMES: &[&str] = &["秀英", "建国", "桂兰", "志强", "春燕", "海波", "丽华", "文"];
const COMPLAINTS: &[&str] = &[
    "村道路灯坏了一个多月没人修",
    "办理低保时工作人员态度不好",
    "自来水停了三天没有通知",
    "便民服务亭打印机经常没纸",
];
const QUESTIONS: &[&str] = &[
    "新农合今年的缴费标准是多少？",
    "高龄津贴需要本人到场吗？",
    "孩子的出生证明在哪里补办？",
];
const EVALUATION_REASONS: &[&str] = &["等待时间太长", "材料要求没有一次说清楚"];

#[cfg(test)]
mod tests {
    use sync_protocol::personal::CountySecret;

    use super::*;

    fn seed_catalogue() -> Catalogue {
        #[derive(serde::Deserialize)]
        struct File {
            items: Vec<CatalogItem>,
        }
        // The seed file has no versions yet (the store numbers them); 1 is what an import gives.
        let text = include_str!("../../sync-server/seed/catalog.json");
        let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
        for item in value["items"].as_array_mut().unwrap() {
            item["version"] = 1.into();
        }
        let file: File = serde_json::from_value(value).unwrap();
        Catalogue::from_items(file.items)
    }

    #[test]
    fn every_kind_made_passes_the_servers_checks_and_opens_with_the_county_key() {
        let secret = CountySecret::from_seed(&[9; 32]);
        let factory = Factory::new(
            Arc::new(seed_catalogue()),
            Some(secret.public_key().clone()),
        );
        let mut rng = fastrand::Rng::with_seed(3);
        let mut kinds = std::collections::HashSet::new();
        for seq in 1..=400 {
            let mut made = factory.make(&mut rng, 321, seq, Utc::now()).unwrap();
            assert!(!made.has_clear_personal(), "sealed");
            made.open_personal(&secret).unwrap();
            made.validate().unwrap_or_else(|e| panic!("{made:?}: {e}"));
            let receipt: ReceiptNumber = made.receipt_number.parse().unwrap();
            assert_eq!((receipt.kiosk(), receipt.seq()), (321, seq));
            assert_eq!(made.receipt_number, receipt.to_string(), "canonical form");
            if let Some(id) = made.applicant.as_ref().and_then(|a| a.id_number.as_ref()) {
                assert_eq!(id.len(), 18);
            }
            kinds.insert(made.kind);
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
    }

    #[test]
    fn without_a_catalogue_only_free_text_kinds_are_made() {
        let factory = Factory::new(Arc::new(Catalogue::default()), None);
        let mut rng = fastrand::Rng::with_seed(5);
        for seq in 1..=100 {
            let made = factory.make(&mut rng, 1, seq, Utc::now()).unwrap();
            assert!(matches!(
                made.kind,
                SubmissionKind::Complaint | SubmissionKind::Consultation
            ));
            made.validate().unwrap();
        }
        assert!(factory.make(&mut rng, 1, u64::MAX, Utc::now()).is_err());
    }

    #[test]
    fn id_numbers_carry_their_check_symbol() {
        let mut rng = fastrand::Rng::with_seed(1);
        // The standard's published example: 11010519491231002X.
        let sum: u32 = "11010519491231002"
            .bytes()
            .zip([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        assert_eq!(b"10X98765432"[(sum % 11) as usize], b'X');
        for _ in 0..100 {
            assert!(sync_protocol::phone::is_valid(&phone(&mut rng)));
            assert_eq!(id_number(&mut rng).len(), 18);
        }
    }
}
