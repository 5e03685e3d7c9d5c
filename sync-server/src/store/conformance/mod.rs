//! The behaviour every [`Store`] backend must show, as async checks that panic on a
//! violation, in nine suites: [`store`] (the trait's own methods), [`content`]
//! ([`ContentStore`](crate::store::ContentStore)), [`ratings`]
//! ([`RatingsStore`](crate::store::RatingsStore)), [`releases`]
//! ([`ReleaseStore`](crate::store::ReleaseStore)), [`audit`] (the audit log's hash
//! chain), [`paging`] (the staff lists by key, the catalogue's version), [`attachments`]
//! ([`AttachmentStore`](crate::store::AttachmentStore)), [`supplements`] (补正: a
//! correction's materials, supplements joining their case) and [`phone_uploads`] (the
//! one-time phone upload's token hash, used once). A backend's test file runs all of them
//! against fresh stores:
//!
//! ```text
//! fn open() -> (Arc<dyn Store>, TempDir) { … }
//! sync_server::store_conformance_tests!(open());
//! sync_server::content_conformance_tests!(open());
//! sync_server::ratings_conformance_tests!(open());
//! sync_server::audit_conformance_tests!(open());
//! sync_server::release_conformance_tests!(open());
//! sync_server::paging_conformance_tests!(open());
//! sync_server::attachment_conformance_tests!(open());
//! sync_server::supplement_conformance_tests!(open());
//! sync_server::phone_upload_conformance_tests!(open());
//! ```
//!
//! Compiled for the crate's own tests and behind the `conformance` feature (which the
//! integration tests turn on through a dev-dependency on this crate), never into the server.
//! The helpers here are shared by the suites and by the HTTP tests that set up a store the
//! same way. Times are fixed, not the clock's, so every backend is held to the same instants.

pub mod attachments;
pub mod audit;
pub mod content;
pub mod paging;
pub mod phone_uploads;
pub mod ratings;
pub mod releases;
pub mod store;
pub mod supplements;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CatalogItem, IdentityNeed, Material, Office, TimeLimit};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Applicant, Submission, SubmissionKind};
use uuid::Uuid;

use crate::domain::fleet::KioskRecord;
use crate::store::staff::{AuditEntry, AuditFilter};
use crate::store::{EnrollClaim, NewEnrollCode, Store};

/// The instant every check starts from.
pub fn t0() -> DateTime<Utc> {
    "2026-03-01T08:00:00Z".parse().unwrap_or_default()
}

fn village(name: &str) -> Village {
    Village {
        county: "示范县".into(),
        township: "凤岭乡".into(),
        village: name.into(),
    }
}

/// Stores a code for `village_name` valid for a day from [`t0`]; returns its key.
pub async fn new_code(store: &dyn Store, village_name: &str) -> String {
    new_code_in(store, village(village_name)).await
}

/// Stores a code for `village` valid for a day from [`t0`]; returns its key.
async fn new_code_in(store: &dyn Store, village: Village) -> String {
    let code_key = format!("code-{}", Uuid::now_v7());
    store
        .create_enroll_code(NewEnrollCode {
            code_key: code_key.clone(),
            village,
            created_at: t0(),
            expires_at: t0() + Duration::days(1),
        })
        .await
        .expect("store a code");
    code_key
}

fn claim(code_key: &str, key_byte: u8, now: DateTime<Utc>) -> EnrollClaim {
    EnrollClaim {
        code_key: code_key.to_owned(),
        kiosk_id: Uuid::now_v7().to_string(),
        public_key: [key_byte; 32],
        app_version: "0.1.0".into(),
        now,
        replaces: None,
    }
}

/// Enrolls a kiosk in `village_name` with public key `[key_byte; 32]`.
pub async fn enroll(store: &dyn Store, village_name: &str, key_byte: u8) -> KioskRecord {
    enroll_in(store, village(village_name), key_byte).await
}

/// A valid application from kiosk `kiosk_number`, sequence `seq`.
pub fn submission(kiosk_number: u32, seq: u64) -> Submission {
    Submission {
        attachments: Vec::new(),
        supplement_to: None,
        phone_upload: None,
        id: Uuid::now_v7(),
        kiosk_seq: seq,
        receipt_number: ReceiptNumber::new(kiosk_number, seq).to_string(),
        kind: SubmissionKind::Application,
        item_code: Some("GX-MZ-001".into()),
        catalog_version: Some(1),
        fields: BTreeMap::from([("household_size".into(), "4".into())]),
        text: None,
        rating: None,
        applicant: Some(Applicant {
            name: Some("李秀英".into()),
            id_number: Some("450902196208150028".into()),
            address: None,
        }),
        contact_phone: Some("13800000000".into()),
        created_at: t0(),
        sealed: None,
    }
}

pub fn catalog_item(code: &str, name: &str) -> CatalogItem {
    CatalogItem {
        code: code.into(),
        version: 0,
        name_zh: name.into(),
        name_en: format!("{name} (en)"),
        category: "社会救助".into(),
        legal_basis: "《社会救助暂行办法》".into(),
        conditions: vec!["本县户籍".into()],
        materials: vec![Material {
            name: "居民身份证".into(),
            original: true,
            count: 1,
            note: None,
        }],
        steps: vec!["申请".into(), "受理".into()],
        time_limit: TimeLimit::WorkingDays { days: 10 },
        fees: Vec::new(),
        office: Office {
            name: "凤岭乡便民服务中心".into(),
            address: "凤岭乡政府大院".into(),
            phone: "0775-5550100".into(),
        },
        complaint_phone: "12345".into(),
        identity: IdentityNeed::IdNumber,
        form: Vec::new(),
        review_levels: 3,
        withdrawn: false,
    }
}

/// Enrolls a kiosk in `village` with public key `[key_byte; 32]`.
pub async fn enroll_in(store: &dyn Store, village: Village, key_byte: u8) -> KioskRecord {
    let code_key = new_code_in(store, village).await;
    store
        .enroll_kiosk(claim(&code_key, key_byte, t0()))
        .await
        .expect("store answers")
        .expect("enrollment accepted")
        .into_kiosk()
}

/// The audit lines whose action starts with `action`, newest first.
pub async fn audit_lines(store: &dyn Store, action: &str) -> Vec<AuditEntry> {
    store
        .list_audit(&AuditFilter {
            action: Some(action.into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .map(|record| record.entry)
        .collect()
}
