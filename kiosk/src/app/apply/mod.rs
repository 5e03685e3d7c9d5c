//! 我要办理: choose an item → identify (ID card, or for items that allow it the typed number and
//! name) → confirm the identity, shown masked → the item's form → review → submit → the
//! receipt, printed and always shown on screen with a large QR code (the only copy when the
//! printer is out of paper; it can be printed again from there).
//!
//! The number is shown or printed only after the store committed the submission. Everything
//! the villager typed or the card gave is held here only until the session ends.

mod form;
mod qr;

use std::cell::RefCell;
use std::rc::Rc;

use chrono::Utc;
use hardware::id_card::{Card, IdNumber};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use sync_protocol::feed::{CatalogItem, Feed, FieldKind, IdentityNeed, TimeLimit};
use sync_protocol::submission::SubmissionKind;
use ui::{
    AppState, ApplyAdapter, ApplyCardPrompt, ApplyCatalogueState, ApplyField, ApplyFieldKind,
    ApplyFieldProblem, ApplyIdError, ApplyItem, ApplyReviewRow, ApplyStep, ApplySubmitProblem,
    Page, PrintState,
};

use super::context::Ctx;
use super::devices::{CardEvent, CardProblem};
use crate::receipt_paper::{self, PrintedReceipt, beijing};
use crate::store::Receipt as StoredReceipt;
use crate::submit::{Draft, ItemLookup, prepare};
use crate::sync::SyncEvent;
pub use form::{FieldProblem, IdEntry, check_field, check_typing, finish_typing};

/// Who is applying. Never printed: `Debug` shows only where it came from.
struct Applicant {
    name: String,
    id_number: IdNumber,
    /// From the card; typed identities have none (they are only accepted where none is needed).
    address: Option<String>,
    from_card: bool,
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applicant")
            .field("from_card", &self.from_card)
            .finish_non_exhaustive()
    }
}

impl Applicant {
    fn from_card(card: &Card) -> Self {
        let address = match card {
            Card::Resident(card) => Some(card.address.clone()),
            Card::Permit(card) => Some(card.address.clone()),
            Card::Foreign2017(_) | Card::Foreign2023(_) => None,
        }
        .filter(|a| !a.trim().is_empty());
        Self {
            name: card.display_name().to_owned(),
            id_number: card.id_number().clone(),
            address,
            from_card: true,
        }
    }

    /// Whether this identity has all `need` asks for.
    fn covers(&self, need: IdentityNeed) -> bool {
        match need {
            IdentityNeed::None | IdentityNeed::IdNumber => true,
            IdentityNeed::Full => self.address.is_some(),
        }
    }
}

/// What an application went in as, kept for printing it again.
#[derive(Debug)]
struct Submitted {
    receipt: StoredReceipt,
    booth: String,
    item: CatalogItem,
}

/// The flow's state on the UI thread; the adapter shows it.
#[derive(Debug, Default)]
struct Flow {
    catalogue: Vec<CatalogItem>,
    item: Option<CatalogItem>,
    applicant: Option<Applicant>,
    /// The form's values, one per field of `item`, as typed (checked on Next).
    values: Vec<String>,
    submitted: Option<Submitted>,
}

type Shared = Rc<RefCell<Flow>>;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let flow: Shared = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();

    let on = |handler: fn(&Rc<Ctx>, &Shared)| {
        let (weak, flow) = (Rc::downgrade(ctx), Rc::clone(&flow));
        move || {
            if let Some(ctx) = weak.upgrade() {
                handler(&ctx, &flow);
            }
        }
    };
    adapter.on_type_id_instead(on(type_id_instead));
    adapter.on_use_typed_id(on(use_typed_id));
    adapter.on_confirm_identity(on(show_form));
    adapter.on_identify_again(on(identify_again));
    adapter.on_submit(on(submit));
    adapter.on_reprint(on(print));
    adapter.on_back(on(back));

    let (weak, shared) = (Rc::downgrade(ctx), Rc::clone(&flow));
    adapter.on_choose_item(move |code| {
        if let Some(ctx) = weak.upgrade() {
            choose_item(&ctx, &shared, &code);
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_typed_id_edited(move |text| {
        if let Some(ctx) = weak.upgrade() {
            ctx.note_session_data();
            ctx.window()
                .global::<ApplyAdapter>()
                .set_typed_id_error(id_error(check_typing(&text)));
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_typed_name_edited(move |text| {
        if let Some(ctx) = weak.upgrade() {
            ctx.note_session_data();
            if !text.trim().is_empty() {
                ctx.window()
                    .global::<ApplyAdapter>()
                    .set_typed_name_missing(false);
            }
        }
    });
    let (weak, shared) = (Rc::downgrade(ctx), Rc::clone(&flow));
    adapter.on_field_edited(move |index, value| {
        if let Some(ctx) = weak.upgrade() {
            field_edited(&ctx, &shared, index, &value);
        }
    });
    adapter.on_form_done(on(form_done));

    let shared = Rc::clone(&flow);
    ctx.on_page_open(Page::Apply, move |ctx| {
        clear(ctx, &shared);
        load_catalogue(ctx, &shared);
    });
    let shared = Rc::clone(&flow);
    ctx.on_sync_event(move |ctx, event| {
        let choosing = ctx.window().global::<AppState>().get_current_page() == Page::Apply
            && ctx.window().global::<ApplyAdapter>().get_step() == ApplyStep::ChooseItem;
        if choosing
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load_catalogue(ctx, &shared);
        }
    });
    ctx.on_session_end(move |ctx| clear(ctx, &flow));
}

/// Forgets everything of the villager's, on the flow and on screen.
fn clear(ctx: &Rc<Ctx>, flow: &Shared) {
    {
        let mut flow = flow.borrow_mut();
        flow.item = None;
        flow.applicant = None;
        flow.values.clear();
        flow.submitted = None;
    }
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    adapter.set_step(ApplyStep::ChooseItem);
    adapter.set_item_name(SharedString::new());
    adapter.set_item_name_en(SharedString::new());
    adapter.set_item_time_limit_days(0);
    adapter.set_can_type_id(false);
    adapter.set_card_prompt(ApplyCardPrompt::Waiting);
    clear_typed(&adapter);
    adapter.set_holder_name(SharedString::new());
    adapter.set_masked_id(SharedString::new());
    adapter.set_fields(ModelRc::default());
    adapter.set_review_rows(ModelRc::default());
    adapter.set_busy(false);
    adapter.set_submit_problem(ApplySubmitProblem::None);
    adapter.set_receipt_number(SharedString::new());
    adapter.set_receipt_time(SharedString::new());
    adapter.set_office_name(SharedString::new());
    adapter.set_office_phone(SharedString::new());
    adapter.set_receipt_qr(slint::Image::default());
    adapter.set_print_state(PrintState::Idle);
}

fn clear_typed(adapter: &ApplyAdapter<'_>) {
    adapter.set_typed_id(SharedString::new());
    adapter.set_typed_id_error(ApplyIdError::None);
    adapter.set_typed_name(SharedString::new());
    adapter.set_typed_name_missing(false);
}

fn load_catalogue(ctx: &Rc<Ctx>, flow: &Shared) {
    let flow = Rc::clone(flow);
    ctx.background(
        |services| services.with_store(|store| store.catalog_items()),
        move |ctx, items| {
            let items: Vec<CatalogItem> = items
                .unwrap_or_else(|err| {
                    tracing::warn!(%err, "cannot read the catalogue");
                    Vec::new()
                })
                .into_iter()
                .filter(|item| !item.withdrawn)
                .collect();
            let rows: Vec<ApplyItem> = items
                .iter()
                .map(|item| ApplyItem {
                    code: item.code.as_str().into(),
                    name: item.name_zh.as_str().into(),
                    name_en: item.name_en.as_str().into(),
                    time_limit_days: time_limit_days(item.time_limit),
                })
                .collect();
            let window = ctx.window();
            let adapter = window.global::<ApplyAdapter>();
            adapter.set_catalogue_state(if rows.is_empty() {
                ApplyCatalogueState::Empty
            } else {
                ApplyCatalogueState::Ready
            });
            adapter.set_items(ModelRc::new(VecModel::from(rows)));
            flow.borrow_mut().catalogue = items;
        },
    );
}

fn time_limit_days(limit: TimeLimit) -> i32 {
    match limit {
        TimeLimit::OnTheSpot => 0,
        TimeLimit::WorkingDays { days } => i32::from(days),
    }
}

fn choose_item(ctx: &Rc<Ctx>, flow: &Shared, code: &str) {
    let Some(item) = flow
        .borrow()
        .catalogue
        .iter()
        .find(|i| i.code == code)
        .cloned()
    else {
        return;
    };
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    adapter.set_item_name(item.name_zh.as_str().into());
    adapter.set_item_name_en(item.name_en.as_str().into());
    adapter.set_item_time_limit_days(time_limit_days(item.time_limit));
    // Typing the number instead of reading the card: only where the card's address is not
    // needed, so a typed identity is never less than the item asks for.
    adapter.set_can_type_id(item.identity == IdentityNeed::IdNumber);
    adapter.set_submit_problem(ApplySubmitProblem::None);
    let need = item.identity;
    {
        let mut flow = flow.borrow_mut();
        flow.values = vec![String::new(); item.form.len()];
        flow.item = Some(item);
        if flow.applicant.as_ref().is_some_and(|a| !a.covers(need)) {
            flow.applicant = None;
        }
    }
    if need == IdentityNeed::None {
        show_form(ctx, flow);
        return;
    }
    // A card read earlier in this session (another application, the progress page) is
    // offered for confirmation rather than asked for again.
    let from_holder = ctx.holder().map(|card| Applicant::from_card(&card));
    if let Some(applicant) = from_holder.filter(|a| a.covers(need)) {
        flow.borrow_mut().applicant.get_or_insert(applicant);
    }
    if flow.borrow().applicant.is_some() {
        show_confirm(ctx, flow);
    } else {
        read_card(ctx, flow);
    }
}

/// Shows the card prompt and reads until a usable card is on the reader.
fn read_card(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    adapter.set_card_prompt(if ctx.services.devices().has_reader() {
        ApplyCardPrompt::Waiting
    } else {
        ApplyCardPrompt::ReaderUnavailable
    });
    adapter.set_step(ApplyStep::ReadCard);
    let flow = Rc::clone(flow);
    ctx.read_cards(move |ctx, event| card_event(ctx, &flow, event));
}

fn card_event(ctx: &Rc<Ctx>, flow: &Shared, event: CardEvent) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if adapter.get_step() != ApplyStep::ReadCard {
        return;
    }
    ctx.touched();
    let card = match event {
        CardEvent::Read(card) => card,
        CardEvent::Failed(problem) => {
            adapter.set_card_prompt(match problem {
                CardProblem::HoldStill => ApplyCardPrompt::HoldStill,
                CardProblem::Unreadable => ApplyCardPrompt::Unreadable,
                CardProblem::ReaderUnavailable => ApplyCardPrompt::ReaderUnavailable,
            });
            return;
        }
        // Lifting the card after a failed read changes nothing the villager needs to know.
        CardEvent::Removed => return,
    };
    let today = Utc::now().with_timezone(&beijing()).date_naive();
    if !card.valid_until().covers(today) {
        adapter.set_card_prompt(ApplyCardPrompt::Expired);
        return;
    }
    let applicant = Applicant::from_card(&card);
    let need = flow
        .borrow()
        .item
        .as_ref()
        .map_or(IdentityNeed::IdNumber, |i| i.identity);
    if !applicant.covers(need) {
        adapter.set_card_prompt(ApplyCardPrompt::NoAddress);
        return;
    }
    ctx.stop_reading_cards();
    ctx.set_holder(*card);
    flow.borrow_mut().applicant = Some(applicant);
    show_confirm(ctx, flow);
}

fn type_id_instead(ctx: &Rc<Ctx>, _flow: &Shared) {
    ctx.stop_reading_cards();
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if !adapter.get_can_type_id() {
        return;
    }
    clear_typed(&adapter);
    adapter.set_step(ApplyStep::TypeId);
}

fn use_typed_id(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    let number = finish_typing(&adapter.get_typed_id());
    let name = adapter.get_typed_name().trim().to_owned();
    adapter.set_typed_id_error(match &number {
        Ok(_) => ApplyIdError::None,
        Err(problem) => id_error(*problem),
    });
    adapter.set_typed_name_missing(name.is_empty());
    let Ok(id_number) = number else { return };
    if name.is_empty() {
        return;
    }
    flow.borrow_mut().applicant = Some(Applicant {
        name,
        id_number,
        address: None,
        from_card: false,
    });
    show_confirm(ctx, flow);
}

fn id_error(entry: IdEntry) -> ApplyIdError {
    match entry {
        IdEntry::Fine => ApplyIdError::None,
        IdEntry::BadCharacter => ApplyIdError::BadCharacter,
        IdEntry::TooLong => ApplyIdError::TooLong,
        IdEntry::TooShort => ApplyIdError::TooShort,
        IdEntry::Wrong => ApplyIdError::Wrong,
    }
}

fn show_confirm(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if let Some(applicant) = &flow.borrow().applicant {
        adapter.set_holder_name(applicant.name.as_str().into());
        adapter.set_masked_id(applicant.id_number.masked().into());
    }
    adapter.set_step(ApplyStep::Confirm);
}

/// "Not me": this identity is dropped from the flow and the card is asked for again.
fn identify_again(ctx: &Rc<Ctx>, flow: &Shared) {
    let typed = {
        let mut flow = flow.borrow_mut();
        let typed = flow.applicant.as_ref().is_some_and(|a| !a.from_card);
        flow.applicant = None;
        typed
    };
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    adapter.set_holder_name(SharedString::new());
    adapter.set_masked_id(SharedString::new());
    if typed {
        clear_typed(&adapter);
        adapter.set_step(ApplyStep::TypeId);
    } else {
        read_card(ctx, flow);
    }
}

/// The item's form with the values entered so far.
fn show_form(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    let rows = {
        let flow = flow.borrow();
        let Some(item) = &flow.item else { return };
        item.form
            .iter()
            .zip(&flow.values)
            .map(|(field, value)| field_row(field, value, None))
            .collect::<Vec<_>>()
    };
    adapter.set_fields(ModelRc::new(VecModel::from(rows)));
    adapter.set_step(ApplyStep::Form);
}

fn field_row(
    field: &sync_protocol::feed::FormField,
    value: &str,
    problem: Option<FieldProblem>,
) -> ApplyField {
    let choices: Vec<SharedString> = field.choices.iter().map(|c| c.as_str().into()).collect();
    ApplyField {
        key: field.key.as_str().into(),
        label: field.label_zh.as_str().into(),
        kind: match field.kind {
            FieldKind::Text => ApplyFieldKind::Text,
            FieldKind::Number => ApplyFieldKind::Number,
            FieldKind::Phone => ApplyFieldKind::Phone,
            FieldKind::Date => ApplyFieldKind::Date,
            FieldKind::Choice => ApplyFieldKind::Choice,
        },
        required: field.required,
        choices: ModelRc::new(VecModel::from(choices)),
        value: value.into(),
        problem: field_problem(problem),
    }
}

fn field_problem(problem: Option<FieldProblem>) -> ApplyFieldProblem {
    match problem {
        None => ApplyFieldProblem::None,
        Some(FieldProblem::Required) => ApplyFieldProblem::Required,
        Some(FieldProblem::ChooseOne) => ApplyFieldProblem::ChooseOne,
        Some(FieldProblem::NotANumber) => ApplyFieldProblem::NotANumber,
        Some(FieldProblem::NotAPhone) => ApplyFieldProblem::NotAPhone,
        Some(FieldProblem::NotADate) => ApplyFieldProblem::NotADate,
        Some(FieldProblem::TooLong) => ApplyFieldProblem::TooLong,
    }
}

fn field_edited(ctx: &Rc<Ctx>, flow: &Shared, index: i32, value: &SharedString) {
    ctx.note_session_data();
    let Ok(index) = usize::try_from(index) else {
        return;
    };
    let mut flow = flow.borrow_mut();
    let Some(slot) = flow.values.get_mut(index) else {
        return;
    };
    *slot = value.to_string();
    let Some(field) = flow.item.as_ref().and_then(|i| i.form.get(index)) else {
        return;
    };
    let model = ctx.window().global::<ApplyAdapter>().get_fields();
    let Some(mut row) = model.row_data(index) else {
        return;
    };
    // A choice shows at once; a text box is left alone while typed (its text is already
    // on screen) unless its complaint can go.
    let settled = row.problem != ApplyFieldProblem::None
        && check_field(field.kind, field.required, &field.choices, value).is_ok();
    if field.kind == FieldKind::Choice || settled {
        row.value = value.clone();
        row.problem = ApplyFieldProblem::None;
        model.set_row_data(index, row);
    }
}

fn form_done(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    let mut all_fine = true;
    let mut review = Vec::new();
    {
        let mut flow = flow.borrow_mut();
        let Some(item) = flow.item.clone() else {
            return;
        };
        let model = adapter.get_fields();
        for (index, field) in item.form.iter().enumerate() {
            let typed = flow.values.get(index).cloned().unwrap_or_default();
            match check_field(field.kind, field.required, &field.choices, &typed) {
                Ok(value) => {
                    if !value.is_empty() {
                        review.push(ApplyReviewRow {
                            label: field.label_zh.as_str().into(),
                            value: value.as_str().into(),
                        });
                    }
                    if let Some(slot) = flow.values.get_mut(index) {
                        *slot = value.clone();
                    }
                    if model
                        .row_data(index)
                        .is_some_and(|row| row.problem != ApplyFieldProblem::None)
                    {
                        model.set_row_data(index, field_row(field, &value, None));
                    }
                }
                Err(problem) => {
                    all_fine = false;
                    model.set_row_data(index, field_row(field, &typed, Some(problem)));
                }
            }
        }
    }
    if !all_fine {
        return;
    }
    adapter.set_review_rows(ModelRc::new(VecModel::from(review)));
    adapter.set_submit_problem(ApplySubmitProblem::None);
    adapter.set_step(ApplyStep::Review);
}

/// Saves the application; the receipt shows (and prints) only once the store committed it.
fn submit(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if adapter.get_busy() {
        return;
    }
    let prepared = {
        let flow = flow.borrow();
        let Some(item) = flow.item.clone() else {
            return;
        };
        let fields = item
            .form
            .iter()
            .zip(&flow.values)
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(field, value)| (field.key.clone(), value.clone()))
            .collect();
        let applicant = flow.applicant.as_ref();
        let draft = Draft {
            kind: SubmissionKind::Application,
            item_code: Some(item.code.clone()),
            fields,
            text: None,
            rating: None,
            name: applicant.map(|a| a.name.clone()),
            id_number: applicant.map(|a| a.id_number.expose().to_owned()),
            address: applicant.and_then(|a| a.address.clone()),
            contact_phone: None,
        };
        prepare(draft, ItemLookup::Found(&item)).map(|mut new| {
            // So the same card (or number) can list its receipts on the progress page.
            new.holder_id_number = applicant.map(|a| a.id_number.expose().to_owned());
            (new, item)
        })
    };
    let (new, item) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            // The error names the item and field keys only.
            tracing::warn!(%err, "application does not fit its item");
            adapter.set_submit_problem(ApplySubmitProblem::Incomplete);
            return;
        }
    };
    adapter.set_busy(true);
    adapter.set_submit_problem(ApplySubmitProblem::None);
    let flow = Rc::clone(flow);
    ctx.background(
        move |services| {
            services.with_store(|store| {
                let booth = store
                    .identity()
                    .ok()
                    .flatten()
                    .map(|i| i.village.village)
                    .unwrap_or_default();
                store.submit(new).map(|receipt| (receipt, booth))
            })
        },
        move |ctx, saved| {
            let window = ctx.window();
            let adapter = window.global::<ApplyAdapter>();
            adapter.set_busy(false);
            let (receipt, booth) = match saved {
                Ok(saved) => saved,
                Err(err) => {
                    tracing::error!(%err, "application not saved");
                    adapter.set_submit_problem(ApplySubmitProblem::NotSaved);
                    return;
                }
            };
            tracing::info!(receipt = %receipt.number, item = %item.code, "application saved");
            ctx.services.wake_sync();
            super::header::refresh_identity_and_queue(ctx);
            show_receipt(ctx, &receipt, &item);
            flow.borrow_mut().submitted = Some(Submitted {
                receipt,
                booth,
                item,
            });
            print(ctx, &flow);
        },
    );
}

fn show_receipt(ctx: &Rc<Ctx>, receipt: &StoredReceipt, item: &CatalogItem) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    let number = receipt.number.to_string();
    match qr::picture(&number) {
        Ok(picture) => adapter.set_receipt_qr(slint::Image::from_rgb8(picture)),
        Err(err) => tracing::error!(%err, "cannot draw the receipt's QR code"),
    }
    adapter.set_receipt_number(number.into());
    adapter.set_receipt_time(
        receipt
            .created_at
            .with_timezone(&beijing())
            .format("%Y-%m-%d %H:%M")
            .to_string()
            .into(),
    );
    adapter.set_masked_id(receipt.masked_id.clone().unwrap_or_default().into());
    adapter.set_office_name(item.office.name.as_str().into());
    adapter.set_office_phone(item.office.phone.as_str().into());
    adapter.set_print_state(PrintState::Idle);
    adapter.set_step(ApplyStep::Receipt);
}

/// Prints the receipt of the application just submitted (again, from the Reprint button).
fn print(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if adapter.get_print_state() == PrintState::Printing {
        return;
    }
    let document = {
        let flow = flow.borrow();
        let Some(done) = &flow.submitted else { return };
        receipt_paper::document(&PrintedReceipt {
            booth: done.booth.clone(),
            kind: SubmissionKind::Application,
            item: Some(&done.item),
            item_code: Some(&done.item.code),
            receipt: &done.receipt,
        })
    };
    adapter.set_print_state(PrintState::Printing);
    ctx.background(
        move |services| services.devices().print(&document),
        |ctx, result| {
            let state = match result {
                Ok(report) => {
                    if report.paper_near_end() {
                        tracing::warn!("receipt printer paper is running out");
                    }
                    PrintState::Printed
                }
                Err(err) if err.is_paper_out() => {
                    tracing::warn!(%err, "receipt not printed: paper out");
                    PrintState::PaperOut
                }
                Err(err) => {
                    tracing::warn!(%err, "receipt not printed");
                    PrintState::Failed
                }
            };
            ctx.window().global::<ApplyAdapter>().set_print_state(state);
        },
    );
}

/// Back walks the steps in reverse; from the first step, and from the receipt's list of
/// items, it leads Home.
fn back(ctx: &Rc<Ctx>, flow: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();
    if adapter.get_busy() {
        return;
    }
    let needs_identity = flow
        .borrow()
        .item
        .as_ref()
        .is_some_and(|i| i.identity != IdentityNeed::None);
    match adapter.get_step() {
        ApplyStep::ChooseItem => ctx.show_page(Page::Home),
        ApplyStep::ReadCard | ApplyStep::Confirm => {
            ctx.stop_reading_cards();
            adapter.set_step(ApplyStep::ChooseItem);
        }
        ApplyStep::TypeId => read_card(ctx, flow),
        ApplyStep::Form if needs_identity && flow.borrow().applicant.is_some() => {
            show_confirm(ctx, flow);
        }
        ApplyStep::Form => adapter.set_step(ApplyStep::ChooseItem),
        ApplyStep::Review => adapter.set_step(ApplyStep::Form),
        ApplyStep::Receipt => {
            // The application is in; what stays is the choice of another one.
            flow.borrow_mut().submitted = None;
            adapter.set_print_state(PrintState::Idle);
            adapter.set_step(ApplyStep::ChooseItem);
        }
    }
}
