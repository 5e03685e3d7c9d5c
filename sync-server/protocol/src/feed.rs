//! What a booth pulls: each feed is read page by page after a cursor the booth keeps.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The feeds a booth follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// The service catalogue (专栏7 items), for every booth.
    Catalog,
    /// Notices targeted at this booth's village (or at all).
    Notices,
    /// Status changes of this booth's own submissions.
    Statuses,
}

impl Feed {
    pub const ALL: [Self; 3] = [Self::Catalog, Self::Notices, Self::Statuses];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Notices => "notices",
            Self::Statuses => "statuses",
        }
    }
}

impl std::str::FromStr for Feed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| format!("no feed named `{text}`"))
    }
}

/// Query of `GET /api/v1/feeds/{feed}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeedQuery {
    /// The `cursor` of the last page applied; absent to start from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many items (the server caps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The largest page the server sends.
pub const MAX_PAGE: u32 = 500;

/// One page of a feed. Apply `items` and store `cursor` in one transaction; ask again while
/// `more` is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage<T> {
    pub items: Vec<T>,
    /// Opaque; the `after` of the next request. Unchanged when `items` is empty.
    pub cursor: String,
    pub more: bool,
}

/// 办理时限: on the spot, or a number of working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimeLimit {
    /// 即办件.
    OnTheSpot,
    /// 承诺件: N working days.
    WorkingDays { days: u16 },
}

/// One required material (申请材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub name: String,
    /// 原件 (original to be shown) or 复印件 (copy to be handed in).
    pub original: bool,
    /// How many.
    pub count: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One fee (收费), or none for a free item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub name: String,
    /// In fen (分), to avoid floating point money.
    pub amount_fen: u64,
    /// 收费依据.
    pub basis: String,
}

/// The office that handles an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    pub name: String,
    pub address: String,
    pub phone: String,
}

/// What the form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Phone,
    Choice,
}

/// One form field of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub key: String,
    pub label_zh: String,
    pub kind: FieldKind,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// Which parts of the applicant's identity an item needs (minimisation: nothing more is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityNeed {
    None,
    /// Name and ID number.
    IdNumber,
    /// Name, ID number and address.
    Full,
}

/// A service catalogue item with every 专栏7 field a villager needs told once and completely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub code: String,
    /// Bumped on every change of the item.
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    /// e.g. 社会保险, 社会救助.
    pub category: String,
    /// 设定依据.
    pub legal_basis: String,
    /// 申请条件.
    pub conditions: Vec<String>,
    pub materials: Vec<Material>,
    /// 办理流程.
    pub steps: Vec<String>,
    pub time_limit: TimeLimit,
    /// Empty for a free item.
    pub fees: Vec<Fee>,
    pub office: Office,
    /// 投诉电话.
    pub complaint_phone: String,
    pub identity: IdentityNeed,
    pub form: Vec<FormField>,
    /// How many levels review an application: 1 (承办人 decides), 2 (承办人 → 审批人) or 3
    /// (承办人 → 审查人 → 审批人).
    #[serde(default = "CatalogItem::default_review_levels")]
    pub review_levels: u8,
    /// A withdrawn item stays in the feed so booths drop it.
    #[serde(default)]
    pub withdrawn: bool,
}

impl CatalogItem {
    /// Three levels unless the catalogue says otherwise: the full chain is the safe side.
    pub const fn default_review_levels() -> u8 {
        3
    }
}

/// A government notice (政府信息公开).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub published_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// Village names it targets; empty for every village.
    #[serde(default)]
    pub villages: Vec<String>,
    #[serde(default)]
    pub withdrawn: bool,
}

/// Where a submission stands in the county's review (承办 → 审查 → 审批).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// 已接收: the server has it.
    Received,
    /// 已受理: a handler took it on.
    Accepted,
    /// 审核中: with the reviewer or approver.
    InReview,
    /// 需补正: the villager must bring or fix something.
    NeedsCorrection,
    /// 已办结 (批准).
    Approved,
    /// 不予批准 / 不予受理.
    Rejected,
}

impl SubmissionStatus {
    pub const ALL: [Self; 6] = [
        Self::Received,
        Self::Accepted,
        Self::InReview,
        Self::NeedsCorrection,
        Self::Approved,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::InReview => "in_review",
            Self::NeedsCorrection => "needs_correction",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Received => "已接收",
            Self::Accepted => "已受理",
            Self::InReview => "审核中",
            Self::NeedsCorrection => "需补正材料",
            Self::Approved => "已办结",
            Self::Rejected => "不予批准",
        }
    }
}

impl std::str::FromStr for SubmissionStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim()).ok_or_else(|| {
            format!("`{text}` is not a status: use received, accepted, in_review, needs_correction, approved or rejected")
        })
    }
}

/// The most materials one correction request (一次性告知补正) names.
pub const MAX_CORRECTION_MATERIALS: usize = 40;

/// One material a correction request asks the villager to photograph or bring again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CorrectionMaterial {
    /// Its index in the item's `materials` list at the submission's `catalog_version` (from
    /// 0), as [`crate::attachment::AttachmentRef::material`] counts: a page photographed for
    /// it goes under the same index.
    pub index: u16,
    /// Its name as the catalogue gives it, so the booth can say it whatever its cache holds.
    pub name: String,
}

/// One status change of a booth's own submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub submission_id: Uuid,
    pub receipt_number: String,
    pub status: SubmissionStatus,
    /// Shown to the villager (e.g. what to bring for a correction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// For `needs_correction`: the materials staff named, in the guide's order (at most
    /// [`MAX_CORRECTION_MATERIALS`]); empty otherwise. Absent from older servers' changes and
    /// ignored by older booths, which show the note alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<CorrectionMaterial>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(materials: Vec<CorrectionMaterial>) -> StatusChange {
        StatusChange {
            submission_id: "0192f0c1-0000-7000-8000-000000000001".parse().unwrap(),
            receipt_number: "007-00042-X".into(),
            status: SubmissionStatus::NeedsCorrection,
            note: Some("请补正材料".into()),
            changed_at: "2026-11-30T03:00:00Z".parse().unwrap(),
            materials,
        }
    }

    #[test]
    fn a_change_without_materials_reads_and_writes_as_before() {
        // What servers sent before materials existed, byte for byte.
        let old = r#"{"submission_id":"0192f0c1-0000-7000-8000-000000000001","receipt_number":"007-00042-X","status":"needs_correction","note":"请补正材料","changed_at":"2026-11-30T03:00:00Z"}"#;
        let read: StatusChange = serde_json::from_str(old).unwrap();
        assert_eq!(read, change(Vec::new()));
        assert_eq!(serde_json::to_string(&read).unwrap(), old);
    }

    #[test]
    fn the_materials_named_round_trip() {
        let sent = change(vec![
            CorrectionMaterial {
                index: 0,
                name: "居民户口簿".into(),
            },
            CorrectionMaterial {
                index: 3,
                name: "银行卡".into(),
            },
        ]);
        let json = serde_json::to_string(&sent).unwrap();
        assert!(
            json.contains(
                r#""materials":[{"index":0,"name":"居民户口簿"},{"index":3,"name":"银行卡"}]"#
            ),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<StatusChange>(&json).unwrap(), sent);
    }
}
