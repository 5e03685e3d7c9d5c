//! Rate a service (服务评价): a receipt (scanned, typed, or "rate this" on its progress page) or
//! a service from the catalogue, five levels, and for 不满意/非常不满意 a reason from a list
//! plus optional text. Entirely voluntary: nothing else asks for it, and no identity is taken.
//!
//! The evaluation is an ordinary submission (kind `evaluation`, rating 1..=5) queued in the
//! store and synced; its fields carry the reason (in the county's words, Chinese) and the rated
//! receipt's number.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use slint::{ComponentHandle, Model, ModelRc, VecModel};
use sync_protocol::feed::{CatalogItem, Feed};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::SubmissionKind;
use ui::{
    AppState, Page, RatingAdapter, RatingLookup, RatingReason, RatingService, RatingSubmitState,
    RatingView,
};

use super::context::Ctx;
use super::progress::{NumberProblem, parse_number};
use super::services::Services;
use crate::submit::{Draft, ItemLookup, prepare};
use crate::sync::SyncEvent;

/// The form field that names why the villager was not satisfied.
pub const REASON_FIELD: &str = "reason";
/// The form field that names the rated receipt.
pub const RECEIPT_FIELD: &str = "receipt_number";

/// What is being rated.
#[derive(Debug, Default, Clone)]
struct Target {
    item_code: Option<String>,
    receipt_number: Option<String>,
}

type State = Rc<RefCell<Target>>;

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
enum Found {
    Here {
        item_code: Option<String>,
        item_name: String,
        kind: SubmissionKind,
    },
    NotHere,
    OtherBooth,
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let state: State = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();

    let (weak, target) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_look_up(move |text| {
        if let Some(ctx) = weak.upgrade() {
            ctx.note_session_data();
            look_up(&ctx, &target, &text);
        }
    });
    let (weak, target) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_choose_service(move |code| {
        let Some(ctx) = weak.upgrade() else { return };
        ctx.note_session_data();
        let window = ctx.window();
        let adapter = window.global::<RatingAdapter>();
        let name = adapter
            .get_services()
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.to_string())
            .unwrap_or_default();
        *target.borrow_mut() = Target {
            item_code: Some(code.to_string()),
            receipt_number: None,
        };
        show_levels(&adapter, &name, "");
    });
    let (weak, target) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_submit(move || {
        if let Some(ctx) = weak.upgrade() {
            submit(&ctx, &target.borrow());
        }
    });

    let target = Rc::clone(&state);
    ctx.on_page_open(Page::Rating, move |ctx| {
        *target.borrow_mut() = Target::default();
        reset(ctx);
        load_services(ctx);
        let target = Rc::clone(&target);
        ctx.capture_scans(move |ctx, code| scanned(ctx, &target, &code));
    });
    // A catalogue that arrives while the page is open shows at once.
    ctx.on_sync_event(|ctx, event| {
        let on_rating = ctx.window().global::<AppState>().get_current_page() == Page::Rating;
        if on_rating
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load_services(ctx);
        }
    });
    let target = Rc::clone(&state);
    ctx.on_session_end(move |ctx| {
        *target.borrow_mut() = Target::default();
        reset(ctx);
        let window = ctx.window();
        window
            .global::<RatingAdapter>()
            .set_services(ModelRc::default());
    });
}

/// Opens this page to rate the service of `number` (the progress page's "rate this"), as if
/// the number had been typed here.
pub fn rate_receipt(ctx: &Rc<Ctx>, number: &str) {
    ctx.show_page(Page::Rating);
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    adapter.set_typed_number(number.into());
    adapter.invoke_look_up(number.into());
}

fn scanned(ctx: &Rc<Ctx>, target: &State, code: &str) {
    let window = ctx.window();
    if window.global::<AppState>().get_current_page() != Page::Rating {
        // Left over from an earlier visit (there is no page-close hook): give the scanner back
        // and let the scan go where an unclaimed one goes.
        ctx.release_scanner();
        ctx.scanned(code.to_owned());
        return;
    }
    let adapter = window.global::<RatingAdapter>();
    if adapter.get_view() == RatingView::Choose {
        adapter.set_typed_number(code.trim().into());
        look_up(ctx, target, code);
    }
}

fn reset(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    adapter.set_view(RatingView::Choose);
    adapter.set_typed_number("".into());
    adapter.set_lookup(RatingLookup::Idle);
    adapter.set_service_name("".into());
    adapter.set_receipt_number("".into());
    adapter.set_level(0);
    adapter.set_reason(RatingReason::None);
    adapter.set_comment("".into());
    adapter.set_submit_state(RatingSubmitState::Idle);
    adapter.set_thanks_number("".into());
}

fn show_levels(adapter: &RatingAdapter<'_>, service_name: &str, receipt_number: &str) {
    adapter.set_service_name(service_name.into());
    adapter.set_receipt_number(receipt_number.into());
    adapter.set_level(0);
    adapter.set_reason(RatingReason::None);
    adapter.set_comment("".into());
    adapter.set_submit_state(RatingSubmitState::Idle);
    adapter.set_lookup(RatingLookup::Idle);
    adapter.set_view(RatingView::Levels);
}

/// The catalogue's services, by category then name, to choose from.
fn load_services(ctx: &Rc<Ctx>) {
    ctx.background(
        |services| services.with_store(|store| store.catalog_items()),
        |ctx, items| {
            let mut items: Vec<CatalogItem> = items.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot read the catalogue");
                Vec::new()
            });
            items.sort_by(|a, b| (&a.category, &a.code).cmp(&(&b.category, &b.code)));
            let rows: Vec<RatingService> = items
                .into_iter()
                .map(|item| RatingService {
                    code: item.code.into(),
                    name: item.name_zh.into(),
                    category: item.category.into(),
                })
                .collect();
            let window = ctx.window();
            window
                .global::<RatingAdapter>()
                .set_services(ModelRc::new(VecModel::from(rows)));
        },
    );
}

fn look_up(ctx: &Rc<Ctx>, target: &State, text: &str) {
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    let number = match parse_number(text) {
        Ok(number) => number,
        Err(problem) => {
            adapter.set_lookup(match problem {
                NumberProblem::Empty => RatingLookup::Empty,
                NumberProblem::Length => RatingLookup::Length,
                NumberProblem::Character => RatingLookup::Character,
                NumberProblem::Check => RatingLookup::Check,
            });
            return;
        }
    };
    adapter.set_typed_number(number.to_string().into());
    adapter.set_lookup(RatingLookup::Searching);
    let target = Rc::clone(target);
    ctx.background(
        move |services| find(services, number),
        move |ctx, found| {
            let window = ctx.window();
            let adapter = window.global::<RatingAdapter>();
            match found {
                Ok(Found::Here {
                    item_code,
                    item_name,
                    kind,
                }) => {
                    if kind == SubmissionKind::Evaluation {
                        // A rating's own receipt: rate nothing twice, choose instead.
                        adapter.set_lookup(RatingLookup::NotHere);
                        return;
                    }
                    *target.borrow_mut() = Target {
                        item_code,
                        receipt_number: Some(number.to_string()),
                    };
                    show_levels(&adapter, &item_name, &number.to_string());
                }
                Ok(Found::NotHere) => adapter.set_lookup(RatingLookup::NotHere),
                Ok(Found::OtherBooth) => adapter.set_lookup(RatingLookup::OtherBooth),
                Err(err) => {
                    tracing::warn!(%err, "cannot look up a receipt to rate");
                    adapter.set_lookup(RatingLookup::Failed);
                }
            }
        },
    );
}

fn find(services: &Services, number: ReceiptNumber) -> Result<Found, crate::store::StoreError> {
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
fn submit(ctx: &Rc<Ctx>, target: &Target) {
    let window = ctx.window();
    let adapter = window.global::<RatingAdapter>();
    let Ok(rating @ 1..=5) = u8::try_from(adapter.get_level()) else {
        adapter.set_submit_state(RatingSubmitState::NoLevel);
        return;
    };
    let mut fields = BTreeMap::new();
    // A reason only belongs to 不满意/非常不满意; a level changed afterwards drops it.
    if rating <= 2
        && let Some(words) = reason_words(adapter.get_reason())
    {
        fields.insert(REASON_FIELD.to_owned(), words.to_owned());
    }
    if let Some(number) = &target.receipt_number {
        fields.insert(RECEIPT_FIELD.to_owned(), number.clone());
    }
    let comment = (rating <= 2).then(|| adapter.get_comment().to_string());
    let draft = Draft {
        kind: SubmissionKind::Evaluation,
        item_code: target.item_code.clone(),
        fields,
        text: comment,
        rating: Some(rating),
        name: None,
        id_number: None,
        address: None,
        contact_phone: None,
    };
    adapter.set_submit_state(RatingSubmitState::Sending);
    ctx.background(
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
        |ctx, saved| {
            let window = ctx.window();
            let adapter = window.global::<RatingAdapter>();
            match saved {
                Ok(number) => {
                    tracing::info!(receipt = %number, "evaluation queued");
                    adapter.set_thanks_number(number.into());
                    adapter.set_submit_state(RatingSubmitState::Idle);
                    adapter.set_view(RatingView::Done);
                }
                Err(err) => {
                    tracing::warn!(%err, "evaluation not saved");
                    adapter.set_submit_state(RatingSubmitState::Failed);
                }
            }
        },
    );
}

#[derive(Debug, thiserror::Error)]
enum RateError {
    #[error(transparent)]
    Draft(crate::submit::DraftError),
    #[error(transparent)]
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for RateError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::Store(err)
    }
}
