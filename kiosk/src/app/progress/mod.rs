//! Check progress (进度查询): a receipt found by its scanned QR code, its typed number, or the
//! ID card that handed it in, with its status history and, for a correction, what to bring;
//! its paper receipt can be printed again.
//!
//! Scans anywhere without a page of their own open this page for the scanned receipt.

mod view;

use std::cell::RefCell;
use std::rc::Rc;

use hardware::id_card::Card;
use slint::{ComponentHandle, ModelRc, VecModel};
use sync_protocol::feed::{CatalogItem, Feed};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::SubmissionKind;
use ui::{
    AppState, Page, PrintState, ProgressAdapter, ProgressCardState, ProgressLookup,
    ProgressNumberProblem, ProgressReceiptRow, ProgressView,
};

use super::context::Ctx;
use super::devices::{CardEvent, CardProblem};
use super::services::Services;
use crate::receipt_paper::{self, PrintedReceipt};
use crate::store::{self, LocalReceipt, StatusEntry, StoreError};
use crate::sync::SyncEvent;

pub use view::{NumberProblem, parse_number};

/// The receipt on screen, kept for reprinting and refreshing.
#[derive(Debug, Default)]
struct Shown {
    receipt: Option<LocalReceipt>,
    item: Option<CatalogItem>,
    /// Opened from the card's list: Back returns there.
    from_list: bool,
}

type State = Rc<RefCell<Shown>>;

/// What looking a number up found.
enum Found {
    Here(Box<Detail>),
    /// Issued by this booth's kiosk number but not in its store (a re-installed booth).
    NotHere,
    /// Another booth's kiosk number.
    OtherBooth,
}

struct Detail {
    receipt: LocalReceipt,
    history: Vec<StatusEntry>,
    item: Option<CatalogItem>,
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let state: State = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();

    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_look_up(move |text| {
        if let Some(ctx) = weak.upgrade() {
            ctx.note_session_data();
            look_up(&ctx, &shown, &text);
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_use_card(move || {
        if let Some(ctx) = weak.upgrade() {
            start_card(&ctx);
        }
    });
    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_open_receipt(move |number| {
        if let Some(ctx) = weak.upgrade() {
            open_detail(&ctx, &shown, &number, true);
        }
    });
    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_reprint(move || {
        if let Some(ctx) = weak.upgrade() {
            reprint(&ctx, &shown.borrow());
        }
    });
    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_rate(move || {
        let Some(ctx) = weak.upgrade() else { return };
        let number = shown.borrow().receipt.as_ref().map(|r| r.number.clone());
        if let Some(number) = number {
            super::rating::rate_receipt(&ctx, &number);
        }
    });
    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            back(&ctx, &shown);
        }
    });

    // Each visit starts at the three ways in; this page's scans are its own.
    let shown = Rc::clone(&state);
    ctx.on_page_open(Page::Progress, move |ctx| {
        reset(ctx);
        let shown = Rc::clone(&shown);
        ctx.capture_scans(move |ctx, code| scanned_on_page(ctx, &shown, &code));
    });
    let shown = Rc::clone(&state);
    ctx.set_default_scan_handler(move |ctx, code| {
        show_scanned(ctx, &shown, &code);
    });
    // A status that arrives while its receipt is on screen shows at once.
    let shown = Rc::clone(&state);
    ctx.on_sync_event(move |ctx, event| {
        let relevant = matches!(
            event,
            SyncEvent::FeedPulled {
                feed: Feed::Statuses,
                ..
            } | SyncEvent::Uploaded { .. }
        );
        let window = ctx.window();
        let adapter = window.global::<ProgressAdapter>();
        let on_detail = window.global::<AppState>().get_current_page() == Page::Progress
            && adapter.get_view() == ProgressView::Detail;
        if relevant && on_detail {
            let number = adapter.get_number();
            refresh_detail(ctx, &shown, &number);
        }
    });
    let shown = Rc::clone(&state);
    ctx.on_session_end(move |ctx| {
        *shown.borrow_mut() = Shown::default();
        reset(ctx);
    });
}

/// A code scanned where no page captured the scanner: a receipt number opens this page for it;
/// other codes are left alone (they are not the villager's receipt).
fn show_scanned(ctx: &Rc<Ctx>, shown: &State, code: &str) {
    if parse_number(code).is_err() {
        tracing::info!("a scanned code is not a receipt number: ignored outside the progress page");
        return;
    }
    if ctx.window().global::<AppState>().get_current_page() != Page::Progress {
        ctx.show_page(Page::Progress);
    }
    look_up(ctx, shown, code);
}

/// A scan while this page is open: looked up like a typed number, so a code that is not a
/// receipt's gets the same plain message.
fn scanned_on_page(ctx: &Rc<Ctx>, shown: &State, code: &str) {
    if ctx.window().global::<AppState>().get_current_page() != Page::Progress {
        // Left over from an earlier visit (there is no page-close hook): give the scanner back
        // and let the scan go where an unclaimed one goes.
        ctx.release_scanner();
        show_scanned(ctx, shown, code);
        return;
    }
    look_up(ctx, shown, code);
}

fn reset(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    if adapter.get_view() == ProgressView::Card {
        ctx.stop_reading_cards();
    }
    adapter.set_view(ProgressView::Start);
    adapter.set_typed_number("".into());
    adapter.set_number_problem(ProgressNumberProblem::None);
    adapter.set_lookup(ProgressLookup::Idle);
    adapter.set_card_state(ProgressCardState::Waiting);
    adapter.set_masked_id("".into());
    adapter.set_receipts(ModelRc::default());
    clear_detail(&adapter);
}

fn clear_detail(adapter: &ProgressAdapter<'_>) {
    adapter.set_number("".into());
    adapter.set_item_name("".into());
    adapter.set_submitted_at("".into());
    adapter.set_status_note("".into());
    adapter.set_office_phone("".into());
    adapter.set_history(ModelRc::default());
    adapter.set_print_state(PrintState::Idle);
}

fn back(ctx: &Rc<Ctx>, shown: &State) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    match adapter.get_view() {
        ProgressView::Detail if shown.borrow().from_list => {
            adapter.set_view(ProgressView::Card);
        }
        ProgressView::Detail => {
            adapter.set_view(ProgressView::Start);
        }
        ProgressView::Card => {
            ctx.stop_reading_cards();
            adapter.set_view(ProgressView::Start);
        }
        ProgressView::Start => ctx.show_page(Page::Home),
    }
    if adapter.get_view() != ProgressView::Detail {
        *shown.borrow_mut() = Shown {
            from_list: false,
            ..Shown::default()
        };
        clear_detail(&adapter);
    }
}

/// A typed or scanned number: refused with the reason, or looked up.
fn look_up(ctx: &Rc<Ctx>, shown: &State, text: &str) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    if adapter.get_view() == ProgressView::Card {
        ctx.stop_reading_cards();
    }
    adapter.set_view(ProgressView::Start);
    adapter.set_typed_number(text.trim().into());
    adapter.set_lookup(ProgressLookup::Idle);
    match parse_number(text) {
        Err(problem) => adapter.set_number_problem(problem.into()),
        Ok(number) => {
            adapter.set_number_problem(ProgressNumberProblem::None);
            // Shown normalised, so a scanned or lower-case number reads as on paper.
            adapter.set_typed_number(number.to_string().into());
            open_detail(ctx, shown, &number.to_string(), false);
        }
    }
}

/// Loads the receipt and shows it; a number this booth does not hold says so on the start view.
fn open_detail(ctx: &Rc<Ctx>, shown: &State, number: &str, from_list: bool) {
    let Ok(parsed) = number.parse::<ReceiptNumber>() else {
        return;
    };
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    if !from_list {
        adapter.set_lookup(ProgressLookup::Searching);
    }
    let shown = Rc::clone(shown);
    ctx.background(
        move |services| find(services, parsed),
        move |ctx, found| {
            let window = ctx.window();
            let adapter = window.global::<ProgressAdapter>();
            match found {
                Ok(Found::Here(detail)) => {
                    adapter.set_lookup(ProgressLookup::Idle);
                    show_detail(ctx, &shown, *detail, from_list);
                }
                Ok(Found::NotHere) => adapter.set_lookup(ProgressLookup::NotHere),
                Ok(Found::OtherBooth) => adapter.set_lookup(ProgressLookup::OtherBooth),
                Err(err) => {
                    tracing::warn!(%err, "cannot look up a receipt");
                    adapter.set_lookup(ProgressLookup::Failed);
                }
            }
        },
    );
}

/// Reloads the shown receipt after a sync, keeping where Back leads.
fn refresh_detail(ctx: &Rc<Ctx>, shown: &State, number: &str) {
    let Ok(parsed) = number.parse::<ReceiptNumber>() else {
        return;
    };
    let shown = Rc::clone(shown);
    ctx.background(
        move |services| find(services, parsed),
        move |ctx, found| {
            let window = ctx.window();
            let adapter = window.global::<ProgressAdapter>();
            // Only if the villager is still looking at the same receipt.
            if adapter.get_view() != ProgressView::Detail
                || adapter.get_number() != parsed.to_string().as_str()
            {
                return;
            }
            if let Ok(Found::Here(detail)) = found {
                let from_list = shown.borrow().from_list;
                let print_state = adapter.get_print_state();
                show_detail(ctx, &shown, *detail, from_list);
                adapter.set_print_state(print_state);
            }
        },
    );
}

fn find(services: &Services, number: ReceiptNumber) -> Result<Found, StoreError> {
    services.with_store(|store| {
        let text = number.to_string();
        let Some(receipt) = store.receipt(&text)? else {
            let ours = store
                .identity()?
                .is_none_or(|identity| identity.kiosk_number == number.kiosk());
            return Ok(if ours {
                Found::NotHere
            } else {
                Found::OtherBooth
            });
        };
        let history = store.status_history(&text)?;
        let item = match &receipt.item_code {
            Some(code) => store.catalog_item(code)?,
            None => None,
        };
        Ok(Found::Here(Box::new(Detail {
            receipt,
            history,
            item,
        })))
    })
}

fn show_detail(ctx: &Rc<Ctx>, shown: &State, detail: Detail, from_list: bool) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    let Detail {
        receipt,
        history,
        item,
    } = detail;
    adapter.set_number(receipt.number.clone().into());
    adapter.set_item_name(view::item_name(item.as_ref()).into());
    adapter.set_kind(view::kind(receipt.kind));
    adapter.set_submitted_at(view::date_text(receipt.created_at).into());
    adapter.set_status(view::current_status(&receipt));
    adapter.set_status_note(receipt.status_note.clone().unwrap_or_default().into());
    adapter.set_office_phone(
        item.as_ref()
            .map(|i| i.office.phone.clone())
            .unwrap_or_default()
            .into(),
    );
    adapter.set_history(ModelRc::new(VecModel::from(view::history_rows(
        &receipt, &history,
    ))));
    adapter.set_can_rate(receipt.kind != SubmissionKind::Evaluation);
    adapter.set_print_state(PrintState::Idle);
    adapter.set_view(ProgressView::Detail);
    *shown.borrow_mut() = Shown {
        receipt: Some(receipt),
        item,
        from_list,
    };
}

/// "Place your ID card": reads one card and lists what it handed in on this booth.
fn start_card(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    adapter.set_view(ProgressView::Card);
    adapter.set_masked_id("".into());
    adapter.set_receipts(ModelRc::default());
    if !ctx.services.devices().has_reader() {
        adapter.set_card_state(ProgressCardState::ReaderUnavailable);
        return;
    }
    adapter.set_card_state(ProgressCardState::Waiting);
    ctx.note_session_data();
    ctx.read_cards(card_event);
}

fn card_event(ctx: &Rc<Ctx>, event: CardEvent) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    let waiting = window.global::<AppState>().get_current_page() == Page::Progress
        && adapter.get_view() == ProgressView::Card;
    if !waiting {
        // Armed by an earlier visit: a card nobody here asked for is not read.
        ctx.stop_reading_cards();
        return;
    }
    match event {
        CardEvent::Read(card) => {
            // One card per look-up; the booth keeps no card data nobody asked for.
            ctx.stop_reading_cards();
            list_for_card(ctx, &card);
        }
        CardEvent::Failed(problem) => adapter.set_card_state(match problem {
            CardProblem::HoldStill => ProgressCardState::HoldStill,
            CardProblem::Unreadable => ProgressCardState::Unreadable,
            CardProblem::ReaderUnavailable => ProgressCardState::ReaderUnavailable,
        }),
        CardEvent::Removed => {}
    }
}

fn list_for_card(ctx: &Rc<Ctx>, card: &Card) {
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    adapter.set_card_state(ProgressCardState::Searching);
    adapter.set_masked_id(card.id_number().masked().into());
    // The full number only goes to the store, which keys it; it is never shown or logged.
    let id_number = card.id_number().expose().to_owned();
    ctx.background(
        move |services| {
            services.with_store(|store| {
                let receipts = store.receipts_for_holder(&id_number)?;
                let mut rows = Vec::with_capacity(receipts.len());
                for receipt in receipts {
                    let item = match &receipt.item_code {
                        Some(code) => store.catalog_item(code)?,
                        None => None,
                    };
                    rows.push((receipt, view::item_name(item.as_ref())));
                }
                Ok::<_, store::StoreError>(rows)
            })
        },
        |ctx, listed| {
            let window = ctx.window();
            let adapter = window.global::<ProgressAdapter>();
            match listed {
                Ok(rows) => {
                    let rows: Vec<ProgressReceiptRow> = rows
                        .into_iter()
                        .map(|(receipt, item_name)| ProgressReceiptRow {
                            number: receipt.number.clone().into(),
                            item_name: item_name.into(),
                            kind: view::kind(receipt.kind),
                            date: view::date_text(receipt.created_at).into(),
                            status: view::current_status(&receipt),
                        })
                        .collect();
                    adapter.set_receipts(ModelRc::new(VecModel::from(rows)));
                    adapter.set_card_state(ProgressCardState::Listed);
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot list a card's receipts");
                    adapter.set_card_state(ProgressCardState::Failed);
                }
            }
        },
    );
}

/// Prints the shown receipt again, as it was printed at submit time.
fn reprint(ctx: &Rc<Ctx>, shown: &Shown) {
    let Some(receipt) = shown.receipt.clone() else {
        return;
    };
    let item = shown.item.clone();
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    adapter.set_print_state(PrintState::Printing);
    ctx.background(
        move |services| {
            let booth = services
                .with_store(|store| store.identity())
                .ok()
                .flatten()
                .map(|identity| identity.village.village)
                .unwrap_or_default();
            let Ok(number) = receipt.number.parse::<ReceiptNumber>() else {
                return Err(None);
            };
            let stored = store::Receipt {
                id: receipt.submission_id,
                seq: number.seq(),
                number,
                created_at: receipt.created_at,
                masked_id: receipt.masked_id.clone(),
            };
            let paper = PrintedReceipt {
                booth,
                kind: receipt.kind,
                item: item.as_ref(),
                item_code: receipt.item_code.as_deref(),
                receipt: &stored,
            };
            services
                .devices()
                .print(&receipt_paper::document(&paper))
                .map(|_| ())
                .map_err(Some)
        },
        |ctx, printed| {
            let window = ctx.window();
            let adapter = window.global::<ProgressAdapter>();
            adapter.set_print_state(match printed {
                Ok(()) => PrintState::Printed,
                Err(Some(err)) if err.is_paper_out() => {
                    tracing::warn!(%err, "receipt not reprinted");
                    PrintState::PaperOut
                }
                Err(err) => {
                    if let Some(err) = err {
                        tracing::warn!(%err, "receipt not reprinted");
                    }
                    PrintState::Failed
                }
            });
        },
    );
}
