//! Complaints and suggestions (投诉建议): binds `ComplaintsAdapter`.
//!
//! The form ([`form`]) is checked on the UI thread; saving and printing happen in the background.
//! The receipt number is shown as soon as the store has committed the complaint; the paper
//! receipt follows if the booth has a printer, and a print failure only changes the message
//! under the number. Sync is woken so the complaint leaves at once when the network is up.

pub mod form;

use std::rc::Rc;

use slint::ComponentHandle;
use sync_protocol::submission::SubmissionKind;
use ui::{ComplaintCategory, ComplaintProblem, ComplaintStep, ComplaintsAdapter, Page, PrintState};

use super::context::Ctx;
use super::services::Services;
use crate::receipt_paper::{self, PrintedReceipt};
use crate::store::{NewSubmission, Receipt, StoreError};
use crate::submit::{ItemLookup, prepare};
use form::{Category, ComplaintForm, Problem};

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<ComplaintsAdapter>();

    let weak = Rc::downgrade(ctx);
    adapter.on_submit(move || {
        if let Some(ctx) = weak.upgrade() {
            submit(&ctx);
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_start_over(move || {
        if let Some(ctx) = weak.upgrade() {
            clear(&ctx);
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_back(move || {
        let Some(ctx) = weak.upgrade() else { return };
        let step = ctx.window().global::<ComplaintsAdapter>().get_step();
        if step == ComplaintStep::Thanks {
            clear(&ctx);
        } else {
            ctx.show_page(Page::Home);
        }
    });

    // A card read earlier in this session may be attached, never by default.
    ctx.on_page_open(Page::Complaints, |ctx| {
        let masked = ctx.holder().map(|card| card.id_number().masked());
        let window = ctx.window();
        let adapter = window.global::<ComplaintsAdapter>();
        adapter.set_card_available(masked.is_some());
        adapter.set_card_masked_id(masked.unwrap_or_default().into());
        adapter.set_has_printer(ctx.services.devices().has_printer());
        if adapter.get_step() == ComplaintStep::Thanks {
            clear(ctx);
        }
    });
    ctx.on_session_end(|ctx| {
        clear(ctx);
        let window = ctx.window();
        let adapter = window.global::<ComplaintsAdapter>();
        adapter.set_card_available(false);
        adapter.set_card_masked_id("".into());
    });
}

/// An empty form, as for the next villager.
fn clear(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<ComplaintsAdapter>();
    adapter.set_category(ComplaintCategory::None);
    adapter.set_text("".into());
    adapter.set_phone("".into());
    adapter.set_attach_identity(false);
    adapter.set_problem(ComplaintProblem::None);
    adapter.set_receipt_number("".into());
    adapter.set_print_state(PrintState::Idle);
    adapter.set_step(ComplaintStep::Form);
}

fn read_form(ctx: &Rc<Ctx>) -> ComplaintForm {
    let window = ctx.window();
    let adapter = window.global::<ComplaintsAdapter>();
    let identity = if adapter.get_attach_identity() {
        ctx.holder().map(|card| {
            (
                card.display_name().to_owned(),
                card.id_number().expose().to_owned(),
            )
        })
    } else {
        None
    };
    ComplaintForm {
        category: category(adapter.get_category()),
        text: adapter.get_text().into(),
        phone: adapter.get_phone().into(),
        identity,
    }
}

fn category(chosen: ComplaintCategory) -> Option<Category> {
    match chosen {
        ComplaintCategory::None => None,
        ComplaintCategory::ServiceAttitude => Some(Category::ServiceAttitude),
        ComplaintCategory::Efficiency => Some(Category::Efficiency),
        ComplaintCategory::Fees => Some(Category::Fees),
        ComplaintCategory::Facilities => Some(Category::Facilities),
        ComplaintCategory::Other => Some(Category::Other),
    }
}

fn problem(problem: Problem) -> ComplaintProblem {
    match problem {
        Problem::NoCategory => ComplaintProblem::NoCategory,
        Problem::NoText => ComplaintProblem::NoText,
        Problem::TextTooLong => ComplaintProblem::TextTooLong,
        Problem::BadPhone => ComplaintProblem::BadPhone,
    }
}

fn submit(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<ComplaintsAdapter>();
    if adapter.get_step() != ComplaintStep::Form {
        return;
    }
    let form = read_form(ctx);
    let draft = match form.draft() {
        Ok(draft) => draft,
        Err(found) => {
            adapter.set_problem(problem(found));
            return;
        }
    };
    let holder_id_number = draft.id_number.clone();
    let new = match prepare(draft, ItemLookup::NoItem) {
        Ok(new) => NewSubmission {
            // Only an attached card lets its holder find this complaint again by card.
            holder_id_number,
            ..new
        },
        Err(err) => {
            // A complaint names no item, so this cannot happen; say it plainly if it does.
            tracing::error!(%err, "complaint draft refused");
            adapter.set_problem(ComplaintProblem::SaveFailed);
            return;
        }
    };
    adapter.set_problem(ComplaintProblem::None);
    adapter.set_step(ComplaintStep::Saving);
    ctx.background(
        move |services| save(services, new),
        |ctx, saved| {
            let window = ctx.window();
            let adapter = window.global::<ComplaintsAdapter>();
            match saved {
                Ok((receipt, village)) => {
                    tracing::info!(receipt = %receipt.number, "complaint saved");
                    ctx.services.wake_sync();
                    adapter.set_receipt_number(receipt.number.to_string().into());
                    adapter.set_step(ComplaintStep::Thanks);
                    if ctx.services.devices().has_printer() {
                        print(ctx, receipt, village);
                    }
                }
                Err(err) => {
                    tracing::error!(%err, "complaint not saved");
                    adapter.set_step(ComplaintStep::Form);
                    adapter.set_problem(ComplaintProblem::SaveFailed);
                }
            }
        },
    );
}

/// Commits the complaint; returns its receipt and the booth's village for the paper.
fn save(services: &Services, new: NewSubmission) -> Result<(Receipt, String), StoreError> {
    services.with_store(|store| {
        let receipt = store.submit(new)?;
        let village = store
            .identity()
            .ok()
            .flatten()
            .map(|identity| identity.village.village)
            .unwrap_or_default();
        Ok((receipt, village))
    })
}

fn print(ctx: &Rc<Ctx>, receipt: Receipt, village: String) {
    ctx.window()
        .global::<ComplaintsAdapter>()
        .set_print_state(PrintState::Printing);
    ctx.background(
        move |services| {
            let paper = receipt_paper::document(&PrintedReceipt {
                booth: village,
                kind: SubmissionKind::Complaint,
                item: None,
                item_code: None,
                receipt: &receipt,
            });
            services.devices().print(&paper)
        },
        |ctx, printed| {
            let state = match printed {
                Ok(_) => PrintState::Printed,
                Err(err) => {
                    tracing::warn!(%err, "complaint receipt not printed");
                    if err.is_paper_out() {
                        PrintState::PaperOut
                    } else {
                        PrintState::Failed
                    }
                }
            };
            ctx.window()
                .global::<ComplaintsAdapter>()
                .set_print_state(state);
        },
    );
}
