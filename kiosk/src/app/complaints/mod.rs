//! Complaints and suggestions (投诉建议): binds `ComplaintsAdapter`.
//!
//! The form ([`form`]) is checked on the UI thread; saving and printing happen in the background.
//! The receipt number is shown as soon as the store has committed the complaint; the paper
//! receipt follows if the booth has a printer, and a print failure only changes the message
//! under the number. Sync is woken so the complaint leaves at once when the network is up.
//!
//! The category, text, phone and "attach my card" are the screen's own input (its controls
//! write them); they are read when the villager sends, and cleared by the flow.

pub mod form;

use std::rc::Rc;

use slint::ComponentHandle;
use sync_protocol::submission::SubmissionKind;
use ui::{
    ComplaintCategory, ComplaintProblem, ComplaintStep, ComplaintsAdapter, MainWindow, Page,
    PrintState,
};

use super::bind::{Asserted, Bound, Changes, Flow};
use super::context::Ctx;
use super::printed::print_state;
use super::services::Services;
use form::{Category, ComplaintForm, Problem};
use kiosk_core::receipt_paper::{self, PrintedReceipt};
use kiosk_core::store::{NewSubmission, Receipt, StoreError};
use kiosk_core::submit::{ItemLookup, prepare};

/// Where the complaint is, apart from what the villager is typing; shown as it is.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Complaints {
    step: ComplaintStep,
    problem: ComplaintProblem,
    receipt_number: String,
    print: PrintState,
    /// The masked ID number of the card read in this session, which may be attached.
    card_masked_id: Option<String>,
    has_printer: bool,
    /// Each clearing empties the screen's input, whatever it holds by then.
    inputs_cleared: Asserted<()>,
}

impl Complaints {
    /// A visit: the card read earlier in this session may be attached, never by default; a
    /// thank-you left from an earlier visit gives way to an empty form.
    pub fn opened(&mut self, card_masked_id: Option<String>, has_printer: bool) {
        self.card_masked_id = card_masked_id;
        self.has_printer = has_printer;
        if self.step == ComplaintStep::Thanks {
            self.clear();
        }
    }

    /// An empty form, as for the next villager.
    pub fn clear(&mut self) {
        self.step = ComplaintStep::Form;
        self.problem = ComplaintProblem::None;
        self.receipt_number.clear();
        self.print = PrintState::Idle;
        self.inputs_cleared.set(());
    }

    /// Back from the thank-you empties the form; from the form it leaves (`true`).
    pub fn back(&mut self) -> bool {
        if self.step == ComplaintStep::Thanks {
            self.clear();
            false
        } else {
            true
        }
    }

    /// The submission to save, or the problem shown instead.
    pub fn submit(&mut self, form: &ComplaintForm) -> Option<NewSubmission> {
        if self.step != ComplaintStep::Form {
            return None;
        }
        let draft = match form.draft() {
            Ok(draft) => draft,
            Err(found) => {
                self.problem = problem(found);
                return None;
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
                self.problem = ComplaintProblem::SaveFailed;
                return None;
            }
        };
        self.problem = ComplaintProblem::None;
        self.step = ComplaintStep::Saving;
        Some(new)
    }

    /// The store committed the complaint (its receipt number), or did not.
    pub fn saved(&mut self, receipt_number: Option<String>) {
        match receipt_number {
            Some(number) => {
                self.receipt_number = number;
                self.step = ComplaintStep::Thanks;
            }
            None => {
                self.step = ComplaintStep::Form;
                self.problem = ComplaintProblem::SaveFailed;
            }
        }
    }

    pub fn printing(&mut self) {
        self.print = PrintState::Printing;
    }

    pub fn printed(&mut self, outcome: PrintState) {
        self.print = outcome;
    }
}

impl Flow for Complaints {
    type View = Self;

    fn view(&self) -> Self {
        self.clone()
    }

    fn render(now: &Self, before: Option<&Self>, window: &MainWindow) {
        let adapter = window.global::<ComplaintsAdapter>();
        let changes = Changes::new(now, before);
        changes.write(
            |v| &v.inputs_cleared,
            |_| {
                adapter.set_category(ComplaintCategory::None);
                adapter.set_text("".into());
                adapter.set_phone("".into());
                adapter.set_attach_identity(false);
            },
        );
        changes.write(
            |v| &v.card_masked_id,
            |masked| {
                adapter.set_card_available(masked.is_some());
                adapter.set_card_masked_id(masked.clone().unwrap_or_default().into());
            },
        );
        changes.write(|v| &v.has_printer, |&has| adapter.set_has_printer(has));
        changes.write(|v| &v.problem, |&problem| adapter.set_problem(problem));
        changes.write(
            |v| &v.receipt_number,
            |n| adapter.set_receipt_number(n.into()),
        );
        changes.write(|v| &v.print, |&state| adapter.set_print_state(state));
        changes.write(|v| &v.step, |&step| adapter.set_step(step));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Complaints>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<ComplaintsAdapter>();
    adapter.on_submit(page.callback(submit));
    adapter.on_start_over(page.callback(|ctx, page| page.update(ctx, Complaints::clear)));
    adapter.on_back(page.callback(|ctx, page| {
        if page.update(ctx, Complaints::back) {
            ctx.show_page(Page::Home);
        }
    }));
    page.on_page_open(ctx, Page::Complaints, |ctx, page| {
        let masked = ctx.holder().map(|card| card.id_number().masked());
        let has_printer = ctx.services.devices().has_printer();
        page.update(ctx, |complaints| complaints.opened(masked, has_printer));
    });
    page.reset_on_session_end(ctx);
}

/// What the villager filled in on the screen; the card only if they chose to attach it.
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

fn submit(ctx: &Rc<Ctx>, page: &Bound<Complaints>) {
    let form = read_form(ctx);
    let Some(new) = page.update(ctx, |complaints| complaints.submit(&form)) else {
        return;
    };
    page.background(
        ctx,
        move |services| save(services, new),
        |ctx, page, saved| match saved {
            Ok((receipt, village)) => {
                tracing::info!(receipt = %receipt.number, "complaint saved");
                ctx.services.wake_sync();
                let number = receipt.number.to_string();
                page.update(ctx, |complaints| complaints.saved(Some(number)));
                if ctx.services.devices().has_printer() {
                    print(ctx, page, receipt, village);
                }
            }
            Err(err) => {
                tracing::error!(%err, "complaint not saved");
                page.update(ctx, |complaints| complaints.saved(None));
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

fn print(ctx: &Rc<Ctx>, page: &Bound<Complaints>, receipt: Receipt, village: String) {
    page.update(ctx, Complaints::printing);
    page.background(
        ctx,
        move |services| {
            let paper = receipt_paper::document(&PrintedReceipt {
                booth: village,
                kind: SubmissionKind::Complaint,
                item: None,
                item_code: None,
                receipt: &receipt,
                supplement_to: None,
                phone_upload: None,
            });
            services.devices().print(&paper)
        },
        |ctx, page, printed| {
            let outcome = print_state(printed, "complaint receipt");
            page.update(ctx, |complaints| complaints.printed(outcome));
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> ComplaintForm {
        ComplaintForm {
            category: Some(Category::Fees),
            text: "收费不透明".into(),
            phone: String::new(),
            identity: None,
        }
    }

    /// A complaint sent and saved: the thank-you is showing.
    fn thanked() -> Complaints {
        let mut complaints = Complaints::default();
        complaints.submit(&filled()).expect("complete");
        complaints.saved(Some("K0012-000042-7".into()));
        complaints
    }

    #[test]
    fn an_incomplete_form_says_what_to_fix_and_stays() {
        let mut complaints = Complaints::default();
        assert!(complaints.submit(&ComplaintForm::default()).is_none());
        assert_eq!(complaints.view().problem, ComplaintProblem::NoCategory);
        let mut form = filled();
        form.phone = "12345".into();
        assert!(complaints.submit(&form).is_none());
        let view = complaints.view();
        assert_eq!(view.problem, ComplaintProblem::BadPhone);
        assert_eq!(view.step, ComplaintStep::Form);
    }

    #[test]
    fn a_sent_complaint_thanks_with_its_number_and_prints() {
        let mut complaints = Complaints::default();
        complaints.opened(None, true);
        let new = complaints.submit(&filled()).expect("complete");
        assert!(new.holder_id_number.is_none(), "anonymous");
        assert_eq!(complaints.view().step, ComplaintStep::Saving);
        assert!(complaints.submit(&filled()).is_none(), "sent once");
        complaints.saved(Some("K0012-000042-7".into()));
        complaints.printing();
        complaints.printed(PrintState::Printed);
        let view = complaints.view();
        assert_eq!(view.step, ComplaintStep::Thanks);
        assert_eq!(view.receipt_number, "K0012-000042-7");
        assert_eq!(view.print, PrintState::Printed);
    }

    #[test]
    fn an_attached_card_lets_its_holder_find_the_complaint() {
        let mut complaints = Complaints::default();
        let mut form = filled();
        form.identity = Some(("李秀英".into(), "450902196208150028".into()));
        let new = complaints.submit(&form).expect("complete");
        assert_eq!(new.holder_id_number.as_deref(), Some("450902196208150028"));
    }

    #[test]
    fn a_failed_save_returns_to_the_form_with_a_message() {
        let mut complaints = Complaints::default();
        complaints.submit(&filled()).expect("complete");
        complaints.saved(None);
        let view = complaints.view();
        assert_eq!(view.step, ComplaintStep::Form);
        assert_eq!(view.problem, ComplaintProblem::SaveFailed);
    }

    #[test]
    fn back_from_the_thanks_empties_the_form_and_from_the_form_leaves() {
        let mut complaints = thanked();
        let thanks = complaints.view();
        assert!(!complaints.back());
        let view = complaints.view();
        assert_eq!(view.step, ComplaintStep::Form);
        assert!(view.receipt_number.is_empty());
        assert_ne!(
            view.inputs_cleared, thanks.inputs_cleared,
            "typed text cleared"
        );
        assert!(complaints.back());
    }

    #[test]
    fn a_new_visit_after_the_thanks_starts_empty_and_offers_the_card() {
        let mut complaints = thanked();
        complaints.opened(Some("4509**********0028".into()), false);
        let view = complaints.view();
        assert_eq!(view.step, ComplaintStep::Form);
        assert_eq!(view.card_masked_id.as_deref(), Some("4509**********0028"));
        assert!(!view.has_printer);
    }
}
