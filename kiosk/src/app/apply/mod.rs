//! 我要办理: choose an item → identify (ID card, or for items that allow it the typed number and
//! name) → confirm the identity, shown masked → the item's form → on a booth with a document
//! camera, the item's materials photographed (or to be handed in later) → review → submit → the
//! receipt, printed and always shown on screen with a large QR code (the only copy when the
//! printer is out of paper; it can be printed again from there).
//!
//! The number is shown or printed only after the store committed the submission (with its
//! pages). Everything the villager typed, the card gave or the camera took is held here only
//! until the session ends.

mod flow;
mod form;
mod qr;

use std::rc::Rc;

use chrono::Utc;
use slint::{ComponentHandle, SharedString};
use sync_protocol::feed::Feed;
use sync_protocol::submission::SubmissionKind;
use ui::{ApplyAdapter, Page};

use super::bind::Bound;
use super::context::Ctx;
use super::devices::CardEvent;
use super::printed::print_state;
use flow::{Applicant, Apply, Kept, Next, Submitted};
pub use form::{FieldProblem, IdEntry, check_field, check_typing, finish_typing};
use kiosk_core::devices::camera::{CameraEvent, TakenPage};
use kiosk_core::receipt_paper::{self, PrintedReceipt, beijing};
use kiosk_core::store::StoreError;
use kiosk_core::sync::SyncEvent;
use ui::ApplySubmitProblem;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Apply>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<ApplyAdapter>();

    adapter.on_choose_item(page.callback1(|ctx, page, code: SharedString| {
        let holder = ctx.holder().map(|card| Applicant::from_card(&card));
        let next = page.update(ctx, |apply| apply.choose_item(&code, holder));
        follow(ctx, page, next);
    }));
    adapter.on_type_id_instead(page.callback(|ctx, page| {
        ctx.stop_reading_cards();
        page.update(ctx, Apply::type_id_instead);
    }));
    adapter.on_typed_id_edited(page.callback1(|ctx, page, text: SharedString| {
        ctx.note_session_data();
        page.update(ctx, |apply| apply.typed_id_edited(&text));
    }));
    adapter.on_typed_name_edited(page.callback1(|ctx, page, text: SharedString| {
        ctx.note_session_data();
        page.update(ctx, |apply| apply.typed_name_edited(&text));
    }));
    // The typed number and name are the screen's text boxes: read when the villager goes on.
    adapter.on_use_typed_id(page.callback(|ctx, page| {
        let window = ctx.window();
        let adapter = window.global::<ApplyAdapter>();
        let (typed_id, typed_name) = (adapter.get_typed_id(), adapter.get_typed_name());
        page.update(ctx, |apply| apply.use_typed_id(&typed_id, &typed_name));
    }));
    adapter.on_confirm_identity(page.callback(|ctx, page| page.update(ctx, Apply::show_form)));
    adapter.on_identify_again(page.callback(|ctx, page| {
        let next = page.update(ctx, Apply::identify_again);
        follow(ctx, page, next);
    }));
    adapter.on_field_edited(page.callback2(|ctx, page, index, value: SharedString| {
        ctx.note_session_data();
        page.update(ctx, |apply| apply.field_edited(index, &value));
    }));
    adapter.on_form_done(page.callback(|ctx, page| page.update(ctx, Apply::form_done)));
    adapter.on_photograph(page.callback1(|ctx, page, index: i32| {
        let next = page.update(ctx, |apply| apply.photograph(index));
        follow(ctx, page, next);
    }));
    adapter.on_retake_material(page.callback1(|ctx, page, index: i32| {
        let next = page.update(ctx, |apply| apply.retake_material(index));
        follow(ctx, page, next);
    }));
    adapter.on_bring_later(page.callback1(|ctx, page, index: i32| {
        page.update(ctx, |apply| apply.bring_later(index));
    }));
    adapter.on_materials_done(page.callback(|ctx, page| page.update(ctx, Apply::materials_done)));
    adapter.on_take_photo(page.callback(|ctx, page| {
        let next = page.update(ctx, Apply::take_photo);
        follow(ctx, page, next);
    }));
    adapter.on_keep_photo(page.callback1(|ctx, page, another: bool| {
        let next = page.update(ctx, |apply| apply.keep_photo(another));
        follow(ctx, page, next);
    }));
    adapter.on_retake_photo(page.callback(|ctx, page| {
        let next = page.update(ctx, Apply::retake_photo);
        follow(ctx, page, next);
    }));
    adapter.on_submit(page.callback(submit));
    adapter.on_reprint(page.callback(print));
    adapter.on_back(page.callback(|ctx, page| {
        let next = page.update(ctx, Apply::back);
        follow(ctx, page, next);
    }));

    page.on_page_open(ctx, Page::Apply, |ctx, page| {
        let has_camera = ctx.services.devices().has_camera();
        let phone_uploads = ctx.services.config().sync.phone_uploads;
        page.update(ctx, |apply| {
            apply.start();
            apply.set_camera(has_camera);
            apply.set_phone_uploads(phone_uploads);
        });
        load_catalogue(ctx, page);
    });
    page.on_sync_event(ctx, |ctx, page, event| {
        let choosing = ctx.current_page() == Page::Apply && page.read(Apply::choosing);
        if choosing
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load_catalogue(ctx, page);
        }
    });
    page.reset_on_session_end(ctx);
}

/// The camera step for what a correction named (from the progress page's receipt): the new
/// pages go in as a supplement that joins the same application.
pub fn photograph_correction(ctx: &Rc<Ctx>, correction: super::progress::Correction) {
    ctx.show_page(Page::Apply);
    ctx.note_session_data();
    let page = Bound::<Apply>::of(ctx);
    page.update(ctx, |apply| {
        apply.start_supplement(
            correction.original,
            &correction.receipt,
            correction.item,
            &correction.materials,
        );
    });
}

/// Does what the flow asks of the devices and the app.
fn follow(ctx: &Rc<Ctx>, page: &Bound<Apply>, next: Next) {
    match next {
        Next::Stay => {}
        Next::ReadCard => read_card(ctx, page),
        Next::StopReading => ctx.stop_reading_cards(),
        Next::StartCamera => {
            let page = page.clone();
            ctx.watch_camera(move |ctx, event| camera_event(ctx, &page, event));
        }
        Next::TakePhoto => ctx.take_photo(),
        Next::StopCamera => ctx.stop_camera(),
        Next::Home => ctx.show_page(Page::Home),
    }
}

fn camera_event(ctx: &Rc<Ctx>, page: &Bound<Apply>, event: CameraEvent) {
    if !page.read(Apply::photographing) {
        ctx.stop_camera();
        return;
    }
    match event {
        CameraEvent::Preview { frame, page_found } => {
            // The live picture goes straight to the screen: it changes five times a second.
            let window = ctx.window();
            window
                .global::<ApplyAdapter>()
                .set_photo_preview(picture(&frame));
            page.update(ctx, |apply| apply.camera_preview(page_found));
        }
        CameraEvent::Taken(taken) => {
            let kept = kept(*taken);
            page.update(ctx, |apply| apply.photo_taken(kept));
        }
        CameraEvent::Failed(problem) => page.update(ctx, |apply| apply.camera_failed(problem)),
    }
}

fn kept(taken: TakenPage) -> Kept {
    Kept {
        on_screen: picture(&taken.on_screen),
        thumbnail: picture(&taken.thumbnail),
        jpeg: taken.jpeg,
    }
}

fn picture(image: &image::RgbImage) -> slint::Image {
    let buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(
        image.as_raw(),
        image.width(),
        image.height(),
    );
    slint::Image::from_rgb8(buffer)
}

fn load_catalogue(ctx: &Rc<Ctx>, page: &Bound<Apply>) {
    page.background(
        ctx,
        |services| services.with_store(|store| store.catalog_items()),
        |ctx, page, items| {
            let items = items.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot read the catalogue");
                Vec::new()
            });
            page.update(ctx, |apply| apply.catalogue_loaded(items));
        },
    );
}

/// Shows the card prompt and reads until a usable card is on the reader.
fn read_card(ctx: &Rc<Ctx>, page: &Bound<Apply>) {
    let has_reader = ctx.services.devices().has_reader();
    page.update(ctx, |apply| apply.read_card(has_reader));
    let page = page.clone();
    ctx.read_cards(move |ctx, event| card_event(ctx, &page, event));
}

fn card_event(ctx: &Rc<Ctx>, page: &Bound<Apply>, event: CardEvent) {
    if !page.read(Apply::reading_card) {
        return;
    }
    ctx.touched();
    let card = match event {
        CardEvent::Read(card) => card,
        CardEvent::Failed(problem) => {
            page.update(ctx, |apply| apply.card_failed(problem));
            return;
        }
        // Lifting the card after a failed read changes nothing the villager needs to know.
        CardEvent::Removed => return,
    };
    let today = Utc::now().with_timezone(&beijing()).date_naive();
    if page.update(ctx, |apply| apply.card_read(&card, today)) {
        ctx.stop_reading_cards();
        ctx.set_holder(*card);
    }
}

/// Saves the application; the receipt shows (and prints) only once the store committed it.
fn submit(ctx: &Rc<Ctx>, page: &Bound<Apply>) {
    let Some((new, item)) = page.update(ctx, Apply::submit) else {
        return;
    };
    let supplement_to = page.read(Apply::supplement_receipt);
    page.background(
        ctx,
        move |services| {
            let (identity, receipt) = services.with_store(|store| {
                let identity = store.identity().ok().flatten();
                store.submit(new).map(|receipt| (identity, receipt))
            })?;
            let phone_upload = receipt.phone_upload_token.as_deref().and_then(|token| {
                services.phone_upload_link(identity.as_ref(), token, receipt.created_at)
            });
            let booth = identity.map(|i| i.village.village).unwrap_or_default();
            Ok::<_, StoreError>((receipt, booth, phone_upload))
        },
        move |ctx, page, saved| {
            let submitted = match saved {
                Ok((receipt, booth, phone_upload)) => {
                    tracing::info!(receipt = %receipt.number, item = %item.code, "application saved");
                    Ok(Submitted {
                        receipt,
                        booth,
                        item,
                        phone_upload,
                        supplement_to,
                    })
                }
                Err(err) => {
                    tracing::error!(%err, "application not saved");
                    Err(match err {
                        StoreError::FilesFull { .. } | StoreError::PagesDiskFull { .. } => {
                            ApplySubmitProblem::StorageFull
                        }
                        _ => ApplySubmitProblem::NotSaved,
                    })
                }
            };
            let saved = submitted.is_ok();
            page.update(ctx, |apply| apply.saved(submitted));
            if saved {
                ctx.services.wake_sync();
                super::header::refresh_identity_and_queue(ctx);
                print(ctx, page);
            }
        },
    );
}

/// Prints the receipt of the application just submitted (again, from the Reprint button).
fn print(ctx: &Rc<Ctx>, page: &Bound<Apply>) {
    let document = page.update(ctx, |apply| {
        apply.print().map(|done| {
            receipt_paper::document(&PrintedReceipt {
                booth: done.booth.clone(),
                kind: SubmissionKind::Application,
                item: Some(&done.item),
                item_code: Some(&done.item.code),
                receipt: &done.receipt,
                supplement_to: done.supplement_to.as_deref(),
                phone_upload: done.phone_upload.as_ref(),
            })
        })
    });
    let Some(document) = document else { return };
    page.background(
        ctx,
        move |services| services.devices().print(&document),
        |ctx, page, result| {
            let outcome = print_state(
                result.inspect(|report| {
                    if report.paper_near_end() {
                        tracing::warn!("receipt printer paper is running out");
                    }
                }),
                "receipt",
            );
            page.update(ctx, |apply| apply.printed(outcome));
        },
    );
}
