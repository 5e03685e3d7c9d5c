//! Where the villager is on the progress page, apart from Slint.

use slint::ComponentHandle;
use sync_protocol::feed::{CatalogItem, CorrectionMaterial, SubmissionStatus};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::SubmissionKind;
use ui::{
    MainWindow, PrintState, ProgressAdapter, ProgressCardState, ProgressHistoryRow, ProgressKind,
    ProgressLookup, ProgressNumberProblem, ProgressReceiptRow, ProgressStatus, ProgressView,
};

use super::view::{self, parse_number};
use crate::app::bind::{Asserted, Changes, Flow, model};
use crate::app::devices::CardProblem;
use kiosk_core::store::{LocalReceipt, StatusEntry, StoreError};

/// What looking a number up found.
#[derive(Debug)]
pub enum Found {
    Here(Box<Detail>),
    /// Issued by this booth's kiosk number but not in its store (a re-installed booth).
    NotHere,
    /// Another booth's kiosk number.
    OtherBooth,
}

#[derive(Debug)]
pub struct Detail {
    pub receipt: LocalReceipt,
    pub history: Vec<StatusEntry>,
    pub item: Option<CatalogItem>,
}

/// The receipt on screen, kept for reprinting, rating and refreshing.
#[derive(Debug)]
struct Shown {
    detail: Detail,
    /// Opened from the card's list: Back returns there.
    from_list: bool,
}

/// What the page shows besides the receipt's detail.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Screen {
    view: ProgressView,
    /// The screen's text field edits the number too.
    typed_number: Asserted<String>,
    /// An edit of the number clears these messages on screen.
    number_problem: Asserted<ProgressNumberProblem>,
    lookup: Asserted<ProgressLookup>,
    card_state: ProgressCardState,
    masked_id: String,
    receipts: Vec<ProgressReceiptRow>,
    print: PrintState,
}

#[derive(Debug, Default)]
pub struct Progress {
    screen: Screen,
    shown: Option<Shown>,
    has_camera: bool,
}

#[derive(Debug, PartialEq)]
pub struct ProgressPage {
    screen: Screen,
    detail: DetailView,
}

#[derive(Debug, PartialEq)]
struct DetailView {
    number: String,
    item_name: String,
    kind: ProgressKind,
    submitted_at: String,
    status: ProgressStatus,
    status_note: String,
    office_phone: String,
    history: Vec<ProgressHistoryRow>,
    can_rate: bool,
    correction_materials: Vec<String>,
    can_photograph_correction: bool,
}

impl Progress {
    /// The three ways in, nothing typed, nothing shown.
    pub fn start(&mut self) {
        self.screen.view = ProgressView::Start;
        self.screen.typed_number.set(String::new());
        self.screen.number_problem.set(ProgressNumberProblem::None);
        self.screen.lookup.set(ProgressLookup::Idle);
        self.screen.card_state = ProgressCardState::Waiting;
        self.screen.masked_id.clear();
        self.screen.receipts.clear();
        self.clear_detail();
    }

    fn clear_detail(&mut self) {
        self.shown = None;
        self.screen.print = PrintState::Idle;
    }

    /// The card view waits for a card (the reader is armed for it).
    pub fn waits_for_card(&self) -> bool {
        self.screen.view == ProgressView::Card
    }

    /// The number of the receipt shown, while its detail is open.
    pub fn detail_number(&self) -> Option<ReceiptNumber> {
        if self.screen.view != ProgressView::Detail {
            return None;
        }
        self.shown_number()?.parse().ok()
    }

    /// The number of the receipt last opened.
    pub fn shown_number(&self) -> Option<String> {
        self.shown.as_ref().map(|s| s.detail.receipt.number.clone())
    }

    /// Back: the detail to where it came from, the card view to the start, the start to Home
    /// (`true`). Only the detail keeps its receipt.
    pub fn back(&mut self) -> bool {
        let leave = match self.screen.view {
            ProgressView::Detail if self.shown.as_ref().is_some_and(|s| s.from_list) => {
                self.screen.view = ProgressView::Card;
                false
            }
            ProgressView::Detail | ProgressView::Card => {
                self.screen.view = ProgressView::Start;
                false
            }
            ProgressView::Start => true,
        };
        if self.screen.view != ProgressView::Detail {
            self.clear_detail();
        }
        leave
    }

    /// A typed or scanned number, on the start view: the number to look up, or its problem.
    pub fn look_up(&mut self, text: &str) -> Option<ReceiptNumber> {
        self.screen.view = ProgressView::Start;
        self.screen.typed_number.set(text.trim().to_owned());
        self.screen.lookup.set(ProgressLookup::Idle);
        match parse_number(text) {
            Err(problem) => {
                self.screen.number_problem.set(problem.into());
                None
            }
            Ok(number) => {
                self.screen.number_problem.set(ProgressNumberProblem::None);
                // Shown normalised, so a scanned or lower-case number reads as on paper.
                self.screen.typed_number.set(number.to_string());
                self.screen.lookup.set(ProgressLookup::Searching);
                Some(number)
            }
        }
    }

    /// What a look-up found: the receipt's detail, or why there is none.
    pub fn found(&mut self, found: Result<Found, StoreError>, from_list: bool) {
        match found {
            Ok(Found::Here(detail)) => {
                self.screen.lookup.set(ProgressLookup::Idle);
                self.shown = Some(Shown {
                    detail: *detail,
                    from_list,
                });
                self.screen.print = PrintState::Idle;
                self.screen.view = ProgressView::Detail;
            }
            Ok(Found::NotHere) => self.screen.lookup.set(ProgressLookup::NotHere),
            Ok(Found::OtherBooth) => self.screen.lookup.set(ProgressLookup::OtherBooth),
            Err(err) => {
                tracing::warn!(%err, "cannot look up a receipt");
                self.screen.lookup.set(ProgressLookup::Failed);
            }
        }
    }

    /// The receipt reloaded after a sync: shown if the villager still looks at it, keeping
    /// where Back leads and how its printing went.
    pub fn refreshed(&mut self, detail: Detail) {
        if self.detail_number().map(|n| n.to_string()) != Some(detail.receipt.number.clone()) {
            return;
        }
        if let Some(shown) = &mut self.shown {
            shown.detail = detail;
        }
    }

    /// The card view; `true` if there is a reader to wait on.
    pub fn start_card(&mut self, has_reader: bool) -> bool {
        self.screen.view = ProgressView::Card;
        self.screen.masked_id.clear();
        self.screen.receipts.clear();
        self.screen.card_state = if has_reader {
            ProgressCardState::Waiting
        } else {
            ProgressCardState::ReaderUnavailable
        };
        has_reader
    }

    pub fn card_failed(&mut self, problem: CardProblem) {
        self.screen.card_state = match problem {
            CardProblem::HoldStill => ProgressCardState::HoldStill,
            CardProblem::Unreadable => ProgressCardState::Unreadable,
            CardProblem::ReaderUnavailable => ProgressCardState::ReaderUnavailable,
        };
    }

    /// A card was read: its receipts are being listed.
    pub fn card_read(&mut self, masked_id: String) {
        self.screen.card_state = ProgressCardState::Searching;
        self.screen.masked_id = masked_id;
    }

    /// The card's receipts, each with its item's name.
    pub fn listed(&mut self, listed: Result<Vec<(LocalReceipt, String)>, StoreError>) {
        match listed {
            Ok(rows) => {
                self.screen.receipts = rows
                    .into_iter()
                    .map(|(receipt, item_name)| ProgressReceiptRow {
                        number: receipt.number.clone().into(),
                        item_name: item_name.into(),
                        kind: view::kind(receipt.kind),
                        date: view::date_text(receipt.created_at).into(),
                        status: view::current_status(&receipt),
                    })
                    .collect();
                self.screen.card_state = ProgressCardState::Listed;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot list a card's receipts");
                self.screen.card_state = ProgressCardState::Failed;
            }
        }
    }

    /// Whether this booth has a document camera (materials a correction names can be
    /// photographed again here).
    pub fn set_camera(&mut self, has_camera: bool) {
        self.has_camera = has_camera;
    }

    /// The correction the shown receipt asks for, to photograph its materials again.
    pub fn correction(&self) -> Option<Correction> {
        correction_of(&self.shown.as_ref()?.detail)
    }

    /// The shown receipt and its item, to print again.
    pub fn reprint(&mut self) -> Option<(LocalReceipt, Option<CatalogItem>)> {
        let shown = self.shown.as_ref()?;
        let printing = (shown.detail.receipt.clone(), shown.detail.item.clone());
        self.screen.print = PrintState::Printing;
        Some(printing)
    }

    pub fn printed(&mut self, outcome: PrintState) {
        self.screen.print = outcome;
    }
}

/// What a correction asks of the villager, as the apply flow photographs it.
#[derive(Debug, Clone)]
pub struct Correction {
    /// The application it completes, and its receipt's number.
    pub original: uuid::Uuid,
    pub receipt: String,
    pub item: CatalogItem,
    pub materials: Vec<CorrectionMaterial>,
}

/// The correction of `detail`: an application of this booth waiting for materials staff
/// named, whose item the booth knows.
fn correction_of(detail: &Detail) -> Option<Correction> {
    let receipt = &detail.receipt;
    let waiting = receipt.status == Some(SubmissionStatus::NeedsCorrection)
        && receipt.kind == SubmissionKind::Application
        && receipt.supplement_to.is_none()
        && !receipt.correction_materials.is_empty();
    if !waiting {
        return None;
    }
    Some(Correction {
        original: receipt.submission_id,
        receipt: receipt.number.clone(),
        item: detail.item.clone()?,
        materials: receipt.correction_materials.clone(),
    })
}

impl DetailView {
    fn of(shown: Option<&Shown>, has_camera: bool) -> Self {
        let Some(Shown { detail, .. }) = shown else {
            return Self {
                number: String::new(),
                item_name: String::new(),
                kind: ProgressKind::default(),
                submitted_at: String::new(),
                status: ProgressStatus::default(),
                status_note: String::new(),
                office_phone: String::new(),
                history: Vec::new(),
                can_rate: true,
                correction_materials: Vec::new(),
                can_photograph_correction: false,
            };
        };
        let Detail {
            receipt,
            history,
            item,
        } = detail;
        Self {
            number: receipt.number.clone(),
            item_name: view::item_name(item.as_ref()),
            kind: view::kind(receipt.kind),
            submitted_at: view::date_text(receipt.created_at),
            status: view::current_status(receipt),
            status_note: receipt.status_note.clone().unwrap_or_default(),
            office_phone: item
                .as_ref()
                .map(|i| i.office.phone.clone())
                .unwrap_or_default(),
            history: view::history_rows(receipt, history),
            can_rate: receipt.kind != SubmissionKind::Evaluation,
            correction_materials: receipt
                .correction_materials
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            can_photograph_correction: has_camera && correction_of(detail).is_some(),
        }
    }
}

impl Flow for Progress {
    type View = ProgressPage;

    fn view(&self) -> ProgressPage {
        ProgressPage {
            screen: self.screen.clone(),
            detail: DetailView::of(self.shown.as_ref(), self.has_camera),
        }
    }

    fn render(now: &ProgressPage, before: Option<&ProgressPage>, window: &MainWindow) {
        let adapter = window.global::<ProgressAdapter>();
        let changes = Changes::new(now, before);
        changes.write(
            |v| &v.screen.typed_number,
            |t| adapter.set_typed_number(t.get().into()),
        );
        changes.write(
            |v| &v.screen.number_problem,
            |p| adapter.set_number_problem(*p.get()),
        );
        changes.write(|v| &v.screen.lookup, |l| adapter.set_lookup(*l.get()));
        changes.write(|v| &v.screen.card_state, |&s| adapter.set_card_state(s));
        changes.write(|v| &v.screen.masked_id, |m| adapter.set_masked_id(m.into()));
        changes.write(|v| &v.screen.receipts, |r| adapter.set_receipts(model(r)));
        changes.write(
            |v| &v.detail,
            |d| {
                adapter.set_number(d.number.as_str().into());
                adapter.set_item_name(d.item_name.as_str().into());
                adapter.set_kind(d.kind);
                adapter.set_submitted_at(d.submitted_at.as_str().into());
                adapter.set_status(d.status);
                adapter.set_status_note(d.status_note.as_str().into());
                adapter.set_office_phone(d.office_phone.as_str().into());
                adapter.set_can_rate(d.can_rate);
                let names: Vec<slint::SharedString> = d
                    .correction_materials
                    .iter()
                    .map(|name| name.as_str().into())
                    .collect();
                adapter.set_correction_materials(model(&names));
                adapter.set_can_photograph_correction(d.can_photograph_correction);
            },
        );
        changes.write(|v| &v.detail.history, |h| adapter.set_history(model(h)));
        changes.write(|v| &v.screen.print, |&s| adapter.set_print_state(s));
        changes.write(|v| &v.screen.view, |&view| adapter.set_view(view));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::progress::view::tests::receipt;
    use kiosk_core::store::SubmissionState;

    fn here(number: &str, kind: SubmissionKind) -> Result<Found, StoreError> {
        let mut receipt = receipt(SubmissionState::Acknowledged, None);
        receipt.number = number.to_owned();
        receipt.kind = kind;
        Ok(Found::Here(Box::new(Detail {
            receipt,
            history: Vec::new(),
            item: None,
        })))
    }

    #[test]
    fn a_typed_number_is_refused_with_its_problem_or_looked_up_normalised() {
        let mut progress = Progress::default();
        progress.start();
        assert!(progress.look_up("  ").is_none());
        assert_eq!(
            *progress.view().screen.number_problem.get(),
            ProgressNumberProblem::Empty
        );
        let number = ReceiptNumber::new(7, 42);
        let typed = number.to_string().to_lowercase();
        assert_eq!(progress.look_up(&typed), Some(number));
        let view = progress.view();
        assert_eq!(
            *view.screen.number_problem.get(),
            ProgressNumberProblem::None
        );
        assert_eq!(*view.screen.typed_number.get(), number.to_string());
        assert_eq!(*view.screen.lookup.get(), ProgressLookup::Searching);
    }

    #[test]
    fn look_up_results_show_the_detail_or_say_why_not() {
        let number = ReceiptNumber::new(7, 42).to_string();
        let mut progress = Progress::default();
        progress.found(Ok(Found::NotHere), false);
        assert_eq!(
            *progress.view().screen.lookup.get(),
            ProgressLookup::NotHere
        );
        progress.found(Ok(Found::OtherBooth), false);
        assert_eq!(
            *progress.view().screen.lookup.get(),
            ProgressLookup::OtherBooth
        );
        progress.found(Err(StoreError::NotEnrolled), false);
        assert_eq!(*progress.view().screen.lookup.get(), ProgressLookup::Failed);
        assert_eq!(progress.view().screen.view, ProgressView::Start);

        progress.found(here(&number, SubmissionKind::Application), false);
        let view = progress.view();
        assert_eq!(view.screen.view, ProgressView::Detail);
        assert_eq!(*view.screen.lookup.get(), ProgressLookup::Idle);
        assert_eq!(view.detail.number, number);
        assert_eq!(view.detail.status, ProgressStatus::Received);
        assert!(view.detail.can_rate);
        assert_eq!(progress.shown_number(), Some(number.clone()));

        progress.found(here(&number, SubmissionKind::Evaluation), false);
        assert!(!progress.view().detail.can_rate, "a rating is not rated");
    }

    #[test]
    fn back_from_a_listed_receipt_returns_to_the_card_list() {
        let number = ReceiptNumber::new(7, 42).to_string();
        let mut progress = Progress::default();
        assert!(progress.start_card(true));
        assert!(progress.waits_for_card());
        progress.card_read("4509**********0028".into());
        assert_eq!(
            progress.view().screen.card_state,
            ProgressCardState::Searching
        );
        progress.listed(Ok(vec![(
            receipt(SubmissionState::Pending, None),
            "户籍证明开具".into(),
        )]));
        let view = progress.view();
        assert_eq!(view.screen.card_state, ProgressCardState::Listed);
        assert_eq!(view.screen.receipts.len(), 1);
        assert_eq!(view.screen.receipts[0].status, ProgressStatus::NotSent);

        progress.found(here(&number, SubmissionKind::Application), true);
        assert!(!progress.back());
        let view = progress.view();
        assert_eq!(view.screen.view, ProgressView::Card);
        assert_eq!(view.screen.receipts.len(), 1, "the list is still there");
        assert!(view.detail.number.is_empty(), "the receipt is not kept");
        assert!(!progress.back());
        assert!(!progress.waits_for_card());
        assert!(progress.back(), "from the start, Home");
    }

    #[test]
    fn without_a_reader_the_card_view_says_so() {
        let mut progress = Progress::default();
        assert!(!progress.start_card(false));
        assert_eq!(
            progress.view().screen.card_state,
            ProgressCardState::ReaderUnavailable
        );
        progress.start_card(true);
        progress.card_failed(CardProblem::HoldStill);
        assert_eq!(
            progress.view().screen.card_state,
            ProgressCardState::HoldStill
        );
    }

    #[test]
    fn a_refresh_shows_only_on_the_same_receipt_and_keeps_the_printing() {
        let number = ReceiptNumber::new(7, 42).to_string();
        let mut progress = Progress::default();
        progress.found(here(&number, SubmissionKind::Application), false);
        assert!(progress.reprint().is_some());
        progress.printed(PrintState::PaperOut);
        let Ok(Found::Here(mut detail)) = here(&number, SubmissionKind::Application) else {
            unreachable!("here() finds");
        };
        detail.receipt.status = Some(sync_protocol::feed::SubmissionStatus::Approved);
        progress.refreshed(*detail);
        let view = progress.view();
        assert_eq!(view.detail.status, ProgressStatus::Approved);
        assert_eq!(view.screen.print, PrintState::PaperOut);

        let Ok(Found::Here(other)) = here(
            &ReceiptNumber::new(7, 43).to_string(),
            SubmissionKind::Application,
        ) else {
            unreachable!("here() finds");
        };
        progress.refreshed(*other);
        assert_eq!(progress.view().detail.number, number);
    }
}
