//! Where an application is, apart from Slint: the item, the applicant, the form's values, and
//! the receipt once the store committed it.

use std::rc::Rc;

use uuid::Uuid;

use chrono::NaiveDate;
use hardware::id_card::{Card, IdNumber};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use sync_protocol::feed::{
    CatalogItem, CorrectionMaterial, FieldKind, FormField, IdentityNeed, TimeLimit,
};
use sync_protocol::submission::SubmissionKind;
use ui::{
    ApplyAdapter, ApplyCardPrompt, ApplyCatalogueState, ApplyField, ApplyFieldKind,
    ApplyFieldProblem, ApplyIdError, ApplyItem, ApplyMaterial, ApplyPhotoState, ApplyReviewRow,
    ApplyStep, ApplySubmitProblem, MainWindow, PrintState,
};

use super::form::{FieldProblem, IdEntry, check_field, check_typing, finish_typing};
use super::qr;
use crate::app::bind::{Asserted, Changes, Flow};
use crate::app::devices::CardProblem;
use kiosk_core::devices::camera::CameraProblem;
use kiosk_core::receipt_paper::{PhoneUploadLink, beijing};
use kiosk_core::store::{NewPage, NewSubmission, Receipt as StoredReceipt};
use kiosk_core::submit::{Draft, ItemLookup, prepare};
use sync_protocol::attachment::MAX_ATTACHMENTS;

/// Who is applying. Never printed: `Debug` shows only where it came from.
pub struct Applicant {
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
    pub fn from_card(card: &Card) -> Self {
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
pub struct Submitted {
    pub receipt: StoredReceipt,
    pub booth: String,
    pub item: CatalogItem,
    /// The one-time page where the villager's phone uploads the materials, when they go by
    /// phone.
    pub phone_upload: Option<PhoneUploadLink>,
    /// For a supplement: the receipt number of the application it completes.
    pub supplement_to: Option<String>,
}

/// What the page asks of the booth's devices next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing: the page shows the next step by itself.
    Stay,
    /// Read an ID card (the card step is shown).
    ReadCard,
    /// Stop reading: the card step was left.
    StopReading,
    /// Show the camera's live picture (the photo step is shown).
    StartCamera,
    /// Take a still and make it a page.
    TakePhoto,
    /// Close the camera: the photo step was left.
    StopCamera,
    Home,
}

/// A page photographed and kept (or being checked): what is submitted, and its pictures.
pub struct Kept {
    pub jpeg: Vec<u8>,
    pub on_screen: slint::Image,
    pub thumbnail: slint::Image,
}

/// A kept page as the view holds it: the same page compares equal, so the screen's model is
/// rebuilt only when pages come or go.
#[derive(Clone)]
pub struct KeptRef(Rc<Kept>);

impl PartialEq for KeptRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for KeptRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeptRef({} bytes)", self.0.jpeg.len())
    }
}

/// One material of the chosen item, with its pages.
#[derive(Debug, Clone, PartialEq)]
struct MaterialPages {
    /// Its place in the item's list of materials, which the server files its pages under.
    index: u16,
    name: String,
    original: bool,
    count: u16,
    note: String,
    pages: Vec<KeptRef>,
    later: bool,
}

/// The camera over one material.
#[derive(Debug, Clone, PartialEq)]
struct Photo {
    material: usize,
    state: ApplyPhotoState,
    page_found: bool,
    taken: Option<KeptRef>,
}

/// What a field row shows: the value as last written and its complaint. A text box shows
/// what is typed by itself, so typing does not rewrite its row.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    value: String,
    problem: ApplyFieldProblem,
}

#[derive(Debug, Default)]
pub struct Apply {
    catalogue: Vec<CatalogItem>,
    catalogue_state: ApplyCatalogueState,
    step: ApplyStep,
    item: Option<CatalogItem>,
    applicant: Option<Applicant>,
    /// The form's values, one per field of `item`, as typed (checked on Next).
    values: Vec<String>,
    rows: Vec<Row>,
    /// Each new form replaces the screen's rows.
    form_shown: Asserted<()>,
    card_prompt: ApplyCardPrompt,
    /// The typed number and name are the screen's input; each clearing empties them.
    typed_cleared: Asserted<()>,
    typed_id_error: ApplyIdError,
    typed_name_missing: bool,
    review: Vec<ApplyReviewRow>,
    /// Whether the booth has a document camera: materials are photographed only then.
    has_camera: bool,
    /// Whether a booth without a camera offers the phone upload page for the materials.
    phone_uploads: bool,
    materials: Vec<MaterialPages>,
    photo: Option<Photo>,
    /// Photographing again what a correction named: the application it completes.
    supplement_to: Option<(Uuid, String)>,
    busy: bool,
    submit_problem: ApplySubmitProblem,
    submitted: Option<Submitted>,
    print: PrintState,
}

#[derive(Debug, PartialEq)]
pub struct ApplyPage {
    step: ApplyStep,
    catalogue_state: ApplyCatalogueState,
    items: Vec<ApplyItem>,
    item_name: String,
    item_name_en: String,
    item_time_limit_days: i32,
    can_type_id: bool,
    card_prompt: ApplyCardPrompt,
    typed_cleared: Asserted<()>,
    typed_id_error: ApplyIdError,
    typed_name_missing: bool,
    holder_name: String,
    masked_id: String,
    form: Vec<FormField>,
    form_shown: Asserted<()>,
    rows: Vec<Row>,
    review: Vec<ApplyReviewRow>,
    with_materials: bool,
    phone_upload: bool,
    phone_upload_url: String,
    phone_upload_until: String,
    supplement_to: String,
    materials: Vec<MaterialPages>,
    pages_full: bool,
    photo: Option<Photo>,
    busy: bool,
    submit_problem: ApplySubmitProblem,
    receipt_number: String,
    receipt_time: String,
    office_name: String,
    office_phone: String,
    print: PrintState,
}

impl Apply {
    /// Everything of the villager's forgotten; the catalogue stays to choose from.
    pub fn start(&mut self) {
        self.step = ApplyStep::ChooseItem;
        self.item = None;
        self.applicant = None;
        self.values.clear();
        self.rows.clear();
        self.form_shown.set(());
        self.card_prompt = ApplyCardPrompt::Waiting;
        self.clear_typed();
        self.review.clear();
        self.materials.clear();
        self.photo = None;
        self.supplement_to = None;
        self.busy = false;
        self.submit_problem = ApplySubmitProblem::None;
        self.submitted = None;
        self.print = PrintState::Idle;
    }

    fn clear_typed(&mut self) {
        self.typed_cleared.set(());
        self.typed_id_error = ApplyIdError::None;
        self.typed_name_missing = false;
    }

    pub fn choosing(&self) -> bool {
        self.step == ApplyStep::ChooseItem
    }

    pub fn reading_card(&self) -> bool {
        self.step == ApplyStep::ReadCard
    }

    /// Whether the camera's pictures are wanted now.
    pub fn photographing(&self) -> bool {
        self.step == ApplyStep::Photo
    }

    /// The receipt number of the application a supplement completes, while one is made.
    pub fn supplement_receipt(&self) -> Option<String> {
        self.supplement_to
            .as_ref()
            .map(|(_, receipt)| receipt.clone())
    }

    /// Whether this booth photographs materials (it has a document camera).
    pub fn set_camera(&mut self, has_camera: bool) {
        self.has_camera = has_camera;
    }

    /// Whether, without a camera, the receipt offers the phone upload page.
    pub fn set_phone_uploads(&mut self, offered: bool) {
        self.phone_uploads = offered;
    }

    /// Photographing again the `materials` a correction named, for the application `original`
    /// (receipt `receipt`) of `item`: the materials step, then the review and a receipt.
    pub fn start_supplement(
        &mut self,
        original: Uuid,
        receipt: &str,
        item: CatalogItem,
        materials: &[CorrectionMaterial],
    ) {
        self.start();
        self.materials = materials
            .iter()
            .map(|material| {
                let listed = item.materials.get(usize::from(material.index));
                MaterialPages {
                    index: material.index,
                    name: material.name.clone(),
                    original: listed.is_some_and(|m| m.original),
                    count: listed.map_or(1, |m| m.count),
                    note: listed.and_then(|m| m.note.clone()).unwrap_or_default(),
                    pages: Vec::new(),
                    later: false,
                }
            })
            .collect();
        self.item = Some(item);
        self.supplement_to = Some((original, receipt.to_owned()));
        self.step = ApplyStep::Materials;
    }

    /// Whether this application has the materials step: a camera, and materials to take.
    fn with_materials(&self) -> bool {
        self.has_camera && !self.materials.is_empty()
    }

    /// Whether this application's materials go by the villager's phone: no camera, materials
    /// to take, and the page offered (never for a supplement, which only a camera takes).
    fn phone_upload(&self) -> bool {
        !self.has_camera
            && self.phone_uploads
            && !self.materials.is_empty()
            && self.supplement_to.is_none()
    }

    pub fn catalogue_loaded(&mut self, items: Vec<CatalogItem>) {
        self.catalogue = items.into_iter().filter(|item| !item.withdrawn).collect();
        self.catalogue_state = if self.catalogue.is_empty() {
            ApplyCatalogueState::Empty
        } else {
            ApplyCatalogueState::Ready
        };
    }

    /// The item `code`; `holder` is a card read earlier in this session, offered for
    /// confirmation rather than asked for again.
    pub fn choose_item(&mut self, code: &str, holder: Option<Applicant>) -> Next {
        let Some(item) = self.catalogue.iter().find(|i| i.code == code).cloned() else {
            return Next::Stay;
        };
        self.submit_problem = ApplySubmitProblem::None;
        let need = item.identity;
        self.values = vec![String::new(); item.form.len()];
        self.supplement_to = None;
        self.materials = (0..)
            .zip(&item.materials)
            .map(|(index, material)| MaterialPages {
                index,
                name: material.name.clone(),
                original: material.original,
                count: material.count,
                note: material.note.clone().unwrap_or_default(),
                pages: Vec::new(),
                later: false,
            })
            .collect();
        self.photo = None;
        self.item = Some(item);
        if self.applicant.as_ref().is_some_and(|a| !a.covers(need)) {
            self.applicant = None;
        }
        if need == IdentityNeed::None {
            self.show_form();
            return Next::Stay;
        }
        if let Some(applicant) = holder.filter(|a| a.covers(need)) {
            self.applicant.get_or_insert(applicant);
        }
        if self.applicant.is_some() {
            self.step = ApplyStep::Confirm;
            Next::Stay
        } else {
            Next::ReadCard
        }
    }

    /// The card prompt, until a usable card is on the reader.
    pub fn read_card(&mut self, has_reader: bool) {
        self.card_prompt = if has_reader {
            ApplyCardPrompt::Waiting
        } else {
            ApplyCardPrompt::ReaderUnavailable
        };
        self.step = ApplyStep::ReadCard;
    }

    pub fn card_failed(&mut self, problem: CardProblem) {
        self.card_prompt = match problem {
            CardProblem::HoldStill => ApplyCardPrompt::HoldStill,
            CardProblem::Unreadable => ApplyCardPrompt::Unreadable,
            CardProblem::ReaderUnavailable => ApplyCardPrompt::ReaderUnavailable,
        };
    }

    /// A card read on `today`: `true` if it identifies the applicant (reading can stop).
    pub fn card_read(&mut self, card: &Card, today: NaiveDate) -> bool {
        if !card.valid_until().covers(today) {
            self.card_prompt = ApplyCardPrompt::Expired;
            return false;
        }
        let applicant = Applicant::from_card(card);
        let need = self
            .item
            .as_ref()
            .map_or(IdentityNeed::IdNumber, |i| i.identity);
        if !applicant.covers(need) {
            self.card_prompt = ApplyCardPrompt::NoAddress;
            return false;
        }
        self.applicant = Some(applicant);
        self.step = ApplyStep::Confirm;
        true
    }

    /// Typing the number instead of reading the card: only where the card's address is not
    /// needed, so a typed identity is never less than the item asks for.
    fn can_type_id(&self) -> bool {
        self.item
            .as_ref()
            .is_some_and(|i| i.identity == IdentityNeed::IdNumber)
    }

    pub fn type_id_instead(&mut self) {
        if self.can_type_id() {
            self.clear_typed();
            self.step = ApplyStep::TypeId;
        }
    }

    pub fn typed_id_edited(&mut self, text: &str) {
        self.typed_id_error = id_error(check_typing(text));
    }

    pub fn typed_name_edited(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.typed_name_missing = false;
        }
    }

    /// The typed number and name, as on screen: the applicant, or what to fix.
    pub fn use_typed_id(&mut self, typed_id: &str, typed_name: &str) {
        let number = finish_typing(typed_id);
        let name = typed_name.trim().to_owned();
        self.typed_id_error = match &number {
            Ok(_) => ApplyIdError::None,
            Err(problem) => id_error(*problem),
        };
        self.typed_name_missing = name.is_empty();
        let Ok(id_number) = number else { return };
        if name.is_empty() {
            return;
        }
        self.applicant = Some(Applicant {
            name,
            id_number,
            address: None,
            from_card: false,
        });
        self.step = ApplyStep::Confirm;
    }

    /// "Not me": this identity is dropped and asked for again the way it was given.
    pub fn identify_again(&mut self) -> Next {
        let typed = self.applicant.take().is_some_and(|a| !a.from_card);
        if typed {
            self.clear_typed();
            self.step = ApplyStep::TypeId;
            Next::Stay
        } else {
            Next::ReadCard
        }
    }

    /// The item's form with the values entered so far.
    pub fn show_form(&mut self) {
        if self.item.is_none() {
            return;
        }
        self.rows = self
            .values
            .iter()
            .map(|value| Row {
                value: value.clone(),
                problem: ApplyFieldProblem::None,
            })
            .collect();
        self.form_shown.set(());
        self.step = ApplyStep::Form;
    }

    pub fn field_edited(&mut self, index: i32, value: &str) {
        let Ok(index) = usize::try_from(index) else {
            return;
        };
        let Some(slot) = self.values.get_mut(index) else {
            return;
        };
        value.clone_into(slot);
        let Some(field) = self.item.as_ref().and_then(|i| i.form.get(index)) else {
            return;
        };
        let Some(row) = self.rows.get_mut(index) else {
            return;
        };
        // A choice shows at once; a text box is left alone while typed (its text is already
        // on screen) unless its complaint can go.
        let settled = row.problem != ApplyFieldProblem::None
            && check_field(field.kind, field.required, &field.choices, value).is_ok();
        if field.kind == FieldKind::Choice || settled {
            *row = Row {
                value: value.to_owned(),
                problem: ApplyFieldProblem::None,
            };
        }
    }

    /// Next on the form: the review, or each field's complaint.
    pub fn form_done(&mut self) {
        let Some(item) = self.item.clone() else {
            return;
        };
        let mut all_fine = true;
        let mut review = Vec::new();
        for (index, field) in item.form.iter().enumerate() {
            let typed = self.values.get(index).cloned().unwrap_or_default();
            let shown = match check_field(field.kind, field.required, &field.choices, &typed) {
                Ok(value) => {
                    if !value.is_empty() {
                        review.push(ApplyReviewRow {
                            label: field.label_zh.as_str().into(),
                            value: value.as_str().into(),
                        });
                    }
                    if let Some(slot) = self.values.get_mut(index) {
                        slot.clone_from(&value);
                    }
                    let complained = self
                        .rows
                        .get(index)
                        .is_some_and(|row| row.problem != ApplyFieldProblem::None);
                    complained.then_some(Row {
                        value,
                        problem: ApplyFieldProblem::None,
                    })
                }
                Err(problem) => {
                    all_fine = false;
                    Some(Row {
                        value: typed,
                        problem: field_problem(Some(problem)),
                    })
                }
            };
            if let (Some(shown), Some(row)) = (shown, self.rows.get_mut(index)) {
                *row = shown;
            }
        }
        if all_fine {
            self.review = review;
            self.submit_problem = ApplySubmitProblem::None;
            self.step = if self.with_materials() {
                ApplyStep::Materials
            } else {
                ApplyStep::Review
            };
        }
    }

    /// Pages photographed so far, of every material.
    fn pages_taken(&self) -> usize {
        self.materials.iter().map(|m| m.pages.len()).sum()
    }

    /// Whether another page fits in one submission.
    fn room_for_a_page(&self) -> bool {
        self.pages_taken() < MAX_ATTACHMENTS
    }

    /// The camera over material `index`, for its next page.
    pub fn photograph(&mut self, index: i32) -> Next {
        let Some(index) = usize::try_from(index)
            .ok()
            .filter(|&i| i < self.materials.len())
        else {
            return Next::Stay;
        };
        if self.step != ApplyStep::Materials || !self.room_for_a_page() {
            return Next::Stay;
        }
        if let Some(material) = self.materials.get_mut(index) {
            material.later = false;
        }
        self.photo = Some(Photo {
            material: index,
            state: ApplyPhotoState::Starting,
            page_found: false,
            taken: None,
        });
        self.step = ApplyStep::Photo;
        Next::StartCamera
    }

    /// Material `index`'s pages dropped and photographed afresh.
    pub fn retake_material(&mut self, index: i32) -> Next {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| self.materials.get_mut(i));
        match slot {
            Some(material) if self.step == ApplyStep::Materials => material.pages.clear(),
            _ => return Next::Stay,
        }
        self.photograph(index)
    }

    /// Material `index` handed in at the office instead (or, tapped again, photographed after
    /// all). A material with pages is already given.
    pub fn bring_later(&mut self, index: i32) {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| self.materials.get_mut(i));
        if let Some(material) = slot.filter(|m| m.pages.is_empty()) {
            material.later = !material.later;
        }
    }

    pub fn materials_done(&mut self) {
        // A correction is the pages photographed again: without one there is nothing to send.
        let nothing_taken = self.supplement_to.is_some() && self.pages_taken() == 0;
        if self.step == ApplyStep::Materials && !nothing_taken {
            self.submit_problem = ApplySubmitProblem::None;
            self.step = ApplyStep::Review;
        }
    }

    /// The camera step's state, when it is shown and in one of `states`.
    fn photo_in(&mut self, states: &[ApplyPhotoState]) -> Option<&mut Photo> {
        if self.step != ApplyStep::Photo {
            return None;
        }
        self.photo
            .as_mut()
            .filter(|photo| states.contains(&photo.state))
    }

    /// A live frame came; `page_found`: the page's edges are in it.
    pub fn camera_preview(&mut self, page_found: bool) {
        let live = [ApplyPhotoState::Starting, ApplyPhotoState::Preview];
        if let Some(photo) = self.photo_in(&live) {
            photo.state = ApplyPhotoState::Preview;
            photo.page_found = page_found;
        }
    }

    pub fn take_photo(&mut self) -> Next {
        let live = [ApplyPhotoState::Starting, ApplyPhotoState::Preview];
        match self.photo_in(&live) {
            Some(photo) => {
                photo.state = ApplyPhotoState::Taking;
                Next::TakePhoto
            }
            None => Next::Stay,
        }
    }

    /// The still came back as a page, to check.
    pub fn photo_taken(&mut self, kept: Kept) {
        if let Some(photo) = self.photo_in(&[ApplyPhotoState::Taking]) {
            photo.state = ApplyPhotoState::Check;
            photo.taken = Some(KeptRef(Rc::new(kept)));
        }
    }

    pub fn camera_failed(&mut self, problem: CameraProblem) {
        if let Some(photo) = self
            .photo
            .as_mut()
            .filter(|_| self.step == ApplyStep::Photo)
        {
            photo.state = match problem {
                CameraProblem::NotAPage if photo.state == ApplyPhotoState::Taking => {
                    ApplyPhotoState::NotAPage
                }
                _ => ApplyPhotoState::Unavailable,
            };
        }
    }

    /// The page just checked is kept; `another`: the material's next page, else the list.
    pub fn keep_photo(&mut self, another: bool) -> Next {
        let Some(photo) = self
            .photo
            .as_mut()
            .filter(|_| self.step == ApplyStep::Photo)
        else {
            return Next::Stay;
        };
        let Some(taken) = photo.taken.take() else {
            return Next::Stay;
        };
        let material = photo.material;
        if let Some(slot) = self.materials.get_mut(material) {
            slot.pages.push(taken);
        }
        if another && self.room_for_a_page() {
            self.photo = Some(Photo {
                material,
                state: ApplyPhotoState::Starting,
                page_found: false,
                taken: None,
            });
            Next::StartCamera
        } else {
            self.photo = None;
            self.step = ApplyStep::Materials;
            Next::StopCamera
        }
    }

    /// The page just taken is dropped and taken again.
    pub fn retake_photo(&mut self) -> Next {
        match self.photo_in(&[ApplyPhotoState::Check, ApplyPhotoState::NotAPage]) {
            Some(photo) => {
                photo.taken = None;
                photo.state = ApplyPhotoState::Starting;
                photo.page_found = false;
                Next::StartCamera
            }
            None => Next::Stay,
        }
    }

    /// The pages to submit, each named by its material as the item lists it.
    fn new_pages(&self) -> Vec<NewPage> {
        let mut pages = Vec::new();
        for material in &self.materials {
            for (number, kept) in (1..).zip(&material.pages) {
                pages.push(NewPage {
                    material: material.index,
                    material_name: material.name.clone(),
                    page: number,
                    jpeg: kept.0.jpeg.clone(),
                });
            }
        }
        pages
    }

    /// The submission to save and its item, unless one is being saved or it does not fit.
    pub fn submit(&mut self) -> Option<(NewSubmission, CatalogItem)> {
        if self.busy {
            return None;
        }
        let item = self.item.clone()?;
        if let Some((original, _)) = &self.supplement_to {
            // Only the pages: the application it completes holds the applicant and the form.
            let mut new = NewSubmission::new(SubmissionKind::Application);
            new.item_code = Some(item.code.clone());
            new.catalog_version = Some(item.version);
            new.supplement_to = Some(*original);
            new.pages = self.new_pages();
            self.busy = true;
            self.submit_problem = ApplySubmitProblem::None;
            return Some((new, item));
        }
        let fields = item
            .form
            .iter()
            .zip(&self.values)
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(field, value)| (field.key.clone(), value.clone()))
            .collect();
        let applicant = self.applicant.as_ref();
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
        match prepare(draft, ItemLookup::Found(&item)) {
            Ok(mut new) => {
                // So the same card (or number) can list its receipts on the progress page.
                new.holder_id_number = applicant.map(|a| a.id_number.expose().to_owned());
                if self.with_materials() {
                    new.pages = self.new_pages();
                }
                new.phone_upload = self.phone_upload();
                self.busy = true;
                self.submit_problem = ApplySubmitProblem::None;
                Some((new, item))
            }
            Err(err) => {
                // The error names the item and field keys only.
                tracing::warn!(%err, "application does not fit its item");
                self.submit_problem = ApplySubmitProblem::Incomplete;
                None
            }
        }
    }

    /// The store committed the application (its receipt is shown), or why it did not.
    pub fn saved(&mut self, saved: Result<Submitted, ApplySubmitProblem>) {
        self.busy = false;
        match saved {
            Ok(submitted) => {
                self.submitted = Some(submitted);
                // The pages are in the store now; the screen's copies go.
                for material in &mut self.materials {
                    material.pages.clear();
                }
                self.print = PrintState::Idle;
                self.step = ApplyStep::Receipt;
            }
            Err(problem) => self.submit_problem = problem,
        }
    }

    /// The receipt just submitted, to print (again), unless it is printing.
    pub fn print(&mut self) -> Option<&Submitted> {
        if self.print == PrintState::Printing {
            return None;
        }
        let submitted = self.submitted.as_ref()?;
        self.print = PrintState::Printing;
        Some(submitted)
    }

    pub fn printed(&mut self, outcome: PrintState) {
        self.print = outcome;
    }

    /// Back walks the steps in reverse; from the first step it leads Home.
    pub fn back(&mut self) -> Next {
        if self.busy {
            return Next::Stay;
        }
        let needs_identity = self
            .item
            .as_ref()
            .is_some_and(|i| i.identity != IdentityNeed::None);
        match self.step {
            ApplyStep::ChooseItem => return Next::Home,
            ApplyStep::ReadCard | ApplyStep::Confirm => {
                self.step = ApplyStep::ChooseItem;
                return Next::StopReading;
            }
            ApplyStep::TypeId => return Next::ReadCard,
            ApplyStep::Form if needs_identity && self.applicant.is_some() => {
                self.step = ApplyStep::Confirm;
            }
            ApplyStep::Form => self.step = ApplyStep::ChooseItem,
            ApplyStep::Materials if self.supplement_to.is_some() => return Next::Home,
            ApplyStep::Materials => self.step = ApplyStep::Form,
            ApplyStep::Photo => {
                // A page taken but not kept is dropped.
                self.photo = None;
                self.step = ApplyStep::Materials;
                return Next::StopCamera;
            }
            ApplyStep::Review if self.with_materials() => self.step = ApplyStep::Materials,
            ApplyStep::Review => self.step = ApplyStep::Form,
            ApplyStep::Receipt if self.supplement_to.is_some() => return Next::Home,
            ApplyStep::Receipt => {
                // The application is in; what stays is the choice of another one.
                self.submitted = None;
                self.print = PrintState::Idle;
                self.step = ApplyStep::ChooseItem;
            }
        }
        Next::Stay
    }
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

fn time_limit_days(limit: TimeLimit) -> i32 {
    match limit {
        TimeLimit::OnTheSpot => 0,
        TimeLimit::WorkingDays { days } => i32::from(days),
    }
}

fn field_row(field: &FormField, row: &Row) -> ApplyField {
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
        value: row.value.as_str().into(),
        problem: row.problem,
    }
}

impl Flow for Apply {
    type View = ApplyPage;

    fn view(&self) -> ApplyPage {
        let item = self.item.as_ref();
        let receipt = self.submitted.as_ref().map(|s| &s.receipt);
        let office = self.submitted.as_ref().map(|s| &s.item.office);
        let link = self
            .submitted
            .as_ref()
            .and_then(|s| s.phone_upload.as_ref());
        let masked_id = if self.step == ApplyStep::Receipt {
            receipt.and_then(|r| r.masked_id.clone())
        } else {
            self.applicant.as_ref().map(|a| a.id_number.masked())
        };
        ApplyPage {
            step: self.step,
            catalogue_state: self.catalogue_state,
            items: self
                .catalogue
                .iter()
                .map(|item| ApplyItem {
                    code: item.code.as_str().into(),
                    name: item.name_zh.as_str().into(),
                    name_en: item.name_en.as_str().into(),
                    time_limit_days: time_limit_days(item.time_limit),
                })
                .collect(),
            item_name: item.map(|i| i.name_zh.clone()).unwrap_or_default(),
            item_name_en: item.map(|i| i.name_en.clone()).unwrap_or_default(),
            item_time_limit_days: item.map_or(0, |i| time_limit_days(i.time_limit)),
            can_type_id: self.can_type_id(),
            card_prompt: self.card_prompt,
            typed_cleared: self.typed_cleared.clone(),
            typed_id_error: self.typed_id_error,
            typed_name_missing: self.typed_name_missing,
            holder_name: self
                .applicant
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            masked_id: masked_id.unwrap_or_default(),
            form: item.map(|i| i.form.clone()).unwrap_or_default(),
            form_shown: self.form_shown.clone(),
            rows: self.rows.clone(),
            review: self.review.clone(),
            with_materials: self.with_materials(),
            // Promised on the review; on the receipt only with the link made.
            phone_upload: self.phone_upload()
                && (self.step != ApplyStep::Receipt || link.is_some()),
            phone_upload_url: link.map(|l| l.url.clone()).unwrap_or_default(),
            phone_upload_until: link.map(PhoneUploadLink::until_zh).unwrap_or_default(),
            supplement_to: self
                .supplement_to
                .as_ref()
                .map(|(_, receipt)| receipt.clone())
                .unwrap_or_default(),
            materials: self.materials.clone(),
            pages_full: !self.room_for_a_page(),
            photo: self.photo.clone(),
            busy: self.busy,
            submit_problem: self.submit_problem,
            receipt_number: receipt.map(|r| r.number.to_string()).unwrap_or_default(),
            receipt_time: receipt
                .map(|r| {
                    r.created_at
                        .with_timezone(&beijing())
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
            office_name: office.map(|o| o.name.clone()).unwrap_or_default(),
            office_phone: office.map(|o| o.phone.clone()).unwrap_or_default(),
            print: self.print,
        }
    }

    fn render(now: &ApplyPage, before: Option<&ApplyPage>, window: &MainWindow) {
        let adapter = window.global::<ApplyAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.catalogue_state, |&s| adapter.set_catalogue_state(s));
        changes.write(
            |v| &v.items,
            |items| adapter.set_items(crate::app::bind::model(items)),
        );
        changes.write(|v| &v.item_name, |n| adapter.set_item_name(n.into()));
        changes.write(|v| &v.item_name_en, |n| adapter.set_item_name_en(n.into()));
        changes.write(
            |v| &v.item_time_limit_days,
            |&d| adapter.set_item_time_limit_days(d),
        );
        changes.write(|v| &v.can_type_id, |&c| adapter.set_can_type_id(c));
        changes.write(|v| &v.card_prompt, |&p| adapter.set_card_prompt(p));
        changes.write(
            |v| &v.typed_cleared,
            |_| {
                adapter.set_typed_id(SharedString::new());
                adapter.set_typed_name(SharedString::new());
            },
        );
        changes.write(|v| &v.typed_id_error, |&e| adapter.set_typed_id_error(e));
        changes.write(
            |v| &v.typed_name_missing,
            |&m| adapter.set_typed_name_missing(m),
        );
        changes.write(|v| &v.holder_name, |n| adapter.set_holder_name(n.into()));
        changes.write(|v| &v.masked_id, |m| adapter.set_masked_id(m.into()));
        render_rows(&adapter, now, before);
        changes.write(
            |v| &v.review,
            |rows| adapter.set_review_rows(crate::app::bind::model(rows)),
        );
        changes.write(|v| &v.with_materials, |&m| adapter.set_with_materials(m));
        changes.write(|v| &v.phone_upload, |&p| adapter.set_phone_upload(p));
        changes.write(
            |v| &v.phone_upload_url,
            |url| adapter.set_phone_upload_qr(qr_code(url, "the phone upload page's")),
        );
        changes.write(
            |v| &v.phone_upload_until,
            |until| adapter.set_phone_upload_until(until.into()),
        );
        changes.write(
            |v| &v.supplement_to,
            |r| adapter.set_supplement_to(r.into()),
        );
        changes.write(
            |v| &v.materials,
            |materials| {
                // The row to show first is known before the rows are built.
                adapter.set_material_to_do(material_to_do(materials));
                adapter.set_materials(material_rows(materials));
            },
        );
        changes.write(|v| &v.pages_full, |&f| adapter.set_pages_full(f));
        render_photo(&adapter, now, before);
        changes.write(|v| &v.busy, |&b| adapter.set_busy(b));
        changes.write(|v| &v.submit_problem, |&p| adapter.set_submit_problem(p));
        changes.write(
            |v| &v.receipt_number,
            |number| {
                adapter.set_receipt_qr(qr_code(number, "the receipt's"));
                adapter.set_receipt_number(number.into());
            },
        );
        changes.write(|v| &v.receipt_time, |t| adapter.set_receipt_time(t.into()));
        changes.write(|v| &v.office_name, |n| adapter.set_office_name(n.into()));
        changes.write(|v| &v.office_phone, |p| adapter.set_office_phone(p.into()));
        changes.write(|v| &v.print, |&s| adapter.set_print_state(s));
        changes.write(|v| &v.step, |&step| adapter.set_step(step));
    }
}

/// A new form replaces the rows; otherwise only the rows that changed are written in place,
/// so the text box being typed in keeps its focus.
fn render_rows(adapter: &ApplyAdapter<'_>, now: &ApplyPage, before: Option<&ApplyPage>) {
    let new_form = before.is_none_or(|b| b.form_shown != now.form_shown || b.form != now.form);
    if new_form {
        let rows: Vec<ApplyField> = now
            .form
            .iter()
            .zip(&now.rows)
            .map(|(field, row)| field_row(field, row))
            .collect();
        adapter.set_fields(ModelRc::new(VecModel::from(rows)));
        return;
    }
    let Some(before) = before else { return };
    let model = adapter.get_fields();
    for (index, (field, row)) in now.form.iter().zip(&now.rows).enumerate() {
        if before.rows.get(index) != Some(row) {
            model.set_row_data(index, field_row(field, row));
        }
    }
}

fn material_rows(materials: &[MaterialPages]) -> ModelRc<ApplyMaterial> {
    let rows: Vec<ApplyMaterial> = materials
        .iter()
        .map(|material| {
            let pages: Vec<slint::Image> = material
                .pages
                .iter()
                .map(|kept| kept.0.thumbnail.clone())
                .collect();
            ApplyMaterial {
                name: material.name.as_str().into(),
                original: material.original,
                count: i32::from(material.count),
                note: material.note.as_str().into(),
                pages: ModelRc::new(VecModel::from(pages)),
                later: material.later,
            }
        })
        .collect();
    ModelRc::new(VecModel::from(rows))
}

/// The row the materials list opens on: the first material neither photographed nor left for
/// later, or -1 when every one is handled.
fn material_to_do(materials: &[MaterialPages]) -> i32 {
    materials
        .iter()
        .position(|material| material.pages.is_empty() && !material.later)
        .and_then(|index| i32::try_from(index).ok())
        .unwrap_or(-1)
}

/// The camera step's words and the page to check; the live picture is written as it comes.
fn render_photo(adapter: &ApplyAdapter<'_>, now: &ApplyPage, before: Option<&ApplyPage>) {
    let photo = now.photo.as_ref();
    if before.is_some_and(|b| b.photo.as_ref() == photo) {
        return;
    }
    let material = photo
        .and_then(|p| now.materials.get(p.material))
        .map(|m| m.name.as_str())
        .unwrap_or_default();
    adapter.set_photo_material(material.into());
    let page = photo
        .and_then(|p| now.materials.get(p.material))
        .map_or(0, |m| m.pages.len());
    adapter.set_photo_page(i32::try_from(page + 1).unwrap_or(i32::MAX));
    adapter.set_photo_state(photo.map_or(ApplyPhotoState::Starting, |p| p.state));
    adapter.set_photo_page_found(photo.is_some_and(|p| p.page_found));
    let taken = photo.and_then(|p| p.taken.as_ref());
    adapter.set_photo_taken(taken.map(|t| t.0.on_screen.clone()).unwrap_or_default());
    if photo.is_none_or(|p| p.state == ApplyPhotoState::Starting) {
        // The last material's picture must not show under the next one's name.
        adapter.set_photo_preview(slint::Image::default());
    }
}

/// `text` (the receipt's number, the upload page's address) as a QR code; none for no text.
fn qr_code(text: &str, whose: &str) -> slint::Image {
    if text.is_empty() {
        return slint::Image::default();
    }
    match qr::picture(text) {
        Ok(picture) => slint::Image::from_rgb8(picture),
        Err(err) => {
            tracing::error!(%err, "cannot draw {whose} QR code");
            slint::Image::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use hardware::id_card::samples;

    use super::*;
    use crate::app::samples::catalogue;

    /// 城乡居民基本医疗保险参保登记: an ID number is enough, so it may be typed.
    const BY_NUMBER: &str = "GX-YB-001";
    /// 户籍证明开具: needs the card's address.
    const FULL: &str = "GX-GA-001";
    /// A made-up number with a correct check character (the sample card's).
    const VALID: &str = "110105198001010016";

    fn choosing() -> Apply {
        let mut apply = Apply::default();
        apply.start();
        apply.catalogue_loaded(catalogue());
        apply
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date")
    }

    #[test]
    fn an_item_without_a_card_read_asks_for_one() {
        let mut apply = choosing();
        assert_eq!(apply.view().catalogue_state, ApplyCatalogueState::Ready);
        assert_eq!(apply.choose_item(FULL, None), Next::ReadCard);
        apply.read_card(true);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::ReadCard);
        assert_eq!(view.card_prompt, ApplyCardPrompt::Waiting);
        assert!(!view.can_type_id, "the address is needed");
        apply.card_failed(CardProblem::HoldStill);
        assert_eq!(apply.view().card_prompt, ApplyCardPrompt::HoldStill);

        assert!(apply.card_read(&samples::resident(), today()));
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Confirm);
        assert!(!view.holder_name.is_empty());
        assert!(view.masked_id.contains('*'), "shown masked");
    }

    #[test]
    fn a_card_read_earlier_in_the_session_is_offered() {
        let mut apply = choosing();
        let holder = Applicant::from_card(&samples::resident());
        assert_eq!(apply.choose_item(FULL, Some(holder)), Next::Stay);
        assert_eq!(apply.view().step, ApplyStep::Confirm);
        assert_eq!(
            apply.identify_again(),
            Next::ReadCard,
            "not me: the card again"
        );
    }

    #[test]
    fn a_typed_number_needs_a_valid_number_and_a_name() {
        let mut apply = choosing();
        apply.choose_item(BY_NUMBER, None);
        apply.read_card(false);
        assert_eq!(apply.view().card_prompt, ApplyCardPrompt::ReaderUnavailable);
        apply.type_id_instead();
        assert_eq!(apply.view().step, ApplyStep::TypeId);
        apply.typed_id_edited("11010A");
        assert_eq!(apply.view().typed_id_error, ApplyIdError::BadCharacter);
        apply.use_typed_id("1101", "");
        let view = apply.view();
        assert_eq!(view.typed_id_error, ApplyIdError::TooShort);
        assert!(view.typed_name_missing);
        apply.typed_name_edited("李秀英");
        assert!(!apply.view().typed_name_missing);
        apply.use_typed_id(VALID, " 李秀英 ");
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Confirm);
        assert_eq!(view.holder_name, "李秀英");

        let typed = apply.view().typed_cleared;
        assert_eq!(apply.identify_again(), Next::Stay, "typed again, not read");
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::TypeId);
        assert_ne!(view.typed_cleared, typed, "the boxes are emptied");
    }

    #[test]
    fn the_form_complains_per_field_and_then_reviews() {
        let mut apply = choosing();
        apply.choose_item(FULL, Some(Applicant::from_card(&samples::resident())));
        apply.show_form();
        assert_eq!(apply.view().step, ApplyStep::Form);
        apply.form_done();
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Form);
        assert_eq!(view.rows[0].problem, ApplyFieldProblem::ChooseOne);
        assert_eq!(view.rows[2].problem, ApplyFieldProblem::Required);

        // A choice shows at once; typing only clears a complaint once it is settled.
        apply.field_edited(0, "入学");
        assert_eq!(apply.view().rows[0].value, "入学");
        apply.field_edited(2, "12");
        assert_eq!(apply.view().rows[2].problem, ApplyFieldProblem::Required);
        apply.field_edited(2, "13812345678");
        assert_eq!(apply.view().rows[2].problem, ApplyFieldProblem::None);

        apply.form_done();
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Review);
        assert_eq!(view.review.len(), 2);
        assert_eq!(apply.back(), Next::Stay);
        assert_eq!(apply.view().step, ApplyStep::Form);
        assert_eq!(apply.back(), Next::Stay);
        assert_eq!(apply.view().step, ApplyStep::Confirm, "the identity again");
    }

    #[test]
    fn submitting_is_once_at_a_time_and_the_receipt_can_print_again() {
        let mut apply = filled(false);
        let (new, item) = apply.submit().expect("a complete application");
        assert_eq!(item.code, FULL);
        assert!(new.holder_id_number.is_some(), "findable by card");
        assert!(apply.view().busy);
        assert!(apply.submit().is_none(), "one at a time");
        assert_eq!(apply.back(), Next::Stay);
        assert_eq!(
            apply.view().step,
            ApplyStep::Review,
            "no leaving while saving"
        );

        apply.saved(Err(ApplySubmitProblem::NotSaved));
        let view = apply.view();
        assert!(!view.busy);
        assert_eq!(view.submit_problem, ApplySubmitProblem::NotSaved);
    }

    #[test]
    fn back_from_the_card_step_stops_reading_and_from_the_start_leaves() {
        let mut apply = choosing();
        apply.choose_item(FULL, None);
        apply.read_card(true);
        assert_eq!(apply.back(), Next::StopReading);
        assert!(apply.choosing());
        assert_eq!(apply.back(), Next::Home);
    }

    /// The sample item's form filled in and done, on a booth with or without a camera.
    fn filled(has_camera: bool) -> Apply {
        let mut apply = choosing();
        apply.set_camera(has_camera);
        apply.choose_item(FULL, Some(Applicant::from_card(&samples::resident())));
        apply.show_form();
        apply.field_edited(0, "入学");
        apply.field_edited(2, "13812345678");
        apply.form_done();
        apply
    }

    /// With a camera the materials step follows the form.
    fn at_materials() -> Apply {
        filled(true)
    }

    fn page(bytes: &[u8]) -> Kept {
        Kept {
            jpeg: bytes.to_vec(),
            on_screen: slint::Image::default(),
            thumbnail: slint::Image::default(),
        }
    }

    /// Photographs one page of the material being shown and keeps it.
    fn take_and_keep(apply: &mut Apply, bytes: &[u8], another: bool) -> Next {
        apply.camera_preview(true);
        assert_eq!(apply.take_photo(), Next::TakePhoto);
        apply.photo_taken(page(bytes));
        assert_eq!(apply.view().photo.unwrap().state, ApplyPhotoState::Check);
        apply.keep_photo(another)
    }

    #[test]
    fn without_a_camera_the_form_leads_to_the_review() {
        let mut apply = filled(false);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Review);
        assert!(!view.with_materials);
        let (new, _) = apply.submit().unwrap();
        assert!(new.pages.is_empty());
    }

    #[test]
    fn without_a_camera_the_materials_go_by_phone_and_the_receipt_shows_its_code() {
        let mut apply = filled(false);
        apply.set_phone_uploads(true);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Review);
        assert!(
            view.phone_upload,
            "the review says the materials go by phone"
        );
        assert_eq!(view.materials.len(), 2, "and names them");
        let (new, item) = apply.submit().unwrap();
        assert!(new.phone_upload, "the store makes the page's token");
        assert!(new.pages.is_empty());

        let created = "2026-12-07T02:00:00Z".parse().unwrap();
        let link =
            PhoneUploadLink::new("https://county.example/", "AAAAAAAAAAAAAAAAAAAAAA", created);
        apply.saved(Ok(Submitted {
            receipt: StoredReceipt {
                id: Uuid::nil(),
                seq: 1,
                number: sync_protocol::receipt::ReceiptNumber::new(1, 1),
                created_at: created,
                masked_id: None,
                phone_upload_token: Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
            },
            booth: "青山村".into(),
            item,
            phone_upload: Some(link),
            supplement_to: None,
        }));
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Receipt);
        assert!(view.phone_upload);
        assert_eq!(
            view.phone_upload_url,
            "https://county.example/m/AAAAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(view.phone_upload_until, "12月14日");
    }

    #[test]
    fn no_phone_page_when_the_booth_offers_none_or_has_a_camera() {
        let mut offers_none = filled(false);
        assert!(!offers_none.view().phone_upload);
        assert!(!offers_none.submit().unwrap().0.phone_upload);

        let mut with_camera = filled(true);
        with_camera.set_phone_uploads(true);
        with_camera.materials_done();
        assert_eq!(with_camera.view().step, ApplyStep::Review);
        assert!(!with_camera.view().phone_upload);
        assert!(!with_camera.submit().unwrap().0.phone_upload);
    }

    #[test]
    fn the_list_opens_on_the_first_material_neither_photographed_nor_left_for_later() {
        let mut apply = at_materials();
        assert_eq!(material_to_do(&apply.view().materials), 0);
        apply.photograph(0);
        take_and_keep(&mut apply, b"card", false);
        assert_eq!(material_to_do(&apply.view().materials), 1);
        apply.bring_later(1);
        assert_eq!(material_to_do(&apply.view().materials), -1, "all handled");
    }

    #[test]
    fn each_material_is_photographed_page_by_page_and_submitted_under_its_name() {
        let mut apply = at_materials();
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Materials);
        assert!(view.with_materials);
        let names: Vec<&str> = view.materials.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["居民身份证", "居民户口簿"],
            "the guide's list, in order"
        );

        // The household register: two pages, the first taken twice.
        assert_eq!(apply.photograph(1), Next::StartCamera);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Photo);
        assert_eq!(
            view.photo.as_ref().unwrap().state,
            ApplyPhotoState::Starting
        );
        apply.camera_preview(false);
        assert!(!apply.view().photo.unwrap().page_found);
        apply.camera_preview(true);
        assert_eq!(apply.take_photo(), Next::TakePhoto);
        assert_eq!(apply.take_photo(), Next::Stay, "one still at a time");
        apply.photo_taken(page(b"blurred"));
        assert_eq!(apply.retake_photo(), Next::StartCamera);
        assert_eq!(
            take_and_keep(&mut apply, b"register 1", true),
            Next::StartCamera
        );
        assert_eq!(apply.view().step, ApplyStep::Photo, "the next page");
        assert_eq!(
            take_and_keep(&mut apply, b"register 2", false),
            Next::StopCamera
        );
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Materials);
        assert_eq!(view.materials[1].pages.len(), 2);

        // The ID card is brought to the office later.
        apply.bring_later(0);
        assert!(apply.view().materials[0].later);
        apply.materials_done();
        assert_eq!(apply.view().step, ApplyStep::Review);
        assert_eq!(apply.back(), Next::Stay);
        assert_eq!(
            apply.view().step,
            ApplyStep::Materials,
            "back to the photos"
        );
        apply.materials_done();

        let (new, _) = apply.submit().expect("complete");
        let pages: Vec<(u16, &str, u16, &[u8])> = new
            .pages
            .iter()
            .map(|p| {
                (
                    p.material,
                    p.material_name.as_str(),
                    p.page,
                    p.jpeg.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            pages,
            [
                (1, "居民户口簿", 1, b"register 1".as_slice()),
                (1, "居民户口簿", 2, b"register 2".as_slice()),
            ]
        );
    }

    #[test]
    fn leaving_the_camera_drops_the_unkept_page_and_retaking_a_material_drops_its_pages() {
        let mut apply = at_materials();
        apply.photograph(0);
        take_and_keep(&mut apply, b"card", false);
        apply.photograph(0);
        apply.camera_preview(true);
        apply.take_photo();
        apply.photo_taken(page(b"not kept"));
        assert_eq!(apply.back(), Next::StopCamera);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Materials);
        assert_eq!(view.materials[0].pages.len(), 1, "only the kept page");
        assert!(view.photo.is_none());

        apply.bring_later(0);
        assert!(
            !apply.view().materials[0].later,
            "a photographed material is given"
        );
        assert_eq!(apply.retake_material(0), Next::StartCamera);
        assert!(apply.view().materials[0].pages.is_empty());
    }

    #[test]
    fn a_camera_that_fails_says_so_and_a_bad_still_can_be_taken_again() {
        let mut apply = at_materials();
        apply.photograph(0);
        apply.camera_failed(CameraProblem::Unavailable);
        assert_eq!(
            apply.view().photo.unwrap().state,
            ApplyPhotoState::Unavailable
        );
        assert_eq!(apply.take_photo(), Next::Stay);
        assert_eq!(apply.back(), Next::StopCamera);

        apply.photograph(0);
        apply.camera_preview(true);
        apply.take_photo();
        apply.camera_failed(CameraProblem::NotAPage);
        assert_eq!(apply.view().photo.unwrap().state, ApplyPhotoState::NotAPage);
        assert_eq!(apply.retake_photo(), Next::StartCamera);
        assert_eq!(apply.view().photo.unwrap().state, ApplyPhotoState::Starting);
    }

    #[test]
    fn no_more_pages_than_one_submission_carries() {
        let mut apply = at_materials();
        apply.photograph(1);
        for _ in 1..MAX_ATTACHMENTS {
            assert_eq!(take_and_keep(&mut apply, b"p", true), Next::StartCamera);
        }
        assert_eq!(
            take_and_keep(&mut apply, b"p", true),
            Next::StopCamera,
            "the last page that fits ends the camera"
        );
        assert_eq!(apply.photograph(0), Next::Stay);
        let view = apply.view();
        assert_eq!(view.materials[1].pages.len(), MAX_ATTACHMENTS);
        assert!(view.pages_full);
    }

    #[test]
    fn a_full_disk_is_told_and_the_pages_stay_to_be_dropped() {
        let mut apply = at_materials();
        apply.photograph(0);
        take_and_keep(&mut apply, b"card", false);
        apply.materials_done();
        apply.submit().expect("complete");
        apply.saved(Err(ApplySubmitProblem::StorageFull));
        let view = apply.view();
        assert_eq!(view.submit_problem, ApplySubmitProblem::StorageFull);
        assert_eq!(view.materials[0].pages.len(), 1, "nothing lost");
    }

    #[test]
    fn a_correction_photographs_only_the_named_materials_and_joins_the_application() {
        let mut apply = choosing();
        apply.set_camera(true);
        let item = catalogue()
            .into_iter()
            .find(|i| i.code == FULL)
            .expect("the sample item");
        let original = Uuid::now_v7();
        let named = [CorrectionMaterial {
            index: 1,
            name: "居民户口簿".into(),
        }];
        apply.start_supplement(original, "001-00001-8", item, &named);
        let view = apply.view();
        assert_eq!(view.step, ApplyStep::Materials);
        assert_eq!(view.supplement_to, "001-00001-8");
        assert_eq!(view.materials.len(), 1, "only what staff named");

        apply.materials_done();
        assert_eq!(apply.view().step, ApplyStep::Materials, "nothing taken yet");
        apply.photograph(0);
        take_and_keep(&mut apply, b"register again", false);
        apply.materials_done();
        assert_eq!(apply.view().step, ApplyStep::Review);

        let (new, _) = apply.submit().expect("a supplement");
        assert_eq!(new.supplement_to, Some(original));
        assert!(new.applicant.is_none() && new.fields.is_empty());
        let pages: Vec<(u16, &str)> = new
            .pages
            .iter()
            .map(|p| (p.material, p.material_name.as_str()))
            .collect();
        assert_eq!(pages, [(1, "居民户口簿")], "filed under the guide's index");

        apply.saved(Err(ApplySubmitProblem::NotSaved));
        apply.back();
        assert_eq!(
            apply.back(),
            Next::Home,
            "back from the list leaves the correction"
        );
    }
}
