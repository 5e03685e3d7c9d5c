//! Notices (administrators only): the notices in the administrator's scope, newest first; a
//! form to publish one to villages in scope; withdrawing and re-publishing.
//!
//! Booths match notices by village name (the feed is keyed on it), so scope is decided per
//! name: a name is in an administrator's scope when every enrolled booth bearing it is. A
//! narrower administrator sees the notices for every village (read-only: they reach beyond
//! the scope) and those whose every target is in scope, and acts on the latter only; any other
//! notice answers 404, as if it did not exist.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use sync_protocol::feed::Notice;
use uuid::Uuid;

use super::access::{Needs, StaffRoute, route};
use super::session::{NoFields, Staff, StaffForm};
use super::{Frame, PageError, PageResult, StaffError, render};
use crate::domain::access::Scope;
use crate::domain::county_time;
use crate::domain::fleet::KioskRecord;
use crate::staff::i18n::Tr;
use crate::state::AppState;
use crate::store::NewNotice;
use crate::store::content::NoticeRefusal;

/// Longest title and body a booth's notice board is meant to show.
const TITLE_MAX_CHARS: usize = crate::domain::limits::NOTICE_TITLE;
const BODY_MAX_CHARS: usize = crate::domain::limits::NOTICE_BODY;

pub fn routes() -> Vec<StaffRoute> {
    vec![
        route(Method::GET, "/notices", Needs::Admin, get(list)),
        route(Method::POST, "/notices", Needs::Admin, post(create)),
        route(
            Method::POST,
            "/notices/{id}/withdraw",
            Needs::Admin,
            post(withdraw),
        ),
        route(
            Method::POST,
            "/notices/{id}/republish",
            Needs::Admin,
            post(republish),
        ),
    ]
}

/// The village names an administrator may send notices to, from the enrolled booths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Villages {
    /// Scope `*`: every village, and a notice for all of them.
    everywhere: bool,
    names: BTreeSet<String>,
}

impl Villages {
    pub fn of(kiosks: &[KioskRecord], scope: &Scope) -> Self {
        let mut inside = BTreeSet::new();
        let mut outside = BTreeSet::new();
        for kiosk in kiosks {
            let name = kiosk.village.village.clone();
            if scope.covers(&kiosk.village) {
                inside.insert(name);
            } else {
                outside.insert(name);
            }
        }
        Self {
            everywhere: *scope == Scope::All,
            // A name shared with a village outside the scope would reach that village's
            // booths too.
            names: inside.difference(&outside).cloned().collect(),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.names.iter()
    }

    pub fn may_target(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether withdrawing or re-publishing `notice` stays inside the scope.
    pub fn may_act(&self, notice: &Notice) -> bool {
        self.everywhere
            || (!notice.villages.is_empty() && notice.villages.iter().all(|v| self.may_target(v)))
    }

    /// The store's filter: `None` for every notice.
    pub fn filter(&self) -> Option<Vec<String>> {
        (!self.everywhere).then(|| self.names.iter().cloned().collect())
    }

    /// "All villages in scope" as the notice's targets: empty (every village) for scope `*`,
    /// else the explicit list; `None` when the scope holds no enrolled village.
    pub fn all_targets(&self) -> Option<Vec<String>> {
        if self.everywhere {
            Some(Vec::new())
        } else if self.names.is_empty() {
            None
        } else {
            Some(self.names.iter().cloned().collect())
        }
    }
}

/// What the create form holds, kept when it is refused.
#[derive(Debug, Clone, Default)]
struct Typed {
    title: String,
    body: String,
    published_on: String,
    expires_on: String,
    to_all: bool,
    villages: BTreeSet<String>,
}

impl Typed {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut typed = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "title" => typed.title = value,
                "body" => typed.body = value,
                "published_on" => typed.published_on = value,
                "expires_on" => typed.expires_on = value,
                "audience" => typed.to_all = value == "all",
                "village" => {
                    typed.villages.insert(value.trim().to_owned());
                }
                _ => {}
            }
        }
        typed
    }

    fn fresh(today: NaiveDate) -> Self {
        Self {
            published_on: today.to_string(),
            to_all: true,
            ..Self::default()
        }
    }

    /// The notice to publish, or the translation key of the first problem (and the village
    /// it names, if any).
    fn check(
        &self,
        villages: &Villages,
        today: NaiveDate,
    ) -> Result<NewNotice, (&'static str, Option<String>)> {
        let title = self.title.trim();
        let body = self.body.replace("\r\n", "\n").trim().to_owned();
        if title.is_empty() {
            return Err(("notice.problem.title", None));
        }
        if title.chars().count() > TITLE_MAX_CHARS {
            return Err(("notice.problem.title_long", None));
        }
        if body.is_empty() {
            return Err(("notice.problem.body", None));
        }
        if body.chars().count() > BODY_MAX_CHARS {
            return Err(("notice.problem.body_long", None));
        }
        let published_on = match self.published_on.trim() {
            "" => today,
            text => text
                .parse::<NaiveDate>()
                .map_err(|_| ("notice.problem.date", None))?,
        };
        let expires_on = match self.expires_on.trim() {
            "" => None,
            text => Some(
                text.parse::<NaiveDate>()
                    .map_err(|_| ("notice.problem.date", None))?,
            ),
        };
        if expires_on.is_some_and(|expires| expires < published_on) {
            return Err(("notice.problem.expires_before", None));
        }
        let targets = if self.to_all {
            villages
                .all_targets()
                .ok_or(("notice.problem.none_in_scope", None))?
        } else {
            if self.villages.is_empty() {
                return Err(("notice.problem.no_villages", None));
            }
            if let Some(outside) = self.villages.iter().find(|v| !villages.may_target(v)) {
                return Err(("notice.problem.outside", Some(outside.clone())));
            }
            self.villages.iter().cloned().collect()
        };
        Ok(NewNotice {
            title: title.to_owned(),
            body,
            published_on,
            expires_on,
            villages: targets,
        })
    }
}

/// One line of the list.
#[derive(Debug)]
struct NoticeRow {
    id: String,
    title: String,
    body: String,
    published_on: String,
    expires_on: Option<String>,
    /// `None` for every village.
    targets: Option<String>,
    state_key: &'static str,
    state_class: &'static str,
    withdrawn: bool,
    can_act: bool,
}

impl NoticeRow {
    fn of(notice: Notice, villages: &Villages, today: NaiveDate) -> Self {
        let (state_key, state_class) = if notice.withdrawn {
            ("notice.state.withdrawn", "overdue")
        } else if notice.expires_on.is_some_and(|expires| expires < today) {
            ("notice.state.expired", "")
        } else {
            ("notice.state.published", "done")
        };
        Self {
            can_act: villages.may_act(&notice),
            id: notice.id.to_string(),
            title: notice.title,
            body: notice.body,
            published_on: notice.published_on.to_string(),
            expires_on: notice.expires_on.map(|d| d.to_string()),
            targets: (!notice.villages.is_empty()).then(|| notice.villages.join("、")),
            state_key,
            state_class,
            withdrawn: notice.withdrawn,
        }
    }
}

#[derive(Debug)]
struct VillageChoice {
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "staff/notices.html")]
struct NoticesPage {
    frame: Frame,
    rows: Vec<NoticeRow>,
    choices: Vec<VillageChoice>,
    everywhere: bool,
    typed: Typed,
    problem: Option<String>,
}

async fn villages(state: &AppState, staff: &Staff) -> Result<Villages, PageError> {
    let kiosks = state
        .store()
        .list_kiosks()
        .await
        .map_err(|e| staff.fail(e))?;
    Ok(Villages::of(&kiosks, &staff.user.scope))
}

async fn page(
    state: &AppState,
    staff: &Staff,
    villages: &Villages,
    typed: Option<Typed>,
    problem: Option<String>,
    flash: Option<&'static str>,
) -> Result<Response, PageError> {
    let today = county_time::date(Utc::now());
    let filter = villages.filter();
    let rows = state
        .store()
        .list_notices(filter.as_deref())
        .await
        .map_err(|e| staff.fail(e))?
        .into_iter()
        .map(|notice| NoticeRow::of(notice, villages, today))
        .collect();
    let typed = typed.unwrap_or_else(|| Typed::fresh(today));
    let choices = villages
        .names()
        .map(|name| VillageChoice {
            checked: typed.villages.contains(name),
            name: name.clone(),
        })
        .collect();
    let mut frame = staff.frame("notices");
    frame.flash = flash;
    // Also after a refused POST: the language switch goes back to the list.
    frame.here = "/staff/notices".into();
    Ok(render(
        &NoticesPage {
            frame,
            rows,
            choices,
            everywhere: villages.everywhere,
            typed,
            problem,
        },
        staff.lang,
    ))
}

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(State(state): State<AppState>, staff: Staff, done: Query<Done>) -> PageResult {
    let villages = villages(&state, &staff).await?;
    let flash = match done.done.as_deref() {
        Some("created") => Some("notice.done.created"),
        Some("withdrawn") => Some("notice.done.withdrawn"),
        Some("republished") => Some("notice.done.republished"),
        _ => None,
    };
    page(&state, &staff, &villages, None, None, flash).await
}

pub async fn create(
    State(state): State<AppState>,
    form: StaffForm<Vec<(String, String)>>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let villages = villages(&state, &staff).await?;
    let typed = Typed::from_pairs(form);
    let notice = match typed.check(&villages, county_time::date(Utc::now())) {
        Ok(notice) => notice,
        Err((key, village)) => {
            let message = Tr::new(staff.lang)
                .t(key)
                .replace("{}", village.as_deref().unwrap_or_default());
            return page(&state, &staff, &villages, Some(typed), Some(message), None)
                .await
                .map(|page| {
                    let mut page = page;
                    *page.status_mut() = StatusCode::BAD_REQUEST;
                    page
                });
        }
    };
    let detail = if notice.villages.is_empty() {
        "to every village".to_owned()
    } else {
        format!("to {}", notice.villages.join(", "))
    };
    state
        .store()
        .create_notice(notice, staff.audit("notice.create").detail(detail))
        .await
        .map_err(|e| staff.fail(e))?;
    Ok(Redirect::to("/staff/notices?done=created").into_response())
}

async fn set_withdrawn(state: &AppState, staff: &Staff, id: &str, withdrawn: bool) -> PageResult {
    let not_found = || staff.fail(StaffError::NotFound);
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let villages = villages(state, staff).await?;
    let notice = state
        .store()
        .find_notice(id)
        .await
        .map_err(|e| staff.fail(e))?
        .ok_or_else(not_found)?;
    if !villages.may_act(&notice) {
        return Err(not_found());
    }
    let (action, done) = if withdrawn {
        ("notice.withdraw", "withdrawn")
    } else {
        ("notice.republish", "republished")
    };
    let changed = state
        .store()
        .set_notice_withdrawn(id, withdrawn, staff.audit(action).target(id.to_string()))
        .await
        .map_err(|e| staff.fail(e))?;
    match changed {
        Ok(_) => Ok(Redirect::to(&format!("/staff/notices?done={done}")).into_response()),
        Err(NoticeRefusal::Unknown(_)) => Err(not_found()),
        Err(NoticeRefusal::AlreadyWithdrawn(_) | NoticeRefusal::AlreadyPublished(_)) => {
            let message = Tr::new(staff.lang).t("error.conflict").into_owned();
            let mut response = page(state, staff, &villages, None, Some(message), None).await?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_withdrawn(&state, &form.staff, &id, true).await
}

pub async fn republish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_withdrawn(&state, &form.staff, &id, false).await
}

#[cfg(test)]
mod tests {
    use sync_protocol::enroll::Village;

    use super::*;

    fn kiosk(township: &str, village: &str) -> KioskRecord {
        KioskRecord {
            kiosk_id: format!("k-{township}-{village}"),
            kiosk_number: 1,
            public_key: [0; 32],
            village: Village {
                county: "示范县".into(),
                township: township.into(),
                village: village.into(),
            },
            app_version: "0.1.0".into(),
            enrolled_at: Utc::now(),
            revoked_at: None,
            replaced_by: None,
            last_seen_at: None,
            last_heartbeat: None,
        }
    }

    fn notice(villages: &[&str]) -> Notice {
        Notice {
            id: Uuid::nil(),
            title: "t".into(),
            body: "b".into(),
            published_on: NaiveDate::default(),
            expires_on: None,
            villages: villages.iter().map(|v| (*v).to_owned()).collect(),
            withdrawn: false,
        }
    }

    #[test]
    fn a_township_reaches_its_own_village_names_only() {
        let kiosks = [
            kiosk("凤岭乡", "石门村"),
            kiosk("凤岭乡", "六合村"),
            kiosk("凤岭乡", "新村"),
            kiosk("白圩镇", "白圩村"),
            kiosk("白圩镇", "新村"),
        ];
        let township = Villages::of(&kiosks, &"示范县/凤岭乡".parse().unwrap());
        assert_eq!(
            township.names().collect::<Vec<_>>(),
            ["六合村", "石门村"],
            "新村 is also a village of 白圩镇"
        );
        assert_eq!(
            township.all_targets(),
            Some(vec!["六合村".to_owned(), "石门村".to_owned()])
        );
        assert!(township.may_act(&notice(&["石门村"])));
        assert!(!township.may_act(&notice(&["石门村", "白圩村"])));
        assert!(!township.may_act(&notice(&[])), "every village is wider");
        assert_eq!(township.filter().map(|f| f.len()), Some(2));

        let county = Villages::of(&kiosks, &Scope::All);
        assert_eq!(county.all_targets(), Some(Vec::new()), "every village");
        assert!(county.may_act(&notice(&[])));
        assert!(county.may_target("新村"));
        assert_eq!(county.filter(), None);

        let elsewhere = Villages::of(&kiosks, &"邻县".parse().unwrap());
        assert_eq!(elsewhere.all_targets(), None, "nothing enrolled in scope");
    }

    #[test]
    fn the_form_checks_dates_targets_and_text() {
        let kiosks = [kiosk("凤岭乡", "石门村"), kiosk("白圩镇", "白圩村")];
        let villages = Villages::of(&kiosks, &"示范县/凤岭乡".parse().unwrap());
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let typed = |pairs: &[(&str, &str)]| {
            Typed::from_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        let good = typed(&[
            ("title", " 停水通知 "),
            ("body", "明日停水。\r\n请储水。"),
            ("published_on", ""),
            ("audience", "some"),
            ("village", "石门村"),
        ])
        .check(&villages, today)
        .unwrap();
        assert_eq!(good.title, "停水通知");
        assert_eq!(good.body, "明日停水。\n请储水。");
        assert_eq!(good.published_on, today);
        assert_eq!(good.villages, ["石门村"]);

        let problem = |pairs: &[(&str, &str)]| {
            let mut all = vec![("title", "t"), ("body", "b"), ("audience", "all")];
            all.extend_from_slice(pairs);
            typed(&all).check(&villages, today).unwrap_err()
        };
        assert_eq!(
            problem(&[("expires_on", "2026-02-28")]).0,
            "notice.problem.expires_before"
        );
        assert_eq!(
            problem(&[("published_on", "3/1/2026")]).0,
            "notice.problem.date"
        );
        assert_eq!(
            problem(&[("audience", "some"), ("village", "白圩村")]),
            ("notice.problem.outside", Some("白圩村".to_owned()))
        );
        assert_eq!(
            problem(&[("audience", "some")]).0,
            "notice.problem.no_villages"
        );
        assert_eq!(problem(&[("title", " ")]).0, "notice.problem.title");
    }
}
