//! Rate a service (服务评价): a receipt (scanned, typed, or "rate this" on its progress page) or
//! a service from the catalogue, five levels, and for 不满意/非常不满意 a reason from a list
//! plus optional text. Entirely voluntary: nothing else asks for it, and no identity is taken.
//!
//! The evaluation is an ordinary submission (kind `evaluation`, rating 1..=5) queued in the
//! store and synced; its fields carry the reason (in the county's words, Chinese) and the rated
//! receipt's number.
//!
//! The level, the reason and the remark are the screen's own input (its tiles and text field
//! write them); they are read when the villager submits, and cleared by the flow.

use std::collections::BTreeMap;
use std::rc::Rc;

use slint::{ComponentHandle, SharedString};
use sync_protocol::feed::{CatalogItem, Feed};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::SubmissionKind;
use ui::{
    MainWindow, Page, RatingAdapter, RatingLookup, RatingReason, RatingService, RatingSubmitState,
    RatingView,
};

use super::bind::{Asserted, Bound, Changes, Flow, model};
use super::context::Ctx;
use super::progress::{NumberProblem, parse_number};
use super::services::Services;
use kiosk_core::store::StoreError;
use kiosk_core::submit::{Draft, ItemLookup, prepare};
use kiosk_core::sync::SyncEvent;

/// The form field that names why the villager was not satisfied.
pub const REASON_FIELD: &str = "reason";
/// The form field that names the rated receipt.
pub const RECEIPT_FIELD: &str = "receipt_number";

/// The words stored for a reason: what county staff read (the screen shows them translated).
pub fn reason_words(reason: RatingReason) -> Option<&'static str> {
    match reason {
        RatingReason::None => None,
        RatingReason::LongWait => Some("等待时间长"),
        RatingReason::UnclearMaterials => Some("材料要求不清楚"),
        RatingReason::StaffAttitude => Some("工作人员态度不好"),
        RatingReason::BadResult => Some("对办理结果不满意"),
        RatingReason::Other => Some("其他原因"),
    }
}

/// What a receipt number found for rating.
#[derive(Debug)]
pub enum Found {
    Here {
        item_code: Option<String>,
        item_name: String,
        kind: SubmissionKind,
    },
    NotHere,
    OtherBooth,
}

/// What is being rated, and where the villager is.
#[derive(Debug, Default)]
pub struct Rating {
    services: Vec<RatingService>,
    view: RatingView,
    item_code: Option<String>,
    receipt_number: Option<String>,
    service_name: String,
    /// The screen's text field edits the number too.
    typed_number: Asserted<String>,
    /// An edit of the number clears the message on screen.
    lookup: Asserted<RatingLookup>,
    /// Choosing a level clears the message on screen.
    submit_state: Asserted<RatingSubmitState>,
    /// Each clearing empties the level, reason and remark the screen holds.
    choice_cleared: Asserted<()>,
    thanks_number: String,
}

#[derive(Debug, PartialEq)]
pub struct RatingPage {
    services: Vec<RatingService>,
    view: RatingView,
    service_name: String,
    receipt_number: String,
    typed_number: Asserted<String>,
    lookup: Asserted<RatingLookup>,
    submit_state: Asserted<RatingSubmitState>,
    choice_cleared: Asserted<()>,
    thanks_number: String,
}

impl Rating {
    /// A visit starts at the choice, with an empty number; the services stay for the choice.
    pub fn start(&mut self) {
        self.view = RatingView::Choose;
        self.item_code = None;
        self.receipt_number = None;
        self.service_name.clear();
        self.typed_number.set(String::new());
        self.lookup.set(RatingLookup::Idle);
        self.submit_state.set(RatingSubmitState::Idle);
        self.choice_cleared.set(());
        self.thanks_number.clear();
    }

    /// The catalogue's services, by category then code, to choose from.
    pub fn services_loaded(&mut self, mut items: Vec<CatalogItem>) {
        items.sort_by(|a, b| (&a.category, &a.code).cmp(&(&b.category, &b.code)));
        self.services = items
            .into_iter()
            .map(|item| RatingService {
                code: item.code.into(),
                name: item.name_zh.into(),
                category: item.category.into(),
            })
            .collect();
    }

    pub fn choose_service(&mut self, code: &str) {
        let name = self
            .services
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.to_string())
            .unwrap_or_default();
        self.item_code = Some(code.to_owned());
        self.receipt_number = None;
        self.show_levels(name);
    }

    /// A number from the scanner or another page, shown as if typed, then looked up.
    pub fn enter(&mut self, text: &str) -> Option<ReceiptNumber> {
        self.typed_number.set(text.trim().to_owned());
        self.look_up(text)
    }

    /// A scan counts while the villager is still choosing what to rate.
    pub fn scanned(&mut self, code: &str) -> Option<ReceiptNumber> {
        if self.view == RatingView::Choose {
            self.enter(code)
        } else {
            None
        }
    }

    /// The number to look up, or what is wrong with the text.
    pub fn look_up(&mut self, text: &str) -> Option<ReceiptNumber> {
        match parse_number(text) {
            Ok(number) => {
                self.typed_number.set(number.to_string());
                self.lookup.set(RatingLookup::Searching);
                Some(number)
            }
            Err(problem) => {
                self.lookup.set(match problem {
                    NumberProblem::Empty => RatingLookup::Empty,
                    NumberProblem::Length => RatingLookup::Length,
                    NumberProblem::Character => RatingLookup::Character,
                    NumberProblem::Check => RatingLookup::Check,
                });
                None
            }
        }
    }

    /// What the store found for `number`.
    pub fn found(&mut self, number: ReceiptNumber, found: Result<Found, StoreError>) {
        match found {
            Ok(Found::Here {
                kind: SubmissionKind::Evaluation,
                ..
            }) => {
                // A rating's own receipt: rate nothing twice, choose instead.
                self.lookup.set(RatingLookup::NotHere);
            }
            Ok(Found::Here {
                item_code,
                item_name,
                ..
            }) => {
                self.item_code = item_code;
                self.receipt_number = Some(number.to_string());
                self.show_levels(item_name);
            }
            Ok(Found::NotHere) => self.lookup.set(RatingLookup::NotHere),
            Ok(Found::OtherBooth) => self.lookup.set(RatingLookup::OtherBooth),
            Err(err) => {
                tracing::warn!(%err, "cannot look up a receipt to rate");
                self.lookup.set(RatingLookup::Failed);
            }
        }
    }

    fn show_levels(&mut self, service_name: String) {
        self.service_name = service_name;
        self.choice_cleared.set(());
        self.submit_state.set(RatingSubmitState::Idle);
        self.lookup.set(RatingLookup::Idle);
        self.view = RatingView::Levels;
    }

    /// Back from the levels returns to the choice; from anywhere else it leaves (`true`).
    pub fn back(&mut self) -> bool {
        if self.view == RatingView::Levels {
            self.view = RatingView::Choose;
            false
        } else {
            true
        }
    }

    /// The evaluation to queue for the level, reason and remark chosen on screen, or why not.
    pub fn submit(&mut self, level: i32, reason: RatingReason, comment: &str) -> Option<Draft> {
        let Ok(rating @ 1..=5) = u8::try_from(level) else {
            self.submit_state.set(RatingSubmitState::NoLevel);
            return None;
        };
        let mut fields = BTreeMap::new();
        // A reason only belongs to 不满意/非常不满意; a level changed afterwards drops it.
        if rating <= 2
            && let Some(words) = reason_words(reason)
        {
            fields.insert(REASON_FIELD.to_owned(), words.to_owned());
        }
        if let Some(number) = &self.receipt_number {
            fields.insert(RECEIPT_FIELD.to_owned(), number.clone());
        }
        self.submit_state.set(RatingSubmitState::Sending);
        Some(Draft {
            kind: SubmissionKind::Evaluation,
            item_code: self.item_code.clone(),
            fields,
            text: (rating <= 2).then(|| comment.to_owned()),
            rating: Some(rating),
            name: None,
            id_number: None,
            address: None,
            contact_phone: None,
        })
    }

    /// The evaluation's own receipt number once queued, or `None` if it was not saved.
    pub fn submitted(&mut self, number: Option<String>) {
        match number {
            Some(number) => {
                self.thanks_number = number;
                self.submit_state.set(RatingSubmitState::Idle);
                self.view = RatingView::Done;
            }
            None => self.submit_state.set(RatingSubmitState::Failed),
        }
    }
}

impl Flow for Rating {
    type View = RatingPage;

    fn view(&self) -> RatingPage {
        RatingPage {
            services: self.services.clone(),
            view: self.view,
            service_name: self.service_name.clone(),
            receipt_number: self.receipt_number.clone().unwrap_or_default(),
            typed_number: self.typed_number.clone(),
            lookup: self.lookup.clone(),
            submit_state: self.submit_state.clone(),
            choice_cleared: self.choice_cleared.clone(),
            thanks_number: self.thanks_number.clone(),
        }
    }

    fn render(now: &RatingPage, before: Option<&RatingPage>, window: &MainWindow) {
        let adapter = window.global::<RatingAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.services, |s| adapter.set_services(model(s)));
        changes.write(
            |v| &v.typed_number,
            |t| adapter.set_typed_number(t.get().into()),
        );
        changes.write(|v| &v.service_name, |n| adapter.set_service_name(n.into()));
        changes.write(
            |v| &v.receipt_number,
            |n| adapter.set_receipt_number(n.into()),
        );
        changes.write(
            |v| &v.choice_cleared,
            |_| {
                adapter.set_level(0);
                adapter.set_reason(RatingReason::None);
                adapter.set_comment("".into());
            },
        );
        changes.write(|v| &v.submit_state, |s| adapter.set_submit_state(*s.get()));
        changes.write(|v| &v.lookup, |l| adapter.set_lookup(*l.get()));
        changes.write(
            |v| &v.thanks_number,
            |n| adapter.set_thanks_number(n.into()),
        );
        changes.write(|v| &v.view, |&view| adapter.set_view(view));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Rating>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    adapter.on_look_up(page.callback1(|ctx, page, text: SharedString| {
        ctx.note_session_data();
        let number = page.update(ctx, |rating| rating.look_up(&text));
        look_up(ctx, page, number);
    }));
    adapter.on_choose_service(page.callback1(|ctx, page, code: SharedString| {
        ctx.note_session_data();
        page.update(ctx, |rating| rating.choose_service(&code));
    }));
    adapter.on_submit(page.callback(submit));
    adapter.on_back(page.callback(|ctx, page| {
        if page.update(ctx, Rating::back) {
            ctx.show_page(Page::Home);
        }
    }));

    page.on_page_open(ctx, Page::Rating, |ctx, page| {
        page.update(ctx, Rating::start);
        load_services(ctx, page);
        let page = page.clone();
        ctx.capture_scans(move |ctx, code| scanned(ctx, &page, &code));
    });
    // A catalogue that arrives while the page is open shows at once.
    page.on_sync_event(ctx, |ctx, page, event| {
        let on_rating = ctx.current_page() == Page::Rating;
        if on_rating
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load_services(ctx, page);
        }
    });
    page.reset_on_session_end(ctx);
}

/// Opens this page to rate the service of `number` (the progress page's "rate this"), as if
/// the number had been typed here.
pub fn rate_receipt(ctx: &Rc<Ctx>, number: &str) {
    ctx.show_page(Page::Rating);
    ctx.note_session_data();
    let page = Bound::<Rating>::of(ctx);
    let number = page.update(ctx, |rating| rating.enter(number));
    look_up(ctx, &page, number);
}

fn scanned(ctx: &Rc<Ctx>, page: &Bound<Rating>, code: &str) {
    if ctx.current_page() != Page::Rating {
        // Left over from an earlier visit (there is no page-close hook): give the scanner back
        // and let the scan go where an unclaimed one goes.
        ctx.release_scanner();
        ctx.scanned(code.to_owned());
        return;
    }
    let number = page.update(ctx, |rating| rating.scanned(code));
    look_up(ctx, page, number);
}

fn load_services(ctx: &Rc<Ctx>, page: &Bound<Rating>) {
    page.background(
        ctx,
        |services| services.with_store(|store| store.catalog_items()),
        |ctx, page, items| {
            let items = items.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot read the catalogue");
                Vec::new()
            });
            page.update(ctx, |rating| rating.services_loaded(items));
        },
    );
}

/// Looks `number` (if the text was one) up in the background.
fn look_up(ctx: &Rc<Ctx>, page: &Bound<Rating>, number: Option<ReceiptNumber>) {
    let Some(number) = number else { return };
    page.background(
        ctx,
        move |services| find(services, number),
        move |ctx, page, found| page.update(ctx, |rating| rating.found(number, found)),
    );
}

fn find(services: &Services, number: ReceiptNumber) -> Result<Found, StoreError> {
    services.with_store(|store| {
        let Some(receipt) = store.receipt(&number.to_string())? else {
            let ours = store
                .identity()?
                .is_none_or(|identity| identity.kiosk_number == number.kiosk());
            return Ok(if ours {
                Found::NotHere
            } else {
                Found::OtherBooth
            });
        };
        let item_name = match &receipt.item_code {
            Some(code) => store
                .catalog_item(code)?
                .map(|item| item.name_zh)
                .unwrap_or_default(),
            None => String::new(),
        };
        Ok(Found::Here {
            item_code: receipt.item_code,
            item_name,
            kind: receipt.kind,
        })
    })
}

/// Queues the evaluation and thanks with its receipt number.
fn submit(ctx: &Rc<Ctx>, page: &Bound<Rating>) {
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    let (level, reason, comment) = (
        adapter.get_level(),
        adapter.get_reason(),
        adapter.get_comment(),
    );
    let Some(draft) = page.update(ctx, |rating| rating.submit(level, reason, &comment)) else {
        return;
    };
    page.background(
        ctx,
        move |services| {
            let receipt = services.with_store(|store| {
                let item = match &draft.item_code {
                    Some(code) => store.catalog_item(code)?,
                    None => None,
                };
                // An item no longer in the catalogue (withdrawn since the receipt) is still
                // rated; the server knows it.
                let lookup = match (&draft.item_code, &item) {
                    (None, _) => ItemLookup::NoItem,
                    (Some(_), Some(item)) => ItemLookup::Found(item),
                    (Some(_), None) => ItemLookup::CatalogNotLoaded,
                };
                let new = prepare(draft.clone(), lookup).map_err(RateError::Draft)?;
                store.submit(new).map_err(RateError::Store)
            });
            if receipt.is_ok() {
                services.wake_sync();
            }
            receipt.map(|r| r.number.to_string())
        },
        |ctx, page, saved| {
            let number = match saved {
                Ok(number) => {
                    tracing::info!(receipt = %number, "evaluation queued");
                    Some(number)
                }
                Err(err) => {
                    tracing::warn!(%err, "evaluation not saved");
                    None
                }
            };
            page.update(ctx, |rating| rating.submitted(number));
        },
    );
}

#[derive(Debug, thiserror::Error)]
enum RateError {
    #[error(transparent)]
    Draft(kiosk_core::submit::DraftError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RateError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::samples;

    fn on_levels_for(code: &str) -> Rating {
        let mut rating = Rating::default();
        rating.start();
        rating.services_loaded(samples::catalogue());
        rating.choose_service(code);
        rating
    }

    #[test]
    fn a_chosen_service_is_rated_on_five_levels_with_a_reason_below_three() {
        let mut rating = on_levels_for("GX-MZ-003");
        let view = rating.view();
        assert_eq!(view.view, RatingView::Levels);
        assert_eq!(view.service_name, "高龄津贴申领");

        assert!(rating.submit(0, RatingReason::None, "").is_none());
        assert_eq!(
            *rating.view().submit_state.get(),
            RatingSubmitState::NoLevel
        );

        let draft = rating
            .submit(2, RatingReason::LongWait, "排队一个多小时")
            .expect("a level");
        assert_eq!(draft.rating, Some(2));
        assert_eq!(draft.item_code.as_deref(), Some("GX-MZ-003"));
        assert_eq!(
            draft.fields.get(REASON_FIELD).map(String::as_str),
            Some("等待时间长")
        );
        assert_eq!(draft.text.as_deref(), Some("排队一个多小时"));
        assert!(!draft.fields.contains_key(RECEIPT_FIELD));
        assert_eq!(
            *rating.view().submit_state.get(),
            RatingSubmitState::Sending
        );

        rating.submitted(Some("K0012-000043-5".into()));
        let view = rating.view();
        assert_eq!(view.view, RatingView::Done);
        assert_eq!(view.thanks_number, "K0012-000043-5");
    }

    #[test]
    fn a_satisfied_rating_carries_no_reason_or_remark() {
        let mut rating = on_levels_for("GX-MZ-003");
        let draft = rating
            .submit(4, RatingReason::LongWait, "left over")
            .expect("a level");
        assert!(draft.fields.is_empty());
        assert!(draft.text.is_none());
    }

    #[test]
    fn a_failed_save_stays_on_the_levels_and_says_so() {
        let mut rating = on_levels_for("GX-MZ-003");
        rating.submit(5, RatingReason::None, "").expect("a level");
        rating.submitted(None);
        let view = rating.view();
        assert_eq!(view.view, RatingView::Levels);
        assert_eq!(*view.submit_state.get(), RatingSubmitState::Failed);
    }

    #[test]
    fn a_receipt_found_here_is_rated_with_its_number() {
        let mut rating = Rating::default();
        rating.start();
        assert!(rating.look_up("").is_none());
        assert_eq!(*rating.view().lookup.get(), RatingLookup::Empty);
        let number = ReceiptNumber::new(7, 42);
        let text = number.to_string();
        assert_eq!(rating.look_up(&text), Some(number));
        assert_eq!(*rating.view().lookup.get(), RatingLookup::Searching);
        rating.found(
            number,
            Ok(Found::Here {
                item_code: Some("GX-GA-001".into()),
                item_name: "户籍证明开具".into(),
                kind: SubmissionKind::Application,
            }),
        );
        let view = rating.view();
        assert_eq!(view.view, RatingView::Levels);
        assert_eq!(view.receipt_number, text);
        let draft = rating.submit(5, RatingReason::None, "").expect("a level");
        assert_eq!(
            draft.fields.get(RECEIPT_FIELD).map(String::as_str),
            Some(text.as_str())
        );
    }

    #[test]
    fn an_evaluation_or_a_missing_receipt_is_not_rated() {
        let number = ReceiptNumber::new(7, 42);
        let mut rating = Rating::default();
        rating.look_up(&number.to_string());
        rating.found(
            number,
            Ok(Found::Here {
                item_code: None,
                item_name: String::new(),
                kind: SubmissionKind::Evaluation,
            }),
        );
        assert_eq!(rating.view().view, RatingView::Choose);
        assert_eq!(*rating.view().lookup.get(), RatingLookup::NotHere);
        rating.found(number, Ok(Found::OtherBooth));
        assert_eq!(*rating.view().lookup.get(), RatingLookup::OtherBooth);
    }

    #[test]
    fn the_same_message_again_is_shown_again() {
        let mut rating = Rating::default();
        rating.look_up("");
        let first = rating.view();
        rating.look_up("");
        assert_ne!(
            rating.view(),
            first,
            "an edit may have cleared it on screen: written again"
        );
    }

    #[test]
    fn scans_count_only_while_choosing_and_back_returns_there() {
        let mut rating = on_levels_for("GX-MZ-003");
        let number = ReceiptNumber::new(7, 42).to_string();
        assert!(rating.scanned(&number).is_none());
        assert!(!rating.back(), "back to the choice");
        assert_eq!(rating.view().view, RatingView::Choose);
        assert!(rating.scanned(&format!(" {number} ")).is_some());
        assert_eq!(*rating.view().typed_number.get(), number);
        assert!(rating.back(), "from the choice, Home");
    }
}
