//! The guide editor and the notices pages over HTTP: what an administrator's forms change in
//! the booths' feeds, what every other role and a forged form are refused, scope, escaping.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CatalogItem, Notice};
use sync_server::api::enroll_codes;
use sync_server::domain::access::Role;
use sync_server::domain::catalog;
use sync_server::store::NewNotice;
use sync_server::store::staff::{AuditEntry, AuditFilter};

use crate::common::{TestServer, enroll_with_code};
use crate::staff_client::{Page, StaffClient, add_account, hidden_value};

const SEED: &str = include_str!("../../seed/catalog.json");
const CODE: &str = "GX-MZ-001";
const SCRIPT: &str = "<script>alert(1)</script>";
/// How askama escapes it (numeric entities: `&#60;` is `&lt;`).
const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

/// A server with the seed catalogue imported and an administrator `wang` (scope `*`).
async fn server_with_catalog() -> TestServer {
    let server = TestServer::start().await;
    server
        .store()
        .import_catalog(catalog::parse(SEED).expect("seed"), Utc::now())
        .await
        .expect("import");
    add_account(server.store(), "wang", Role::Admin, "*").await;
    server
}

async fn catalog(server: &TestServer) -> Vec<CatalogItem> {
    server
        .store()
        .catalog_page(None, 500)
        .await
        .expect("catalogue feed")
        .items
}

async fn notices_for(server: &TestServer, village: &str) -> Vec<Notice> {
    server
        .store()
        .notices_page(village, None, 500)
        .await
        .expect("notices feed")
        .items
}

async fn audit_of(server: &TestServer, target: &str) -> Vec<String> {
    crate::staff_client::audit_actions(
        server.store(),
        AuditFilter {
            target: Some(target.into()),
            ..AuditFilter::default()
        },
    )
    .await
}

fn unescape(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The fields the editor page's draft form would post, as the browser would read them from
/// the page: inputs' values, textareas' text, selects' selected options.
fn editor_fields(page: &Page) -> Vec<(String, String)> {
    let html = &page.body;
    let start = html.find("/draft\"").expect("the draft form");
    let form = &html[start..start + html[start..].find("</form>").expect("form end")];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("name=\"") {
        let after = &rest[at + 6..];
        let name_end = after.find('"').expect("name end");
        let name = &after[..name_end];
        let tag_start = rest[..at].rfind('<').expect("tag start");
        let tag = &rest[tag_start..];
        let value = if tag.starts_with("<textarea") {
            let open = tag.find('>').expect("textarea open") + 1;
            let close = tag.find("</textarea>").expect("textarea close");
            unescape(&tag[open..close])
        } else if tag.starts_with("<select") {
            let close = tag.find("</select>").expect("select close");
            let options = &tag[..close];
            let selected = options.find(" selected").expect("a selected option");
            let value_at = options[..selected].rfind("value=\"").expect("option value") + 7;
            let value_end = value_at + options[value_at..].find('"').expect("value end");
            unescape(&options[value_at..value_end])
        } else {
            let tag = &tag[..tag.find('>').expect("tag end")];
            tag.find("value=\"")
                .map(|at| {
                    let value = &tag[at + 7..];
                    unescape(&value[..value.find('"').expect("value end")])
                })
                .unwrap_or_default()
        };
        if name != "csrf" {
            fields.push((name.to_owned(), value));
        }
        rest = &after[name_end..];
    }
    fields
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let field = fields
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(n, _)| n == name).expect("field").1
}

async fn post_fields(client: &mut StaffClient, path: &str, fields: &[(String, String)]) -> Page {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.post(path, &borrowed).await
}

#[tokio::test]
async fn an_edited_guide_is_drafted_then_published_as_the_next_version() {
    let server = server_with_catalog().await;
    let before = server.store().catalog_page(None, 500).await.unwrap();
    let original = before
        .items
        .iter()
        .find(|i| i.code == CODE)
        .unwrap()
        .clone();
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;

    admin
        .get("/staff/guides")
        .await
        .assert_ok()
        .assert_contains(&original.name_zh)
        .assert_contains("/staff/guides/GX-MZ-001");
    let editor = admin.get("/staff/guides/GX-MZ-001").await;
    editor.assert_ok();
    let mut fields = editor_fields(&editor);
    for name in [
        "base_version",
        "name_zh",
        "name_en",
        "category",
        "legal_basis",
        "conditions",
        "materials",
        "steps",
        "time_limit",
        "days",
        "fees",
        "office_name",
        "office_address",
        "office_phone",
        "complaint_phone",
        "identity",
        "form_fields",
        "review_levels",
    ] {
        assert!(
            fields.iter().any(|(n, _)| n == name),
            "the editor has {name}"
        );
    }
    // The page's form says exactly what is published.
    let form = sync_server::staff::guide_form::GuideForm {
        base_version: get(&fields, "base_version").into(),
        name_zh: get(&fields, "name_zh").into(),
        name_en: get(&fields, "name_en").into(),
        category: get(&fields, "category").into(),
        legal_basis: get(&fields, "legal_basis").into(),
        conditions: get(&fields, "conditions").into(),
        materials: get(&fields, "materials").into(),
        steps: get(&fields, "steps").into(),
        time_limit: get(&fields, "time_limit").into(),
        days: get(&fields, "days").into(),
        fees: get(&fields, "fees").into(),
        office_name: get(&fields, "office_name").into(),
        office_address: get(&fields, "office_address").into(),
        office_phone: get(&fields, "office_phone").into(),
        complaint_phone: get(&fields, "complaint_phone").into(),
        identity: get(&fields, "identity").into(),
        form_fields: get(&fields, "form_fields").into(),
        review_levels: get(&fields, "review_levels").into(),
    };
    assert_eq!(
        form.to_item(CODE).unwrap(),
        CatalogItem {
            version: 0,
            ..original.clone()
        }
    );

    let steps = format!("{}\n凭回执领取结果", get(&fields, "steps"));
    set(&mut fields, "steps", &steps);
    set(&mut fields, "office_phone", "0775-5550188");
    let saved = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        catalog(&server).await,
        before.items,
        "a draft does not reach booths"
    );

    let drafted = admin.get(saved.location.as_deref().unwrap()).await;
    drafted
        .assert_ok()
        .assert_contains("草稿已保存")
        .assert_contains("有未发布的草稿")
        .assert_contains("草稿改动了：办理流程、办理机构电话")
        .assert_contains("凭回执领取结果");
    let saved_at = hidden_value(&drafted.body, "draft_saved_at").expect("publish form");
    let published = admin
        .post(
            "/staff/guides/GX-MZ-001/publish",
            &[("draft_saved_at", &saved_at)],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );

    let changes = server
        .store()
        .catalog_page(Some(&before.cursor), 500)
        .await
        .unwrap()
        .items;
    assert_eq!(changes.len(), 1, "one new change in the feed");
    let item = &changes[0];
    assert_eq!(item.version, original.version + 1);
    assert_eq!(
        item.steps.last().map(String::as_str),
        Some("凭回执领取结果")
    );
    assert_eq!(item.office.phone, "0775-5550188");
    assert_eq!(
        CatalogItem {
            steps: original.steps.clone(),
            office: original.office.clone(),
            version: original.version,
            ..item.clone()
        },
        original,
        "nothing else changed"
    );

    let page = admin.get(published.location.as_deref().unwrap()).await;
    page.assert_ok()
        .assert_contains("已发布，服务亭下次同步时更新")
        .assert_contains("第2版")
        .assert_contains("第1版")
        .assert_contains("文件导入")
        .assert_contains("wang")
        .assert_lacks("有未发布的草稿");
    admin
        .get("/staff/guides/GX-MZ-001/versions/1")
        .await
        .assert_ok()
        .assert_contains("这是历史版本")
        .assert_lacks("凭回执领取结果");
    admin
        .get("/staff/guides/GX-MZ-001/versions/2")
        .await
        .assert_ok()
        .assert_contains("这是当前发布的版本")
        .assert_contains("凭回执领取结果");
    assert_eq!(
        admin.get("/staff/guides/GX-MZ-001/versions/9").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        audit_of(&server, CODE).await,
        ["guide.save_draft", "guide.publish"]
    );
}

#[tokio::test]
async fn a_bad_line_is_named_on_the_page_and_nothing_is_stored() {
    let server = server_with_catalog().await;
    let before = catalog(&server).await;
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    let editor = admin.get("/staff/guides/GX-MZ-001").await;
    let fields = editor_fields(&editor);

    let mut zero = fields.clone();
    let materials = format!("{}\n残疾证 | 原件 | 0", get(&fields, "materials"));
    set(&mut zero, "materials", &materials);
    let refused = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &zero).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let line = materials.lines().count();
    refused
        .assert_contains(&format!("申请材料第{line}行：份数“0”应为1到999的整数"))
        .assert_contains("残疾证 | 原件 | 0");

    let mut levels = fields.clone();
    set(&mut levels, "review_levels", "4");
    set(&mut levels, "name_zh", "改过的名称");
    let refused = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &levels).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused
        .assert_contains("审核层级：“4”应为1、2或3")
        .assert_contains("value=\"改过的名称\"")
        .assert_contains("value=\"4\"");

    let guide = server.store().find_guide(CODE).await.unwrap().unwrap();
    assert!(guide.draft.is_none(), "nothing stored");
    assert_eq!(catalog(&server).await, before);
    assert!(audit_of(&server, CODE).await.is_empty());
}

#[tokio::test]
async fn withdraw_restore_discard_and_a_new_item() {
    let server = server_with_catalog().await;
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    admin.get("/staff/guides/GX-MZ-001").await.assert_ok();

    let gone = admin.post("/staff/guides/GX-MZ-001/withdraw", &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    let item = |items: Vec<CatalogItem>| items.into_iter().find(|i| i.code == CODE).unwrap();
    let withdrawn = item(catalog(&server).await);
    assert_eq!((withdrawn.version, withdrawn.withdrawn), (2, true));
    admin.get("/staff/guides").await.assert_contains("已撤下");
    let twice = admin.post("/staff/guides/GX-MZ-001/withdraw", &[]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let back = admin.post("/staff/guides/GX-MZ-001/restore", &[]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    let restored = item(catalog(&server).await);
    assert_eq!((restored.version, restored.withdrawn), (3, false));

    let page = admin.get("/staff/guides/GX-MZ-001").await;
    let mut fields = editor_fields(&page);
    set(&mut fields, "name_en", "Subsistence allowance (draft)");
    let saved = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let discarded = admin.post("/staff/guides/GX-MZ-001/discard", &[]).await;
    assert_eq!(discarded.status, StatusCode::SEE_OTHER);
    assert!(
        server
            .store()
            .find_guide(CODE)
            .await
            .unwrap()
            .unwrap()
            .draft
            .is_none()
    );
    assert_eq!(
        audit_of(&server, CODE).await,
        [
            "guide.withdraw",
            "guide.restore",
            "guide.save_draft",
            "guide.discard"
        ]
    );

    // A new item starts as a draft that cannot be published until it is complete.
    let bad = admin
        .post("/staff/guides", &[("code", "gx mz"), ("name_zh", "新事项")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("事项编码只能用大写字母");
    let taken = admin
        .post(
            "/staff/guides",
            &[("code", "gx-mz-001"), ("name_zh", "重复")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    taken.assert_contains("这个事项编码已经存在");
    let created = admin
        .post(
            "/staff/guides",
            &[("code", "gx-mz-009"), ("name_zh", "新事项")],
        )
        .await;
    assert_eq!(
        created.location.as_deref(),
        Some("/staff/guides/GX-MZ-009?done=created")
    );
    let page = admin.get("/staff/guides/GX-MZ-009?done=created").await;
    page.assert_ok()
        .assert_contains("已新建草稿")
        .assert_contains("草稿还不能发布：“英文名称”不能为空");
    let saved_at = hidden_value(&page.body, "draft_saved_at").unwrap();
    let refused = admin
        .post(
            "/staff/guides/GX-MZ-009/publish",
            &[("draft_saved_at", &saved_at)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("不能发布：“英文名称”不能为空");
    assert!(
        !catalog(&server)
            .await
            .iter()
            .any(|item| item.code == "GX-MZ-009")
    );
    assert_eq!(
        admin.get("/staff/guides/GX-XX-404").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_administrators_reach_guides_and_notices() {
    let server = server_with_catalog().await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    add_account(server.store(), "zhao", Role::Viewer, "*").await;
    let notice = server
        .store()
        .create_notice(
            NewNotice {
                title: "全县通知".into(),
                body: "正文".into(),
                published_on: Utc::now().date_naive(),
                expires_on: None,
                villages: Vec::new(),
            },
            AuditEntry::new(Utc::now(), "test", "notice.create"),
        )
        .await
        .unwrap();
    let catalog_before = catalog(&server).await;
    let notices_before = notices_for(&server, "石门村").await;
    let gets = [
        "/staff/guides".to_owned(),
        "/staff/guides/GX-MZ-001".to_owned(),
        "/staff/guides/GX-MZ-001/versions/1".to_owned(),
        "/staff/notices".to_owned(),
    ];
    let posts = [
        "/staff/guides".to_owned(),
        "/staff/guides/GX-MZ-001/draft".to_owned(),
        "/staff/guides/GX-MZ-001/publish".to_owned(),
        "/staff/guides/GX-MZ-001/discard".to_owned(),
        "/staff/guides/GX-MZ-001/withdraw".to_owned(),
        "/staff/guides/GX-MZ-001/restore".to_owned(),
        "/staff/notices".to_owned(),
        format!("/staff/notices/{}/withdraw", notice.id),
        format!("/staff/notices/{}/republish", notice.id),
    ];
    for user in ["li", "zhao"] {
        let mut client = StaffClient::logged_in(&server.url, user).await;
        client.get("/staff/password").await.assert_ok();
        for path in &gets {
            let page = client.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{user} GET {path}");
            page.assert_contains("您的角色不能做这件事");
        }
        for path in &posts {
            let page = client
                .post(
                    path,
                    &[
                        ("code", "GX-NEW-1"),
                        ("name_zh", "新"),
                        ("draft_saved_at", "0"),
                        ("title", "t"),
                        ("body", "b"),
                        ("audience", "all"),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{user} POST {path}");
        }
    }
    assert_eq!(catalog(&server).await, catalog_before);
    assert_eq!(notices_for(&server, "石门村").await, notices_before);
    assert!(
        server
            .store()
            .list_guides()
            .await
            .unwrap()
            .iter()
            .all(|g| !g.has_draft)
    );
}

/// Enrolls a booth in `township`/`village` of 示范县.
async fn enroll_in(server: &TestServer, township: &str, village: &str) {
    let code = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        Village {
            county: "示范县".into(),
            township: township.into(),
            village: village.into(),
        },
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .expect("code")
    .code;
    enroll_with_code(&server.url, &code).await;
}

#[tokio::test]
async fn a_notice_reaches_its_village_and_leaves_it_when_withdrawn() {
    let server = server_with_catalog().await;
    enroll_in(&server, "凤岭乡", "石门村").await;
    enroll_in(&server, "凤岭乡", "六合村").await;
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    let page = admin.get("/staff/notices").await;
    page.assert_ok()
        .assert_contains("value=\"石门村\"")
        .assert_contains("value=\"六合村\"");

    let created = admin
        .post(
            "/staff/notices",
            &[
                ("title", "停水通知"),
                ("body", "3月5日全天停水，请提前储水。"),
                ("published_on", "2026-03-01"),
                ("expires_on", "2026-03-06"),
                ("audience", "some"),
                ("village", "石门村"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let feed = server
        .store()
        .notices_page("石门村", None, 50)
        .await
        .unwrap();
    assert_eq!(feed.items.len(), 1);
    let notice = &feed.items[0];
    assert_eq!(notice.title, "停水通知");
    assert_eq!(notice.villages, ["石门村"]);
    assert_eq!(
        notice.expires_on.map(|d| d.to_string()).as_deref(),
        Some("2026-03-06")
    );
    assert!(notices_for(&server, "六合村").await.is_empty());
    admin
        .get("/staff/notices?done=created")
        .await
        .assert_contains("公告已发布")
        .assert_contains("停水通知")
        .assert_contains(&format!("/staff/notices/{}/withdraw", notice.id));

    let withdrawn = admin
        .post(&format!("/staff/notices/{}/withdraw", notice.id), &[])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let next = server
        .store()
        .notices_page("石门村", Some(&feed.cursor), 50)
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert!(next.items[0].withdrawn, "booths are told to drop it");
    admin
        .get("/staff/notices")
        .await
        .assert_contains("已撤回")
        .assert_contains("重新发布");
    let again = admin
        .post(&format!("/staff/notices/{}/republish", notice.id), &[])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let last = server
        .store()
        .notices_page("石门村", Some(&next.cursor), 50)
        .await
        .unwrap();
    assert!(!last.items[0].withdrawn);
    assert_eq!(
        audit_of(&server, &notice.id.to_string()).await,
        ["notice.create", "notice.withdraw", "notice.republish"]
    );

    // Expiry before publication is refused, keeping what was typed.
    let refused = admin
        .post(
            "/staff/notices",
            &[
                ("title", "错日期"),
                ("body", "正文"),
                ("published_on", "2026-03-10"),
                ("expires_on", "2026-03-01"),
                ("audience", "all"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused
        .assert_contains("截止日期不能早于发布日期")
        .assert_contains("value=\"错日期\"");
    assert_eq!(notices_for(&server, "石门村").await.len(), 1);
}

#[tokio::test]
async fn a_township_administrator_stays_inside_the_township() {
    let server = server_with_catalog().await;
    enroll_in(&server, "凤岭乡", "石门村").await;
    enroll_in(&server, "白圩镇", "白圩村").await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    let elsewhere = server
        .store()
        .create_notice(
            NewNotice {
                title: "白圩镇通知".into(),
                body: "正文".into(),
                published_on: Utc::now().date_naive(),
                expires_on: None,
                villages: vec!["白圩村".into()],
            },
            AuditEntry::new(Utc::now(), "test", "notice.create"),
        )
        .await
        .unwrap();
    let mut admin = StaffClient::logged_in(&server.url, "fengling").await;
    let page = admin.get("/staff/notices").await;
    page.assert_ok()
        .assert_contains("value=\"石门村\"")
        .assert_lacks("value=\"白圩村\"")
        .assert_lacks("白圩镇通知")
        .assert_contains("管辖范围内的全部村");

    let outside = admin
        .post(
            "/staff/notices",
            &[
                ("title", "越界通知"),
                ("body", "正文"),
                ("audience", "some"),
                ("village", "白圩村"),
            ],
        )
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST);
    outside.assert_contains("“白圩村”不在您的管辖范围内");
    assert_eq!(
        notices_for(&server, "白圩村").await,
        vec![elsewhere.clone()]
    );

    let foreign = admin
        .post(&format!("/staff/notices/{}/withdraw", elsewhere.id), &[])
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(
        !server
            .store()
            .find_notice(elsewhere.id)
            .await
            .unwrap()
            .unwrap()
            .withdrawn
    );

    // "Every village in scope" becomes the township's own list.
    let all = admin
        .post(
            "/staff/notices",
            &[("title", "乡通知"), ("body", "正文"), ("audience", "all")],
        )
        .await;
    assert_eq!(all.status, StatusCode::SEE_OTHER, "{}", all.body);
    let sent = notices_for(&server, "石门村").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].villages, ["石门村"]);
    assert_eq!(notices_for(&server, "白圩村").await.len(), 1);
}

#[tokio::test]
async fn names_and_titles_render_as_text_on_every_page() {
    let server = TestServer::start().await;
    add_account(server.store(), "wang", Role::Admin, "*").await;
    enroll_in(&server, "凤岭乡", "石门村").await;
    let mut items = catalog::parse(SEED).unwrap();
    items[0].name_zh = SCRIPT.into();
    let code = items[0].code.clone();
    server
        .store()
        .import_catalog(items, Utc::now())
        .await
        .unwrap();
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    for path in [
        "/staff/guides".to_owned(),
        format!("/staff/guides/{code}"),
        format!("/staff/guides/{code}/versions/1"),
    ] {
        admin
            .get(&path)
            .await
            .assert_ok()
            .assert_contains(ESCAPED)
            .assert_lacks(SCRIPT);
    }
    let created = admin
        .post(
            "/staff/notices",
            &[("title", SCRIPT), ("body", SCRIPT), ("audience", "all")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    admin
        .get("/staff/notices")
        .await
        .assert_contains(ESCAPED)
        .assert_lacks(SCRIPT);
    // And a refused form shows it back as text too.
    admin
        .post(
            "/staff/guides",
            &[("code", "bad code"), ("name_zh", SCRIPT)],
        )
        .await
        .assert_contains(ESCAPED)
        .assert_lacks(SCRIPT);
}

#[tokio::test]
async fn a_publish_without_the_form_token_changes_nothing() {
    let server = server_with_catalog().await;
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    let page = admin.get("/staff/guides/GX-MZ-001").await;
    let mut fields = editor_fields(&page);
    set(&mut fields, "category", "社会救助（改）");
    let saved = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let drafted = admin.get("/staff/guides/GX-MZ-001").await;
    let saved_at = hidden_value(&drafted.body, "draft_saved_at").unwrap();
    let before = catalog(&server).await;

    let forged = admin
        .post_raw(
            "/staff/guides/GX-MZ-001/publish",
            &[("draft_saved_at", &saved_at)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    forged.assert_contains("表单已过期或来源不明");
    let wrong = admin
        .post_raw(
            "/staff/guides/GX-MZ-001/publish",
            &[("csrf", "AAAA"), ("draft_saved_at", &saved_at)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    assert_eq!(catalog(&server).await, before);
    let guide = server.store().find_guide(CODE).await.unwrap().unwrap();
    assert!(guide.draft.is_some(), "the draft is still there");
    assert_eq!(guide.versions.len(), 1);
    assert_eq!(audit_of(&server, CODE).await, ["guide.save_draft"]);
}

#[tokio::test]
async fn an_import_keeps_a_draft_and_its_page_says_the_item_moved_on() {
    let server = server_with_catalog().await;
    let mut admin = StaffClient::logged_in(&server.url, "wang").await;
    let page = admin.get("/staff/guides/GX-MZ-001").await;
    let mut fields = editor_fields(&page);
    set(&mut fields, "category", "社会救助（草稿）");
    let saved = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);

    let mut items = catalog::parse(SEED).unwrap();
    let changed = items.iter_mut().find(|i| i.code == CODE).unwrap();
    changed.complaint_phone = "0775-5550000".into();
    server
        .store()
        .import_catalog(items, Utc::now())
        .await
        .unwrap();

    let page = admin.get("/staff/guides/GX-MZ-001").await;
    page.assert_ok()
        .assert_contains("草稿保存时的发布版本是第1版，现在已是第2版")
        .assert_contains("value=\"社会救助（草稿）\"")
        .assert_contains("第2版");
    assert!(page.body.contains("文件导入"));
    // Saving again from this page marks the draft as checked against version 2.
    let fields = editor_fields(&page);
    assert_eq!(get(&fields, "base_version"), "2");
    let saved = post_fields(&mut admin, "/staff/guides/GX-MZ-001/draft", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    admin
        .get("/staff/guides/GX-MZ-001")
        .await
        .assert_lacks("草稿保存时的发布版本");
}
