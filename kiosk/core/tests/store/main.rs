//! The booth's store on real SQLite files in temporary directories.
//!
//! - `lifecycle`: creating, migrating, reopening, enrollment, concurrent writers.
//! - `outbox`: submitting, sequence and receipt numbers, the sync client's queue operations,
//!   quarantine, minimisation.
//! - `feeds`: pages and cursors applied atomically, caches, status changes on receipts.
//! - `damage`: corrupt files moved aside, the unclean-shutdown check.

mod damage;
mod feeds;
mod lifecycle;
mod outbox;

use std::collections::BTreeMap;
use std::path::Path;

use kiosk_core::store::{Identity, NewSubmission, Store};
use sync_protocol::enroll::Village;
use sync_protocol::submission::{Applicant, SubmissionKind};

pub const NAME: &str = "李秀英";
pub const ID_NUMBER: &str = "450902196208150028";
pub const ADDRESS: &str = "青山村三组十二号";
pub const PHONE: &str = "13912345678";

pub fn identity(kiosk_number: u32) -> Identity {
    Identity {
        kiosk_id: format!("kiosk-{kiosk_number}"),
        kiosk_number,
        village: Village {
            county: "田东县".into(),
            township: "平马镇".into(),
            village: "青山村".into(),
        },
        server_url: "http://127.0.0.1:9".into(),
        server_id: "server-a".into(),
        enrolled_at: "2026-11-26T08:00:00Z".parse().expect("a time"),
        server_pin: None,
    }
}

/// A store in `dir`, enrolled as kiosk 7 (without a server: the store's own tests only).
pub fn enrolled(dir: &Path) -> Store {
    let mut store = Store::open(dir).expect("open the store");
    store.set_identity(&identity(7)).expect("set the identity");
    store
}

pub fn complaint(text: &str) -> NewSubmission {
    NewSubmission {
        text: Some(text.into()),
        ..NewSubmission::new(SubmissionKind::Complaint)
    }
}

/// An application carrying a full identity and a phone number.
pub fn application() -> NewSubmission {
    NewSubmission {
        item_code: Some("PEN-001".into()),
        catalog_version: Some(3),
        fields: BTreeMap::from([("household_size".to_owned(), "4".to_owned())]),
        applicant: Some(Applicant {
            name: Some(NAME.into()),
            id_number: Some(ID_NUMBER.into()),
            address: Some(ADDRESS.into()),
        }),
        contact_phone: Some(PHONE.into()),
        ..NewSubmission::new(SubmissionKind::Application)
    }
}

/// A second, raw connection to the store's file, as another process would have.
pub fn raw(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join(kiosk_core::store::DB_FILE)).expect("open raw");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn
}
