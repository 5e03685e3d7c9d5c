//! Scope on every staff route. A county with a township outside the accounts under test
//! (白圩镇: a booth, an application with name, address, phone and ID number, a bad rating,
//! staff, a notice, audit lines), then every route of the staff route table, GET pages and
//! POST actions, called by village- and township-scoped accounts of every role, each aimed
//! at what lies outside their scope. Each call is refused, or shows only what is in scope,
//! and changes nothing; a route that needs a county-wide administrator answers 403.
//!
//! A route added to the table without a probe here fails the walk: write its probe aimed
//! outside the caller's scope.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use reqwest::StatusCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse, Village};
use sync_protocol::feed::Notice;
use sync_protocol::paths;
use sync_protocol::submission::{Applicant, BatchRequest, Submission, SubmissionKind};
use sync_server::api::enroll_codes;
use sync_server::domain::access::{Role, Scope};
use sync_server::domain::calendar::{CalendarDay, DayKind};
use sync_server::domain::fleet::KioskRecord;
use sync_server::staff::web::access::{self, Needs};
use sync_server::store::content::Guide;
use sync_server::store::ratings::FollowUpTask;
use sync_server::store::review::ReviewItem;
use sync_server::store::staff::{AuditEntry, AuditFilter, StaffUser};
use sync_server::store::{NewNotice, SubmissionFilter, SubmissionRef};

use crate::common::{TestKiosk, TestServer, enroll_with_code, new_key, submission};
use crate::staff_client::{Page, StaffClient, add_account};

const OUTSIDE_TOWNSHIP: &str = "白圩镇";
const OUTSIDE_VILLAGE: &str = "白圩村";

fn outside_village() -> Village {
    Village {
        county: "示范县".into(),
        township: OUTSIDE_TOWNSHIP.into(),
        village: OUTSIDE_VILLAGE.into(),
    }
}

async fn booth_in(server: &TestServer, village: Village) -> TestKiosk {
    let code = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        village,
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .expect("code")
    .code;
    enroll_with_code(&server.url, &code).await
}

async fn upload(kiosk: &TestKiosk, submissions: Vec<Submission>) {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// The county the walk runs in, and what of it lies in 白圩镇.
struct World {
    server: TestServer,
    /// Texts only 白圩镇's data holds: none may reach an account outside it.
    markers: Vec<String>,
    application: String,
    /// A page photographed for `application`, held by the server.
    page: String,
    /// A supplement to `application` handed in at a booth inside the walkers' scope (石门村),
    /// and its page: part of 白圩镇's case, so outside their scope all the same.
    supplement: String,
    supplement_page: String,
    rating: String,
    notice: String,
    kiosk: String,
    guide: String,
}

async fn world() -> World {
    let server = TestServer::with_seed_catalog().await;
    let inside = server.enroll("石门村").await;
    upload(&inside, vec![submission(inside.number(), 1)]).await;
    let outside = booth_in(&server, outside_village()).await;
    let outside_page = crate::attachments_api::page(20_000, 9);
    let application = Submission {
        applicant: Some(Applicant {
            name: Some("白圩外乡人".into()),
            id_number: Some("450902199001011234".into()),
            address: Some("白圩街9号".into()),
        }),
        contact_phone: Some("13911112222".into()),
        attachments: vec![crate::attachments_api::listing(&outside_page, 0, 1, false)],
        ..submission(outside.number(), 1)
    };
    let rating = Submission {
        kind: SubmissionKind::Evaluation,
        rating: Some(1),
        text: Some("白圩差评原话".into()),
        applicant: None,
        contact_phone: None,
        fields: BTreeMap::new(),
        ..submission(outside.number(), 2)
    };
    upload(&outside, vec![application.clone(), rating.clone()]).await;
    assert!(
        crate::attachments_api::upload_all(&outside, &outside_page)
            .await
            .complete
    );
    let again_page = crate::attachments_api::page(20_000, 10);
    let supplement = Submission {
        applicant: None,
        contact_phone: None,
        fields: BTreeMap::new(),
        attachments: vec![crate::attachments_api::listing(&again_page, 0, 1, false)],
        supplement_to: Some(application.id),
        ..submission(inside.number(), 2)
    };
    upload(&inside, vec![supplement.clone()]).await;
    assert!(
        crate::attachments_api::upload_all(&inside, &again_page)
            .await
            .complete
    );

    add_account(server.store(), "baixu.admin", Role::Admin, "示范县/白圩镇").await;
    add_account(
        server.store(),
        "baixu.handler",
        Role::Handler,
        "示范县/白圩镇",
    )
    .await;
    StaffClient::logged_in(&server.url, "baixu.admin").await;
    let mut handler = StaffClient::logged_in(&server.url, "baixu.handler").await;
    handler
        .get(&format!(
            "/staff/submissions/{}",
            application.receipt_number
        ))
        .await
        .assert_ok();
    let shown = handler
        .post(
            &format!("/staff/submissions/{}/identity", application.receipt_number),
            &[],
        )
        .await;
    shown.assert_ok().assert_contains("450902199001011234");

    let notice = server
        .store()
        .create_notice(
            NewNotice {
                title: "白圩停水通知".into(),
                body: "白圩镇明日停水".into(),
                published_on: Utc::now().date_naive(),
                expires_on: None,
                villages: vec![OUTSIDE_VILLAGE.into()],
            },
            AuditEntry::new(Utc::now(), "test", "notice.create"),
        )
        .await
        .unwrap();
    server
        .store()
        .set_calendar_day(
            CalendarDay {
                day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                kind: DayKind::Holiday,
                name: "国庆节".into(),
            },
            AuditEntry::new(Utc::now(), "test", "calendar.set"),
        )
        .await
        .unwrap();
    let guide = server.store().list_guides().await.unwrap()[0].code.clone();
    let markers = [
        "白圩外乡人",
        "白圩街9号",
        "13911112222",
        "450902199001011234",
        "450902********1234",
        "白圩差评原话",
        "baixu.admin",
        "baixu.handler",
        "白圩停水通知",
        OUTSIDE_VILLAGE,
        OUTSIDE_TOWNSHIP,
        &application.receipt_number,
        &rating.receipt_number,
        &supplement.receipt_number,
        outside.id(),
    ]
    .map(str::to_owned)
    .to_vec();
    World {
        markers,
        application: application.receipt_number,
        page: sync_protocol::attachment::sha256_hex(&outside_page),
        supplement: supplement.receipt_number,
        supplement_page: sync_protocol::attachment::sha256_hex(&again_page),
        rating: rating.receipt_number,
        notice: notice.id.to_string(),
        kiosk: outside.id().to_owned(),
        guide,
        server,
    }
}

/// What a probe may do besides being refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// At data or an action outside the caller's scope (or the county's): refused, or only
    /// what is in scope shown, and nothing changed.
    Outside,
    /// At the caller's own session or account (log out, change password): nothing outside
    /// it changes, but it may leave an audit line.
    Own,
}

struct Probe {
    method: &'static str,
    /// The route as the table writes it.
    route: &'static str,
    /// The path called (under `/staff`).
    path: String,
    fields: Vec<(&'static str, &'static str)>,
    aim: Aim,
}

fn probes(world: &World) -> Vec<Probe> {
    let probe = |method, route, path: String, fields: &[(&'static str, &'static str)]| Probe {
        method,
        route,
        path,
        fields: fields.to_vec(),
        aim: Aim::Outside,
    };
    let get = |route: &'static str, path: String| probe("GET", route, path, &[]);
    let post = |route: &'static str, path: String, fields: &[(&'static str, &'static str)]| {
        probe("POST", route, path, fields)
    };
    let (app, rating, notice, kiosk, guide) = (
        &world.application,
        &world.rating,
        &world.notice,
        &world.kiosk,
        &world.guide,
    );
    vec![
        get("/", "/".into()),
        get("/staff.css", "/staff.css".into()),
        get("/login", "/login".into()),
        post("/login", "/login".into(), &[("username", "baixu.admin")]),
        get("/lang", "/lang?to=en&back=/staff/inbox".into()),
        get("/password", "/password".into()),
        // The audit chain's head: a count and a hash, nothing of any township.
        get("/healthz", "/healthz".into()),
        Probe {
            aim: Aim::Own,
            ..post(
                "/password",
                "/password".into(),
                &[("current", "wrong"), ("new", "x"), ("repeat", "y")],
            )
        },
        get("/inbox", "/inbox?status=all&mine=0".into()),
        // A search, not a change: a number handed in only outside the caller's scope finds
        // nothing, and the search is audited (without the number), hence `Own`.
        Probe {
            aim: Aim::Own,
            ..post(
                "/inbox/by-id",
                "/inbox/by-id".into(),
                &[("id_number", "450102199001011234")],
            )
        },
        get("/export.csv", "/export.csv?status=all&mine=0".into()),
        get("/submissions/{receipt}", format!("/submissions/{app}")),
        post(
            "/submissions/{receipt}",
            format!("/submissions/{app}"),
            &[("action", "accept"), ("comment", "越界"), ("version", "0")],
        ),
        post(
            "/submissions/{receipt}/identity",
            format!("/submissions/{app}/identity"),
            &[],
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}",
            format!("/submissions/{app}/pages/{}", world.page),
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}/thumbnail",
            format!("/submissions/{app}/pages/{}/thumbnail", world.page),
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}/view",
            format!("/submissions/{app}/pages/{}/view", world.page),
        ),
        // A supplement's receipt leads to its case only for those who may see the case; its
        // page is the case's, whatever booth it came from.
        get(
            "/submissions/{receipt}",
            format!("/submissions/{}", world.supplement),
        ),
        post(
            "/submissions/{receipt}",
            format!("/submissions/{}", world.supplement),
            &[("action", "accept"), ("comment", "越界"), ("version", "0")],
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}",
            format!("/submissions/{app}/pages/{}", world.supplement_page),
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}/thumbnail",
            format!(
                "/submissions/{app}/pages/{}/thumbnail",
                world.supplement_page
            ),
        ),
        get(
            "/submissions/{receipt}/pages/{sha256}/view",
            format!("/submissions/{app}/pages/{}/view", world.supplement_page),
        ),
        get("/audit", "/audit".into()),
        get("/calendar", "/calendar".into()),
        post(
            "/calendar",
            "/calendar".into(),
            &[
                ("day", "2026-12-01"),
                ("kind", "holiday"),
                ("name", "越界假日"),
            ],
        ),
        post(
            "/calendar/remove",
            "/calendar/remove".into(),
            &[("day", "2026-10-01")],
        ),
        get("/accounts", "/accounts".into()),
        post(
            "/accounts",
            "/accounts".into(),
            &[
                ("username", "sneaky"),
                ("role", "admin"),
                ("scope", "示范县/白圩镇"),
            ],
        ),
        post(
            "/accounts/{username}/disable",
            "/accounts/baixu.handler/disable".into(),
            &[],
        ),
        post(
            "/accounts/{username}/enable",
            "/accounts/baixu.handler/enable".into(),
            &[],
        ),
        post(
            "/accounts/{username}/reset",
            "/accounts/baixu.handler/reset".into(),
            &[],
        ),
        get("/guides", "/guides".into()),
        post(
            "/guides",
            "/guides".into(),
            &[("code", "NEW-001"), ("name_zh", "越界事项")],
        ),
        get("/guides/{code}", format!("/guides/{guide}")),
        post(
            "/guides/{code}/draft",
            format!("/guides/{guide}/draft"),
            &[("base_version", "1"), ("name_zh", "越界改名")],
        ),
        post(
            "/guides/{code}/publish",
            format!("/guides/{guide}/publish"),
            &[("draft_saved_at", "0")],
        ),
        post(
            "/guides/{code}/discard",
            format!("/guides/{guide}/discard"),
            &[],
        ),
        post(
            "/guides/{code}/withdraw",
            format!("/guides/{guide}/withdraw"),
            &[],
        ),
        post(
            "/guides/{code}/restore",
            format!("/guides/{guide}/restore"),
            &[],
        ),
        get(
            "/guides/{code}/versions/{version}",
            format!("/guides/{guide}/versions/1"),
        ),
        get("/notices", "/notices".into()),
        post(
            "/notices",
            "/notices".into(),
            &[
                ("title", "越界通知"),
                ("body", "正文"),
                ("audience", "some"),
                ("village", OUTSIDE_VILLAGE),
            ],
        ),
        post(
            "/notices/{id}/withdraw",
            format!("/notices/{notice}/withdraw"),
            &[],
        ),
        post(
            "/notices/{id}/republish",
            format!("/notices/{notice}/republish"),
            &[],
        ),
        get("/ratings", "/ratings?by=village".into()),
        get("/follow-ups", "/follow-ups?show=all".into()),
        get("/follow-ups/{receipt}", format!("/follow-ups/{rating}")),
        post(
            "/follow-ups/{receipt}/call",
            format!("/follow-ups/{rating}/call"),
            &[("called_at", "2026-01-05T10:00"), ("call_note", "越界")],
        ),
        post(
            "/follow-ups/{receipt}/fix",
            format!("/follow-ups/{rating}/fix"),
            &[("fix_note", "越界")],
        ),
        post(
            "/follow-ups/{receipt}/close",
            format!("/follow-ups/{rating}/close"),
            &[],
        ),
        get("/fleet", "/fleet".into()),
        post(
            "/fleet/enroll-code",
            "/fleet/enroll-code".into(),
            &[
                ("county", "示范县"),
                ("township", OUTSIDE_TOWNSHIP),
                ("village", OUTSIDE_VILLAGE),
                ("ttl", "1h"),
            ],
        ),
        post(
            "/fleet/{kiosk_id}/revoke",
            format!("/fleet/{kiosk}/revoke"),
            &[("confirm", "yes")],
        ),
        get("/releases", "/releases".into()),
        // Multipart on the page; any body is refused before it is read (403 for the role).
        post(
            "/releases",
            "/releases".into(),
            &[("bundle", "not a bundle")],
        ),
        post(
            "/rollouts",
            "/rollouts".into(),
            &[("version", "1.0.0"), ("percent", "100")],
        ),
        post("/rollouts/{id}/pause", "/rollouts/1/pause".into(), &[]),
        post("/rollouts/{id}/resume", "/rollouts/1/resume".into(), &[]),
        post("/rollouts/{id}/stop", "/rollouts/1/stop".into(), &[]),
        post(
            "/rollouts/{id}/widen",
            "/rollouts/1/widen".into(),
            &[("percent", "100")],
        ),
        // Last: it ends the session the walk uses.
        Probe {
            aim: Aim::Own,
            ..post("/logout", "/logout".into(), &[])
        },
    ]
}

/// What each route needs, stated here a second time on purpose: a route whose declared
/// needs weaken (an administrator's page opened to every role, a county page to a township)
/// fails the walk until this spec is changed with it.
fn expected_needs(method: &str, route: &str) -> Needs {
    match (method, route) {
        (_, "/staff.css" | "/login" | "/lang") => Needs::Nothing,
        ("GET", "/" | "/password" | "/inbox" | "/export.csv" | "/ratings" | "/healthz")
        | ("POST", "/password" | "/logout" | "/inbox/by-id") => Needs::Session,
        ("GET", "/submissions/{receipt}" | "/follow-ups" | "/follow-ups/{receipt}") => {
            Needs::Session
        }
        ("GET", route) if route.starts_with("/submissions/{receipt}/pages/") => Needs::Session,
        ("POST", "/submissions/{receipt}" | "/submissions/{receipt}/identity") => Needs::Reviewer,
        ("POST", route) if route.starts_with("/follow-ups/") => Needs::Recorder,
        (_, route)
            if route.starts_with("/accounts")
                || route.starts_with("/notices")
                || route.starts_with("/fleet") =>
        {
            Needs::Admin
        }
        (_, route)
            if route.starts_with("/audit")
                || route.starts_with("/calendar")
                || route.starts_with("/guides")
                || route.starts_with("/releases")
                || route.starts_with("/rollouts") =>
        {
            Needs::CountyAdmin
        }
        _ => panic!("{method} {route}: say here what it needs"),
    }
}

/// Everything in the county a staff route could change or show, read through the store.
#[derive(Debug, PartialEq)]
struct Snapshot {
    calendar: Vec<CalendarDay>,
    guides: Vec<Option<Guide>>,
    notices: Vec<Notice>,
    kiosks: Vec<KioskRecord>,
    users: Vec<StaffUser>,
    reviews: Vec<Option<ReviewItem>>,
    tasks: Vec<Option<FollowUpTask>>,
    /// How many audit lines; counted for actions aimed outside the caller's own account.
    audit_lines: Option<usize>,
}

async fn snapshot(server: &TestServer, with_audit: bool) -> Snapshot {
    let store = server.store();
    let mut guides = Vec::new();
    for guide in store.list_guides().await.unwrap() {
        guides.push(store.find_guide(&guide.code).await.unwrap());
    }
    let submissions = store
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    let (mut reviews, mut tasks) = (Vec::new(), Vec::new());
    for record in &submissions {
        reviews.push(
            store
                .review_item(&SubmissionRef::Id(record.submission.id), &Scope::All)
                .await
                .unwrap(),
        );
        tasks.push(
            store
                .follow_up_task(&record.submission.receipt_number, &Scope::All)
                .await
                .unwrap(),
        );
    }
    let audit_lines = if with_audit {
        Some(
            store
                .list_audit(&AuditFilter {
                    limit: 100_000,
                    ..AuditFilter::default()
                })
                .await
                .unwrap()
                .len(),
        )
    } else {
        None
    };
    Snapshot {
        calendar: store.calendar_days().await.unwrap(),
        guides,
        notices: store.list_notices(None).await.unwrap(),
        kiosks: store.list_kiosks().await.unwrap(),
        users: store.list_users().await.unwrap(),
        reviews,
        tasks,
        audit_lines,
    }
}

/// One account walking every probe.
async fn walk(world: &World, username: &str, role: Role, scope: &Scope) {
    let table: BTreeMap<(String, &str), Needs> = access::table()
        .into_iter()
        .map(|route| ((route.method.to_string(), route.path), route.needs))
        .collect();
    let mut client = StaffClient::logged_in(&world.server.url, username).await;
    client.get("/staff/password").await.assert_ok();
    for probe in probes(world) {
        let needs = table[&(probe.method.to_owned(), probe.route)];
        assert_eq!(
            needs,
            expected_needs(probe.method, probe.route),
            "{} {} is declared with other needs than it should have",
            probe.method,
            probe.route
        );
        let full = if probe.path == "/" {
            "/staff".to_owned()
        } else {
            format!("/staff{}", probe.path)
        };
        // A page view may leave its own audit line (the export does); a refused action not.
        let with_audit = probe.method == "POST" && probe.aim == Aim::Outside;
        let before = snapshot(&world.server, with_audit).await;
        let page: Page = match probe.method {
            "GET" => client.get(&full).await,
            _ => client.post(&full, &probe.fields).await,
        };
        let who = format!("{username} ({role}, {scope}) {} {full}", probe.method);
        assert_ne!(
            page.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{who}: {}",
            page.body
        );
        if !needs.admits(role, scope) {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{who} needs {needs:?}");
        }
        // What the caller sent may come back to them; nothing else of 白圩镇 may.
        let sent: String = probe
            .fields
            .iter()
            .map(|(_, value)| *value)
            .chain([full.as_str()])
            .collect();
        for marker in world.markers.iter().filter(|m| !sent.contains(m.as_str())) {
            assert!(
                !page.body.contains(marker.as_str()),
                "{who} showed {marker:?} from outside the scope:\n{}",
                page.body
            );
        }
        if probe.method == "POST" && probe.aim == Aim::Outside {
            assert!(
                page.status.is_client_error(),
                "{who} was not refused ({}):\n{}",
                page.status,
                page.body
            );
        }
        assert!(
            snapshot(&world.server, with_audit).await == before,
            "{who} changed the county ({}):\n{}",
            page.status,
            page.body
        );
    }
}

#[tokio::test]
async fn every_staff_route_keeps_a_narrower_account_inside_its_scope() {
    let world = world().await;
    let declared: BTreeSet<(String, &str)> = access::table()
        .into_iter()
        .map(|route| (route.method.to_string(), route.path))
        .collect();
    let probed: BTreeSet<(String, &str)> = probes(&world)
        .into_iter()
        .map(|probe| (probe.method.to_owned(), probe.route))
        .collect();
    assert_eq!(
        declared.difference(&probed).collect::<Vec<_>>(),
        Vec::<&(String, &str)>::new(),
        "routes without a probe: add one aimed outside the caller's scope"
    );
    assert_eq!(
        probed.difference(&declared).collect::<Vec<_>>(),
        Vec::<&(String, &str)>::new(),
        "probes of routes that do not exist"
    );
    for (prefix, scope) in [("v", "示范县/凤岭乡/石门村"), ("t", "示范县/凤岭乡")] {
        for role in Role::ALL {
            let username = format!("{prefix}.{role}");
            add_account(world.server.store(), &username, role, scope).await;
            walk(&world, &username, role, &scope.parse().unwrap()).await;
        }
    }
}

#[tokio::test]
async fn county_pages_are_for_county_wide_administrators_and_so_is_their_menu() {
    let server = TestServer::with_seed_catalog().await;
    add_account(server.store(), "county", Role::Admin, "示范县").await;
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    add_account(
        server.store(),
        "shimen",
        Role::Admin,
        "示范县/凤岭乡/石门村",
    )
    .await;
    let guide = server.store().list_guides().await.unwrap()[0].code.clone();
    let mut county = StaffClient::logged_in(&server.url, "county").await;
    for narrow in ["fengling", "shimen"] {
        let mut admin = StaffClient::logged_in(&server.url, narrow).await;
        let fleet = admin.get("/staff/fleet").await;
        fleet
            .assert_ok()
            .assert_contains("href=\"/staff/fleet\"")
            .assert_contains("href=\"/staff/notices\"")
            .assert_lacks("href=\"/staff/audit\"")
            .assert_lacks("href=\"/staff/calendar\"")
            .assert_lacks("href=\"/staff/guides\"");
        let audit = admin.get("/staff/audit").await;
        assert_eq!(audit.status, StatusCode::FORBIDDEN, "{narrow}");
        audit.assert_lacks("login.ok");
        let holiday = admin
            .post(
                "/staff/calendar",
                &[("day", "2026-12-01"), ("kind", "holiday"), ("name", "越界")],
            )
            .await;
        assert_eq!(holiday.status, StatusCode::FORBIDDEN, "{narrow}");
        let levels = admin
            .post(
                &format!("/staff/guides/{guide}/draft"),
                &[("base_version", "1"), ("review_levels", "1")],
            )
            .await;
        assert_eq!(levels.status, StatusCode::FORBIDDEN, "{narrow}");
    }
    assert!(server.store().calendar_days().await.unwrap().is_empty());
    assert!(
        server
            .store()
            .find_guide(&guide)
            .await
            .unwrap()
            .unwrap()
            .draft
            .is_none()
    );
    let fleet = county.get("/staff/fleet").await;
    fleet
        .assert_contains("href=\"/staff/audit\"")
        .assert_contains("href=\"/staff/calendar\"")
        .assert_contains("href=\"/staff/guides\"");
    county
        .get("/staff/audit")
        .await
        .assert_ok()
        .assert_contains("fengling");
    let holiday = county
        .post(
            "/staff/calendar",
            &[
                ("day", "2026-12-01"),
                ("kind", "holiday"),
                ("name", "县假日"),
            ],
        )
        .await;
    assert_eq!(holiday.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_booth_moved_to_another_township_leaves_its_history_behind() {
    let server = TestServer::with_seed_catalog().await;
    add_account(server.store(), "fl.handler", Role::Handler, "示范县/凤岭乡").await;
    add_account(server.store(), "bx.handler", Role::Handler, "示范县/白圩镇").await;
    let booth = server.enroll("石门村").await;
    let made_here = Submission {
        applicant: Some(Applicant {
            name: Some("石门申请人".into()),
            id_number: Some("450902199001015678".into()),
            address: Some("石门村三组".into()),
        }),
        ..submission(booth.number(), 1)
    };
    upload(&booth, vec![made_here.clone()]).await;
    // Handed in before the move, still queued on the booth when it re-enrolls.
    let queued = Submission {
        created_at: booth.enrolled.server_time + chrono::Duration::milliseconds(1),
        ..submission(booth.number(), 2)
    };

    // The technician moves the booth to 白圩村 and re-enrolls it there, proving its old key.
    let code = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        outside_village(),
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .unwrap()
    .code;
    let key = new_key();
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .json(&EnrollRequest::replacing(
            &code,
            &key,
            booth.id(),
            &booth.key,
            "test-0.2",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let enrolled: EnrollResponse = response.json().await.unwrap();
    assert_eq!(
        enrolled.kiosk_number,
        booth.number(),
        "the move keeps its number"
    );
    assert_eq!(enrolled.village, outside_village());
    let moved = TestKiosk {
        key,
        enrolled,
        base: server.url.clone(),
        client: reqwest::Client::new(),
    };
    let made_there = Submission {
        created_at: Utc::now() + chrono::Duration::seconds(1),
        ..submission(moved.number(), 3)
    };
    upload(&moved, vec![queued.clone(), made_there.clone()]).await;

    let mut new_township = StaffClient::logged_in(&server.url, "bx.handler").await;
    let inbox = new_township.get("/staff/inbox?status=all&mine=0").await;
    inbox
        .assert_ok()
        .assert_contains(&made_there.receipt_number)
        .assert_lacks(&made_here.receipt_number)
        .assert_lacks(&queued.receipt_number);
    for receipt in [&made_here.receipt_number, &queued.receipt_number] {
        let page = new_township
            .get(&format!("/staff/submissions/{receipt}"))
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        page.assert_lacks("石门申请人").assert_lacks("石门村三组");
        let identity = new_township
            .post(&format!("/staff/submissions/{receipt}/identity"), &[])
            .await;
        assert_eq!(identity.status, StatusCode::NOT_FOUND);
        identity.assert_lacks("450902199001015678");
    }
    new_township
        .get("/staff/export.csv?status=all&mine=0")
        .await
        .assert_lacks("石门申请人");

    let mut old_township = StaffClient::logged_in(&server.url, "fl.handler").await;
    old_township
        .get("/staff/inbox?status=all&mine=0")
        .await
        .assert_contains(&made_here.receipt_number)
        .assert_contains(&queued.receipt_number)
        .assert_lacks(&made_there.receipt_number);
    old_township
        .get(&format!("/staff/submissions/{}", made_here.receipt_number))
        .await
        .assert_ok()
        .assert_contains("石门申请人")
        .assert_contains("石门村");

    // The booth still hears about what it took in before the move.
    let feed = moved
        .feed::<sync_protocol::feed::StatusChange>(sync_protocol::feed::Feed::Statuses, None, 50)
        .await;
    assert!(
        feed.items
            .iter()
            .any(|change| change.submission_id == made_here.id)
    );
}
