//! Check progress (进度查询): a receipt found by its scanned QR code, its typed number, or the
//! ID card that handed it in, with its status history and, for a correction, what to bring;
//! its paper receipt can be printed again.
//!
//! Scans anywhere without a page of their own open this page for the scanned receipt.

mod flow;
mod view;

use std::rc::Rc;

use hardware::id_card::Card;
use slint::{ComponentHandle, SharedString};
use sync_protocol::feed::Feed;
use sync_protocol::receipt::ReceiptNumber;
use ui::{Page, PrintState, ProgressAdapter};

use super::bind::Bound;
use super::context::Ctx;
use super::devices::CardEvent;
use super::printed::print_state;
use super::services::Services;
pub use flow::Correction;
use flow::{Detail, Found, Progress};
use kiosk_core::receipt_paper::{self, PrintedReceipt};
use kiosk_core::store::{self, StoreError};
use kiosk_core::sync::SyncEvent;

pub use view::{NumberProblem, parse_number};

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Progress>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<ProgressAdapter>();
    adapter.on_look_up(page.callback1(|ctx, page, text: SharedString| {
        ctx.note_session_data();
        look_up(ctx, page, &text);
    }));
    adapter.on_use_card(page.callback(start_card));
    adapter.on_open_receipt(page.callback1(|ctx, page, number: SharedString| {
        let Ok(number) = number.parse::<ReceiptNumber>() else {
            return;
        };
        open_detail(ctx, page, number, true);
    }));
    adapter.on_reprint(page.callback(reprint));
    adapter.on_photograph_correction(page.callback(|ctx, page| {
        if let Some(correction) = page.read(flow::Progress::correction) {
            super::apply::photograph_correction(ctx, correction);
        }
    }));
    adapter.on_rate(page.callback(|ctx, page| {
        if let Some(number) = page.read(Progress::shown_number) {
            super::rating::rate_receipt(ctx, &number);
        }
    }));
    adapter.on_back(page.callback(|ctx, page| {
        if change(ctx, page, Progress::back) {
            ctx.show_page(Page::Home);
        }
    }));

    // Each visit starts at the three ways in; this page's scans are its own.
    page.on_page_open(ctx, Page::Progress, |ctx, page| {
        let has_camera = ctx.services.devices().has_camera();
        change(ctx, page, |progress| {
            progress.start();
            progress.set_camera(has_camera);
        });
        let page = page.clone();
        ctx.capture_scans(move |ctx, code| scanned_on_page(ctx, &page, &code));
    });
    let default = page.clone();
    ctx.set_default_scan_handler(move |ctx, code| show_scanned(ctx, &default, &code));
    // A status that arrives while its receipt is on screen shows at once.
    page.on_sync_event(ctx, |ctx, page, event| {
        let relevant = matches!(
            event,
            SyncEvent::FeedPulled {
                feed: Feed::Statuses,
                ..
            } | SyncEvent::Uploaded { .. }
        );
        let on_page = ctx.current_page() == Page::Progress;
        if relevant
            && on_page
            && let Some(number) = page.read(Progress::detail_number)
        {
            refresh_detail(ctx, page, number);
        }
    });
    page.reset_on_session_end(ctx);
}

/// Changes the flow; leaving the card view stops the reader.
fn change<R>(ctx: &Rc<Ctx>, page: &Bound<Progress>, change: impl FnOnce(&mut Progress) -> R) -> R {
    let was_waiting = page.read(Progress::waits_for_card);
    let result = page.update(ctx, change);
    if was_waiting && !page.read(Progress::waits_for_card) {
        ctx.stop_reading_cards();
    }
    result
}

/// A code scanned where no page captured the scanner: a receipt number opens this page for it;
/// other codes are left alone (they are not the villager's receipt).
fn show_scanned(ctx: &Rc<Ctx>, page: &Bound<Progress>, code: &str) {
    if parse_number(code).is_err() {
        tracing::info!("a scanned code is not a receipt number: ignored outside the progress page");
        return;
    }
    if ctx.current_page() != Page::Progress {
        ctx.show_page(Page::Progress);
    }
    look_up(ctx, page, code);
}

/// A scan while this page is open: looked up like a typed number, so a code that is not a
/// receipt's gets the same plain message.
fn scanned_on_page(ctx: &Rc<Ctx>, page: &Bound<Progress>, code: &str) {
    if ctx.current_page() != Page::Progress {
        // Left over from an earlier visit (there is no page-close hook): give the scanner back
        // and let the scan go where an unclaimed one goes.
        ctx.release_scanner();
        show_scanned(ctx, page, code);
        return;
    }
    look_up(ctx, page, code);
}

/// A typed or scanned number: refused with the reason, or looked up.
fn look_up(ctx: &Rc<Ctx>, page: &Bound<Progress>, text: &str) {
    if let Some(number) = change(ctx, page, |progress| progress.look_up(text)) {
        open_detail(ctx, page, number, false);
    }
}

/// Loads the receipt and shows it; a number this booth does not hold says so on the start view.
fn open_detail(ctx: &Rc<Ctx>, page: &Bound<Progress>, number: ReceiptNumber, from_list: bool) {
    page.background(
        ctx,
        move |services| find(services, number),
        move |ctx, page, found| page.update(ctx, |progress| progress.found(found, from_list)),
    );
}

/// Reloads the shown receipt after a sync, keeping where Back leads.
fn refresh_detail(ctx: &Rc<Ctx>, page: &Bound<Progress>, number: ReceiptNumber) {
    page.background(
        ctx,
        move |services| find(services, number),
        move |ctx, page, found| {
            if let Ok(Found::Here(detail)) = found {
                page.update(ctx, |progress| progress.refreshed(*detail));
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

/// "Place your ID card": reads one card and lists what it handed in on this booth.
fn start_card(ctx: &Rc<Ctx>, page: &Bound<Progress>) {
    let has_reader = ctx.services.devices().has_reader();
    if page.update(ctx, |progress| progress.start_card(has_reader)) {
        ctx.note_session_data();
        let page = page.clone();
        ctx.read_cards(move |ctx, event| card_event(ctx, &page, event));
    }
}

fn card_event(ctx: &Rc<Ctx>, page: &Bound<Progress>, event: CardEvent) {
    let waiting = ctx.current_page() == Page::Progress && page.read(Progress::waits_for_card);
    if !waiting {
        // Armed by an earlier visit: a card nobody here asked for is not read.
        ctx.stop_reading_cards();
        return;
    }
    match event {
        CardEvent::Read(card) => {
            // One card per look-up; the booth keeps no card data nobody asked for.
            ctx.stop_reading_cards();
            list_for_card(ctx, page, &card);
        }
        CardEvent::Failed(problem) => page.update(ctx, |progress| progress.card_failed(problem)),
        CardEvent::Removed => {}
    }
}

fn list_for_card(ctx: &Rc<Ctx>, page: &Bound<Progress>, card: &Card) {
    let masked = card.id_number().masked();
    page.update(ctx, |progress| progress.card_read(masked));
    // The full number only goes to the store, which keys it; it is never shown or logged.
    let id_number = card.id_number().expose().to_owned();
    page.background(
        ctx,
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
        |ctx, page, listed| page.update(ctx, |progress| progress.listed(listed)),
    );
}

/// Prints the shown receipt again, as it was printed at submit time.
fn reprint(ctx: &Rc<Ctx>, page: &Bound<Progress>) {
    let Some((receipt, item)) = page.update(ctx, Progress::reprint) else {
        return;
    };
    page.background(
        ctx,
        move |services| {
            let identity = services.with_store(|store| store.identity()).ok().flatten();
            let phone_upload = receipt.phone_upload_token.as_deref().and_then(|token| {
                services.phone_upload_link(identity.as_ref(), token, receipt.created_at)
            });
            let booth = identity
                .map(|identity| identity.village.village)
                .unwrap_or_default();
            let Ok(number) = receipt.number.parse::<ReceiptNumber>() else {
                return None;
            };
            let stored = store::Receipt {
                id: receipt.submission_id,
                seq: number.seq(),
                number,
                created_at: receipt.created_at,
                masked_id: receipt.masked_id.clone(),
                phone_upload_token: receipt.phone_upload_token.clone(),
            };
            let paper = PrintedReceipt {
                booth,
                kind: receipt.kind,
                item: item.as_ref(),
                item_code: receipt.item_code.as_deref(),
                receipt: &stored,
                supplement_to: None,
                phone_upload: phone_upload.as_ref(),
            };
            Some(services.devices().print(&receipt_paper::document(&paper)))
        },
        |ctx, page, printed| {
            // A stored number that no longer parses cannot be printed: said like any failure.
            let outcome = printed.map_or(PrintState::Failed, |printed| {
                print_state(printed, "reprinted receipt")
            });
            page.update(ctx, |progress| progress.printed(outcome));
        },
    );
}
