//! The behaviour every backend must show for [`ContentStore`](crate::store::ContentStore):
//! guide drafts, versions and notices as staff edit them.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sync_protocol::feed::CatalogItem;

use super::t0;
use crate::domain::catalog::ItemProblem;
use crate::store::content::GuideRefusal;
use crate::store::content::NoticeRefusal;
use crate::store::staff::{AuditEntry, AuditFilter};
use crate::store::{NewNotice, Store};

/// Generates one `#[tokio::test]` per check, like [`crate::store_conformance_tests`].
#[macro_export]
macro_rules! content_conformance_tests {
    ($open:expr) => {
        $crate::content_conformance_tests!(@each $open;
            a_published_draft_becomes_the_next_version_with_its_history,
            a_stale_invalid_or_unchanged_draft_is_not_published,
            new_guides_start_as_drafts_under_a_free_code,
            withdrawing_and_restoring_a_guide_go_through_the_feed,
            imports_record_versions_and_leave_drafts_alone,
            notices_are_withdrawn_and_republished_through_the_feed,
            notices_list_newest_first_within_villages
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::content::$check(store).await;
            }
        )*
    };
}

/// The same sample item the main suite imports.
fn item(code: &str, name: &str) -> CatalogItem {
    super::catalog_item(code, name)
}

fn by(actor: &str, action: &str, code: &str, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry::new(at, actor, action).target(code)
}

async fn actions(store: &dyn Store, target: &str) -> Vec<String> {
    store
        .list_audit(&AuditFilter {
            target: Some(target.into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|record| record.entry.action)
        .collect()
}

pub async fn a_published_draft_becomes_the_next_version_with_its_history(store: Arc<dyn Store>) {
    let code = "GX-MZ-001";
    store
        .import_catalog(vec![item(code, "低保")], t0())
        .await
        .unwrap();
    let before = store.catalog_page(None, 10).await.unwrap();

    let mut edited = item(code, "最低生活保障");
    edited.version = 1;
    let at = t0() + Duration::minutes(5);
    let draft = store
        .save_guide_draft(edited, by("wang", "guide.save_draft", code, at))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(draft.updated_by, "wang");
    assert_eq!(draft.updated_at, at);
    let quiet = store.catalog_page(Some(&before.cursor), 10).await.unwrap();
    assert!(quiet.items.is_empty(), "a draft is not in the feed");
    let guide = store.find_guide(code).await.unwrap().unwrap();
    assert_eq!(guide.draft.as_ref().unwrap().item.name_zh, "最低生活保障");
    assert_eq!(guide.published.as_ref().unwrap().item.name_zh, "低保");
    assert!(
        store.list_guides().await.unwrap()[0].has_draft,
        "the list shows the draft"
    );

    let published_at = t0() + Duration::minutes(9);
    let published = store
        .publish_guide(
            code,
            draft.updated_at,
            by("wang", "guide.publish", code, published_at),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((published.version, published.withdrawn), (2, false));
    let next = store.catalog_page(Some(&before.cursor), 10).await.unwrap();
    assert_eq!(next.items, vec![published.clone()]);

    let guide = store.find_guide(code).await.unwrap().unwrap();
    assert!(guide.draft.is_none(), "publishing uses the draft up");
    let history: Vec<(u32, &str)> = guide
        .versions
        .iter()
        .map(|v| (v.version, v.published_by.as_str()))
        .collect();
    assert_eq!(history, [(2, "wang"), (1, "import")]);
    assert_eq!(guide.versions[0].published_at, published_at);
    let old = store.guide_version(code, 1).await.unwrap().unwrap();
    assert_eq!(old.item.name_zh, "低保");
    assert!(store.guide_version(code, 3).await.unwrap().is_none());
    assert_eq!(
        actions(store.as_ref(), code).await,
        ["guide.save_draft", "guide.publish"]
    );
    let publish_line = store
        .list_audit(&AuditFilter {
            action: Some("guide.publish".into()),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(publish_line[0].entry.detail.as_deref(), Some("version 2"));
}

pub async fn a_stale_invalid_or_unchanged_draft_is_not_published(store: Arc<dyn Store>) {
    let code = "GX-MZ-001";
    store
        .import_catalog(vec![item(code, "低保")], t0())
        .await
        .unwrap();
    let save = |draft: CatalogItem, minutes: i64| {
        let store = Arc::clone(&store);
        async move {
            store
                .save_guide_draft(
                    draft,
                    by(
                        "wang",
                        "guide.save_draft",
                        code,
                        t0() + Duration::minutes(minutes),
                    ),
                )
                .await
                .unwrap()
                .unwrap()
        }
    };
    let publish = |saved_at: DateTime<Utc>| {
        let store = Arc::clone(&store);
        async move {
            store
                .publish_guide(code, saved_at, by("wang", "guide.publish", code, t0()))
                .await
                .unwrap()
        }
    };

    let same = save(item(code, "低保"), 1).await;
    assert_eq!(
        publish(same.updated_at).await,
        Err(GuideRefusal::Unchanged(code.into()))
    );
    let first = save(item(code, "低保（改）"), 2).await;
    let _second = save(item(code, "低保（再改）"), 3).await;
    assert_eq!(
        publish(first.updated_at).await,
        Err(GuideRefusal::DraftChanged(code.into()))
    );
    let mut broken = item(code, "低保");
    broken.office.phone = " ".into();
    let broken = save(broken, 4).await;
    assert_eq!(
        publish(broken.updated_at).await,
        Err(GuideRefusal::Invalid {
            code: code.into(),
            problem: ItemProblem::Empty("office.phone"),
        })
    );
    assert_eq!(
        store
            .publish_guide("GX-XX-404", t0(), by("wang", "guide.publish", code, t0()))
            .await
            .unwrap(),
        Err(GuideRefusal::NoDraft("GX-XX-404".into()))
    );

    let feed = store.catalog_page(None, 10).await.unwrap();
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0].version, 1, "nothing was published");
    let guide = store.find_guide(code).await.unwrap().unwrap();
    assert_eq!(guide.versions.len(), 1);
    assert!(guide.draft.is_some(), "a refused draft stays");
    assert_eq!(
        actions(store.as_ref(), code).await,
        ["guide.save_draft"; 4],
        "refusals write no audit line"
    );

    store
        .discard_guide_draft(code, by("wang", "guide.discard", code, t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .find_guide(code)
            .await
            .unwrap()
            .unwrap()
            .draft
            .is_none()
    );
    assert_eq!(
        store
            .discard_guide_draft(code, by("wang", "guide.discard", code, t0()))
            .await
            .unwrap(),
        Err(GuideRefusal::NoDraft(code.into()))
    );
}

pub async fn new_guides_start_as_drafts_under_a_free_code(store: Arc<dyn Store>) {
    store
        .import_catalog(vec![item("GX-MZ-001", "低保")], t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .create_guide(
                item("GX-MZ-001", "重复"),
                by("wang", "guide.save_draft", "GX-MZ-001", t0())
            )
            .await
            .unwrap(),
        Err(GuideRefusal::Exists("GX-MZ-001".into()))
    );
    let mut fresh = item("GX-MZ-009", "临时救助");
    fresh.version = 7;
    store
        .create_guide(fresh, by("wang", "guide.save_draft", "GX-MZ-009", t0()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .create_guide(
                item("GX-MZ-009", "again"),
                by("wang", "guide.save_draft", "GX-MZ-009", t0())
            )
            .await
            .unwrap(),
        Err(GuideRefusal::Exists("GX-MZ-009".into()))
    );
    let list = store.list_guides().await.unwrap();
    let codes: Vec<(&str, Option<u32>, bool)> = list
        .iter()
        .map(|g| (g.code.as_str(), g.version, g.has_draft))
        .collect();
    assert_eq!(
        codes,
        [("GX-MZ-001", Some(1), false), ("GX-MZ-009", None, true)]
    );
    assert_eq!(list[1].name_zh, "临时救助");
    let guide = store.find_guide("GX-MZ-009").await.unwrap().unwrap();
    assert_eq!(guide.draft.as_ref().unwrap().item.version, 0);
    assert_eq!(
        store
            .set_guide_withdrawn("GX-MZ-009", true, by("wang", "guide.withdraw", "", t0()))
            .await
            .unwrap(),
        Err(GuideRefusal::NotPublished("GX-MZ-009".into()))
    );
    assert_eq!(
        store
            .save_guide_draft(
                item("GX-NONE", "无"),
                by("wang", "guide.save_draft", "GX-NONE", t0())
            )
            .await
            .unwrap(),
        Err(GuideRefusal::Unknown("GX-NONE".into()))
    );
    assert!(store.find_guide("GX-NONE").await.unwrap().is_none());

    let saved_at = guide.draft.unwrap().updated_at;
    let first = store
        .publish_guide(
            "GX-MZ-009",
            saved_at,
            by("wang", "guide.publish", "GX-MZ-009", t0()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.version, 1, "a new item starts at version 1");
}

pub async fn withdrawing_and_restoring_a_guide_go_through_the_feed(store: Arc<dyn Store>) {
    let code = "GX-MZ-001";
    store
        .import_catalog(vec![item(code, "低保")], t0())
        .await
        .unwrap();
    let start = store.catalog_page(None, 10).await.unwrap();
    let withdraw = |withdrawn: bool| {
        let store = Arc::clone(&store);
        async move {
            let action = if withdrawn {
                "guide.withdraw"
            } else {
                "guide.restore"
            };
            store
                .set_guide_withdrawn(code, withdrawn, by("wang", action, code, t0()))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        withdraw(false).await,
        Err(GuideRefusal::NotWithdrawn(code.into()))
    );
    let gone = withdraw(true).await.unwrap();
    assert_eq!((gone.version, gone.withdrawn), (2, true));
    assert_eq!(
        withdraw(true).await,
        Err(GuideRefusal::AlreadyWithdrawn(code.into()))
    );
    let page = store.catalog_page(Some(&start.cursor), 10).await.unwrap();
    assert_eq!(page.items, vec![gone]);

    // A draft published while withdrawn stays withdrawn; restoring brings the new text.
    let mut edited = item(code, "低保（新）");
    edited.version = 2;
    let draft = store
        .save_guide_draft(edited, by("wang", "guide.save_draft", code, t0()))
        .await
        .unwrap()
        .unwrap();
    let quiet = store
        .publish_guide(
            code,
            draft.updated_at,
            by("wang", "guide.publish", code, t0()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((quiet.version, quiet.withdrawn), (3, true));
    let back = withdraw(false).await.unwrap();
    assert_eq!((back.version, back.withdrawn), (4, false));
    assert_eq!(back.name_zh, "低保（新）");
    let page = store.catalog_page(Some(&page.cursor), 10).await.unwrap();
    assert_eq!(page.items.last(), Some(&back));
    let history: Vec<(u32, bool)> = store
        .find_guide(code)
        .await
        .unwrap()
        .unwrap()
        .versions
        .iter()
        .map(|v| (v.version, v.withdrawn))
        .collect();
    assert_eq!(history, [(4, false), (3, true), (2, true), (1, false)]);
    assert_eq!(
        actions(store.as_ref(), code).await,
        [
            "guide.withdraw",
            "guide.save_draft",
            "guide.publish",
            "guide.restore"
        ]
    );
}

pub async fn imports_record_versions_and_leave_drafts_alone(store: Arc<dyn Store>) {
    let code = "GX-MZ-001";
    store
        .import_catalog(vec![item(code, "低保"), item("GX-SB-001", "养老")], t0())
        .await
        .unwrap();
    let mut edited = item(code, "低保（草稿）");
    edited.version = 1;
    store
        .save_guide_draft(edited, by("wang", "guide.save_draft", code, t0()))
        .await
        .unwrap()
        .unwrap();
    let later = t0() + Duration::hours(1);
    store
        .import_catalog(vec![item(code, "低保（文件）")], later)
        .await
        .unwrap();

    let guide = store.find_guide(code).await.unwrap().unwrap();
    let draft = guide.draft.expect("the import kept the draft");
    assert_eq!(draft.item.name_zh, "低保（草稿）");
    assert_eq!(draft.item.version, 1, "saved against version 1");
    let published = guide.published.unwrap();
    assert_eq!(published.item.version, 2);
    assert_eq!(published.updated_at, later);
    let history: Vec<(u32, &str, DateTime<Utc>)> = guide
        .versions
        .iter()
        .map(|v| (v.version, v.published_by.as_str(), v.published_at))
        .collect();
    assert_eq!(history, [(2, "import", later), (1, "import", t0())]);
    let withdrawn = store.find_guide("GX-SB-001").await.unwrap().unwrap();
    assert_eq!(withdrawn.versions.len(), 2);
    assert!(withdrawn.versions[0].withdrawn);
    assert_eq!(
        store
            .guide_version("GX-SB-001", 2)
            .await
            .unwrap()
            .unwrap()
            .published_by,
        "import"
    );
}

fn notice(title: &str, villages: &[&str], published_on: NaiveDate) -> NewNotice {
    NewNotice {
        title: title.into(),
        body: format!("{title}的正文"),
        published_on,
        expires_on: None,
        villages: villages.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default()
}

pub async fn notices_are_withdrawn_and_republished_through_the_feed(store: Arc<dyn Store>) {
    let created = store
        .create_notice(
            notice("停水通知", &["石门村"], day(1)),
            AuditEntry::new(t0(), "wang", "notice.create"),
        )
        .await
        .unwrap();
    let first = store.notices_page("石门村", None, 10).await.unwrap();
    assert_eq!(first.items, vec![created.clone()]);
    assert!(
        store
            .notices_page("六合村", None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let id = created.id;
    let audit = |action: &str| AuditEntry::new(t0(), "wang", action).target(id.to_string());
    assert_eq!(
        store
            .set_notice_withdrawn(id, false, audit("notice.republish"))
            .await
            .unwrap(),
        Err(NoticeRefusal::AlreadyPublished(id))
    );
    let withdrawn = store
        .set_notice_withdrawn(id, true, audit("notice.withdraw"))
        .await
        .unwrap()
        .unwrap();
    assert!(withdrawn.withdrawn);
    assert_eq!(
        store
            .set_notice_withdrawn(id, true, audit("notice.withdraw"))
            .await
            .unwrap(),
        Err(NoticeRefusal::AlreadyWithdrawn(id))
    );
    let next = store
        .notices_page("石门村", Some(&first.cursor), 10)
        .await
        .unwrap();
    assert_eq!(next.items, vec![withdrawn.clone()]);
    assert_eq!(store.find_notice(id).await.unwrap(), Some(withdrawn));

    let back = store
        .set_notice_withdrawn(id, false, audit("notice.republish"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, created);
    let last = store
        .notices_page("石门村", Some(&next.cursor), 10)
        .await
        .unwrap();
    assert_eq!(last.items, vec![created]);
    let whole = store.notices_page("石门村", None, 10).await.unwrap();
    assert_eq!(whole.items.len(), 1, "one notice, at its latest change");

    let missing = uuid::Uuid::now_v7();
    assert_eq!(
        store
            .set_notice_withdrawn(missing, true, audit("notice.withdraw"))
            .await
            .unwrap(),
        Err(NoticeRefusal::Unknown(missing))
    );
    let logged: Vec<String> = store
        .list_audit(&AuditFilter {
            action: Some("notice".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|r| r.entry.action)
        .collect();
    assert_eq!(
        logged,
        ["notice.create", "notice.withdraw", "notice.republish"]
    );
    assert_eq!(
        actions(store.as_ref(), &id.to_string()).await,
        ["notice.create", "notice.withdraw", "notice.republish"],
        "the create line names the new notice"
    );
}

pub async fn notices_list_newest_first_within_villages(store: Arc<dyn Store>) {
    let add = |title: &'static str, villages: &'static [&'static str], on: u32| {
        let store = Arc::clone(&store);
        async move {
            store
                .create_notice(
                    notice(title, villages, day(on)),
                    AuditEntry::new(t0(), "wang", "notice.create"),
                )
                .await
                .unwrap()
        }
    };
    add("全县", &[], 2).await;
    add("石门", &["石门村"], 3).await;
    add("两村", &["石门村", "六合村"], 1).await;
    add("邻乡", &["白圩村"], 4).await;
    let titles = |notices: Vec<sync_protocol::feed::Notice>| {
        notices.into_iter().map(|n| n.title).collect::<Vec<_>>()
    };
    assert_eq!(
        titles(store.list_notices(None).await.unwrap()),
        ["邻乡", "石门", "全县", "两村"]
    );
    let mine = ["石门村".to_owned(), "六合村".to_owned()];
    assert_eq!(
        titles(store.list_notices(Some(&mine)).await.unwrap()),
        ["石门", "全县", "两村"]
    );
    let one = ["石门村".to_owned()];
    assert_eq!(
        titles(store.list_notices(Some(&one)).await.unwrap()),
        ["石门", "全县"],
        "a notice reaching past the list is left out"
    );
    assert_eq!(
        titles(store.list_notices(Some(&[])).await.unwrap()),
        ["全县"]
    );
}
