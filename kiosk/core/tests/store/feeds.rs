//! Feed pages applied with their cursor in one transaction; the caches; status changes.

use chrono::{NaiveDate, TimeDelta, Utc};
use kiosk_core::store::StoreError;
use sync_protocol::feed::{
    CatalogItem, Feed, FeedPage, IdentityNeed, Notice, Office, StatusChange, SubmissionStatus,
    TimeLimit,
};
use uuid::Uuid;

use crate::{complaint, enrolled, raw};

fn item(code: &str, version: u32) -> CatalogItem {
    CatalogItem {
        code: code.into(),
        version,
        name_zh: format!("事项{code}第{version}版"),
        name_en: format!("Item {code} v{version}"),
        category: "社会保险".into(),
        legal_basis: "《社会保险法》".into(),
        conditions: vec!["年满60周岁".into()],
        materials: vec![],
        steps: vec!["受理".into(), "审核".into()],
        time_limit: TimeLimit::OnTheSpot,
        fees: vec![],
        office: Office {
            name: "乡镇社保所".into(),
            address: "镇政府一楼".into(),
            phone: "0776-5550000".into(),
        },
        complaint_phone: "12345".into(),
        identity: IdentityNeed::IdNumber,
        form: vec![],
        review_levels: 3,
        withdrawn: false,
    }
}

fn page<T>(items: Vec<T>, cursor: &str) -> FeedPage<T> {
    FeedPage {
        items,
        cursor: cursor.into(),
        more: false,
    }
}

#[test]
fn catalogue_pages_update_the_cache_and_the_cursor_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    assert_eq!(store.feed_cursor(Feed::Catalog).unwrap(), None);
    store
        .apply_catalog_page(&page(vec![item("A", 1), item("B", 1)], "c1"))
        .unwrap();
    assert_eq!(
        store.feed_cursor(Feed::Catalog).unwrap().as_deref(),
        Some("c1")
    );
    assert_eq!(store.catalog_item("A").unwrap(), Some(item("A", 1)));

    let withdrawn = CatalogItem {
        withdrawn: true,
        ..item("B", 2)
    };
    store
        .apply_catalog_page(&page(vec![item("A", 2), withdrawn], "c2"))
        .unwrap();
    assert_eq!(store.catalog_item("A").unwrap(), Some(item("A", 2)));
    assert_eq!(
        store.catalog_item("B").unwrap(),
        None,
        "withdrawn items leave"
    );
    // A replayed older version does not win over the newer one.
    store
        .apply_catalog_page(&page(vec![item("A", 1)], "c3"))
        .unwrap();
    assert_eq!(store.catalog_item("A").unwrap().unwrap().version, 2);
    assert_eq!(store.catalog_items().unwrap().len(), 1);
    assert_eq!(
        store.feed_cursor(Feed::Catalog).unwrap().as_deref(),
        Some("c3")
    );
}

#[test]
fn a_page_that_fails_half_way_leaves_items_and_cursor_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store
        .apply_catalog_page(&page(vec![item("A", 1)], "c1"))
        .unwrap();
    // Another connection makes the second item of the next page fail to insert.
    raw(dir.path())
        .execute_batch(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON catalog WHEN NEW.code = 'BOOM'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    let failing = page(vec![item("GOOD", 1), item("BOOM", 1)], "c2");
    let error = store.apply_catalog_page(&failing).unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error}");
    assert_eq!(
        store.feed_cursor(Feed::Catalog).unwrap().as_deref(),
        Some("c1")
    );
    assert_eq!(
        store.catalog_item("GOOD").unwrap(),
        None,
        "nothing half applied"
    );

    raw(dir.path())
        .execute_batch("DROP TRIGGER refuse_boom")
        .unwrap();
    store.apply_catalog_page(&failing).unwrap();
    assert_eq!(
        store.feed_cursor(Feed::Catalog).unwrap().as_deref(),
        Some("c2")
    );
    assert!(store.catalog_item("GOOD").unwrap().is_some());
}

fn notice(title: &str, published: &str, expires: Option<&str>, villages: &[&str]) -> Notice {
    Notice {
        id: Uuid::now_v7(),
        title: title.into(),
        body: "正文".into(),
        published_on: published.parse().unwrap(),
        expires_on: expires.map(|e| e.parse().unwrap()),
        villages: villages.iter().map(|v| (*v).to_owned()).collect(),
        withdrawn: false,
    }
}

#[test]
fn notices_in_force_for_the_village_are_shown_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let everyone = notice("全县", "2026-11-01", None, &[]);
    let ours = notice("本村", "2026-11-20", Some("2026-12-31"), &["青山村"]);
    let theirs = notice("邻村", "2026-11-20", None, &["绿水村"]);
    let expired = notice("过期", "2026-10-01", Some("2026-11-25"), &[]);
    let future = notice("未发布", "2026-12-01", None, &[]);
    let withdrawn_later = notice("撤回", "2026-11-02", None, &[]);
    store
        .apply_notice_page(&page(
            vec![
                everyone,
                ours,
                theirs,
                expired,
                future,
                withdrawn_later.clone(),
            ],
            "n1",
        ))
        .unwrap();
    store
        .apply_notice_page(&page(
            vec![Notice {
                withdrawn: true,
                ..withdrawn_later
            }],
            "n2",
        ))
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let shown = store.notices("青山村", today).unwrap();
    let titles: Vec<&str> = shown.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["本村", "全县"]);
    assert_eq!(
        store.feed_cursor(Feed::Notices).unwrap().as_deref(),
        Some("n2")
    );
}

#[test]
fn status_changes_reach_the_receipt_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(complaint("路灯坏了")).unwrap();
    let t0 = Utc::now();
    let change = |status, note: Option<&str>, at| StatusChange {
        submission_id: receipt.id,
        receipt_number: receipt.number.to_string(),
        status,
        note: note.map(str::to_owned),
        changed_at: at,
        materials: Vec::new(),
    };
    let stranger = StatusChange {
        submission_id: Uuid::now_v7(),
        ..change(SubmissionStatus::Approved, None, t0)
    };
    store
        .apply_status_page(&page(
            vec![
                change(SubmissionStatus::Accepted, Some("已转交乡镇"), t0),
                stranger,
            ],
            "s1",
        ))
        .unwrap();
    let number = receipt.number.to_string();
    let shown = store.receipt(&number).unwrap().unwrap();
    assert_eq!(shown.status, Some(SubmissionStatus::Accepted));
    assert_eq!(shown.status_note.as_deref(), Some("已转交乡镇"));

    // An overlapping page replays an older change: the newer one stands.
    store
        .apply_status_page(&page(
            vec![change(
                SubmissionStatus::Received,
                None,
                t0 - TimeDelta::hours(1),
            )],
            "s2",
        ))
        .unwrap();
    assert_eq!(
        store.receipt(&number).unwrap().unwrap().status,
        Some(SubmissionStatus::Accepted)
    );
    store
        .apply_status_page(&page(
            vec![change(
                SubmissionStatus::NeedsCorrection,
                Some("请补交户口本复印件"),
                t0 + TimeDelta::hours(1),
            )],
            "s3",
        ))
        .unwrap();
    let shown = store.receipt(&number).unwrap().unwrap();
    assert_eq!(shown.status, Some(SubmissionStatus::NeedsCorrection));
    assert_eq!(shown.status_note.as_deref(), Some("请补交户口本复印件"));
    assert_eq!(
        store.feed_cursor(Feed::Statuses).unwrap().as_deref(),
        Some("s3")
    );
}

/// What the progress page reads: the materials a correction names, with the receipt (by
/// number and by card) while it is the latest status, and in the history for good.
#[test]
fn a_corrections_materials_reach_the_progress_lookup() {
    use sync_protocol::feed::CorrectionMaterial;
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let mut application = crate::application();
    application.holder_id_number = Some(crate::ID_NUMBER.into());
    let receipt = store.submit(application).unwrap();
    let number = receipt.number.to_string();
    let t0 = Utc::now();
    let named = vec![
        CorrectionMaterial {
            index: 1,
            name: "居民户口簿".into(),
        },
        CorrectionMaterial {
            index: 3,
            name: "家庭收入及财产状况声明".into(),
        },
    ];
    let change = |status, at, materials: &Vec<CorrectionMaterial>| StatusChange {
        submission_id: receipt.id,
        receipt_number: number.clone(),
        status,
        note: Some("请补正以下材料：居民户口簿、家庭收入及财产状况声明。原因：看不清".into()),
        changed_at: at,
        materials: materials.clone(),
    };
    store
        .apply_status_page(&page(
            vec![change(SubmissionStatus::NeedsCorrection, t0, &named)],
            "s1",
        ))
        .unwrap();
    let shown = store.receipt(&number).unwrap().unwrap();
    assert_eq!(shown.status, Some(SubmissionStatus::NeedsCorrection));
    assert_eq!(shown.correction_materials, named);
    let by_card = store.receipts_for_holder(crate::ID_NUMBER).unwrap();
    assert_eq!(by_card[0].correction_materials, named);
    assert_eq!(store.existing_receipt(&number).unwrap(), shown);
    let history = store.status_history(&number).unwrap();
    assert_eq!(history.last().map(|h| &h.materials), Some(&named));
    // Debug (logs) names the materials, never the note.
    let logged = format!("{shown:?}");
    assert!(
        logged.contains("居民户口簿") && !logged.contains("看不清"),
        "{logged}"
    );

    // A replayed older change leaves them; the next status clears them from the receipt
    // and keeps them in the history.
    store
        .apply_status_page(&page(
            vec![change(
                SubmissionStatus::Received,
                t0 - TimeDelta::hours(1),
                &Vec::new(),
            )],
            "s2",
        ))
        .unwrap();
    assert_eq!(
        store
            .receipt(&number)
            .unwrap()
            .unwrap()
            .correction_materials,
        named
    );
    store
        .apply_status_page(&page(
            vec![change(
                SubmissionStatus::Accepted,
                t0 + TimeDelta::hours(1),
                &Vec::new(),
            )],
            "s3",
        ))
        .unwrap();
    let shown = store.receipt(&number).unwrap().unwrap();
    assert_eq!(shown.status, Some(SubmissionStatus::Accepted));
    assert!(shown.correction_materials.is_empty());
    let history = store.status_history(&number).unwrap();
    let kept: Vec<_> = history
        .iter()
        .map(|h| (h.status, h.materials.len()))
        .collect();
    assert!(
        kept.contains(&(SubmissionStatus::NeedsCorrection, 2)),
        "{kept:?}"
    );
    assert_eq!(history.last().map(|h| h.materials.len()), Some(0));
}
