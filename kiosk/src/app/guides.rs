//! Service guides: fills `GuidesAdapter` from the catalogue cached in the store (rules in
//! [`crate::guides`]) and prints an item's list of materials to take home.

use std::cell::RefCell;
use std::rc::Rc;

use hardware::printer::{Receipt, Style};
use slint::{ComponentHandle, ModelRc, VecModel};
use sync_protocol::feed::CatalogItem;
use ui::{GuideDetailRow, GuideListItem, GuidesAdapter};

use super::context::Ctx;
use crate::guides;
use crate::sync::SyncEvent;
use sync_protocol::feed::Feed;

/// The catalogue as last loaded; shared by the callbacks on the UI thread.
type Catalogue = Rc<RefCell<Vec<CatalogItem>>>;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let catalogue: Catalogue = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<GuidesAdapter>();

    let (weak, cat) = (Rc::downgrade(ctx), Rc::clone(&catalogue));
    adapter.on_select_category(move |category| {
        if let Some(ctx) = weak.upgrade() {
            let window = ctx.window();
            let adapter = window.global::<GuidesAdapter>();
            adapter.set_selected_category(category);
            show_results(&ctx, &cat.borrow());
        }
    });
    let (weak, cat) = (Rc::downgrade(ctx), Rc::clone(&catalogue));
    adapter.on_search(move |query| {
        if let Some(ctx) = weak.upgrade() {
            ctx.window().global::<GuidesAdapter>().set_query(query);
            show_results(&ctx, &cat.borrow());
        }
    });
    let (weak, cat) = (Rc::downgrade(ctx), Rc::clone(&catalogue));
    adapter.on_open_item(move |code| {
        let Some(ctx) = weak.upgrade() else { return };
        let catalogue = cat.borrow();
        let Some(item) = catalogue.iter().find(|i| i.code == code.as_str()) else {
            return;
        };
        let window = ctx.window();
        let adapter = window.global::<GuidesAdapter>();
        adapter.set_item_name(item.name_zh.clone().into());
        let rows: Vec<GuideDetailRow> = guides::detail_rows(item)
            .into_iter()
            .map(|row| GuideDetailRow {
                label: row.label.into(),
                value: row.value.into(),
            })
            .collect();
        adapter.set_item_rows(ModelRc::new(VecModel::from(rows)));
        adapter.set_item_code(code);
        adapter.set_print_state(ui::PrintState::Idle);
        adapter.set_item_open(true);
    });
    let (weak, cat) = (Rc::downgrade(ctx), Rc::clone(&catalogue));
    adapter.on_print_list(move || {
        let Some(ctx) = weak.upgrade() else { return };
        let window = ctx.window();
        let adapter = window.global::<GuidesAdapter>();
        let code = adapter.get_item_code();
        let Some(item) = cat
            .borrow()
            .iter()
            .find(|i| i.code == code.as_str())
            .cloned()
        else {
            return;
        };
        adapter.set_print_state(ui::PrintState::Printing);
        ctx.background(
            move |services| services.devices().print(&guide_document(&item)),
            |ctx, result| {
                let window = ctx.window();
                let adapter = window.global::<GuidesAdapter>();
                adapter.set_print_state(match result {
                    Ok(_) => ui::PrintState::Printed,
                    Err(err) => {
                        tracing::warn!(%err, "guide list not printed");
                        if err.is_paper_out() {
                            ui::PrintState::PaperOut
                        } else {
                            ui::PrintState::Failed
                        }
                    }
                });
            },
        );
    });

    // Each visit starts from the whole, freshly synced catalogue.
    let cat = Rc::clone(&catalogue);
    ctx.on_page_open(ui::Page::Guides, move |ctx| load(ctx, &cat));
    // A catalogue that arrives while the page is open shows at once.
    let cat = Rc::clone(&catalogue);
    ctx.on_sync_event(move |ctx, event| {
        let on_guides =
            ctx.window().global::<ui::AppState>().get_current_page() == ui::Page::Guides;
        if on_guides
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load(ctx, &cat);
        }
    });
    ctx.on_session_end(|ctx| {
        let window = ctx.window();
        let adapter = window.global::<GuidesAdapter>();
        adapter.set_query("".into());
        adapter.set_selected_category("".into());
        adapter.set_item_open(false);
    });
}

fn load(ctx: &Rc<Ctx>, catalogue: &Catalogue) {
    let local = Rc::clone(catalogue);
    ctx.background(
        |services| services.with_store(|store| store.catalog_items()),
        move |ctx, items| {
            let items = items.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot read the catalogue");
                Vec::new()
            });
            let window = ctx.window();
            let adapter = window.global::<GuidesAdapter>();
            let categories: Vec<slint::SharedString> = guides::categories(&items)
                .into_iter()
                .map(Into::into)
                .collect();
            adapter.set_categories(ModelRc::new(VecModel::from(categories)));
            *local.borrow_mut() = items;
            show_results(ctx, &local.borrow());
        },
    );
}

fn show_results(ctx: &Rc<Ctx>, items: &[CatalogItem]) {
    let window = ctx.window();
    let adapter = window.global::<GuidesAdapter>();
    let category = adapter.get_selected_category();
    let category = (!category.is_empty()).then_some(category.as_str());
    let query = adapter.get_query();
    let rows: Vec<GuideListItem> = guides::list_rows(&guides::filter(items, category, &query))
        .into_iter()
        .map(|row| GuideListItem {
            code: row.code.into(),
            name: row.name.into(),
            category: row.category.into(),
            time_limit_text: row.time_limit_text.into(),
        })
        .collect();
    adapter.set_items(ModelRc::new(VecModel::from(rows)));
}

/// The item's guide on paper: every 专栏7 field, so the villager can gather the materials at home.
pub fn guide_document(item: &CatalogItem) -> Receipt {
    let mut document = Receipt::new()
        .title("办事指南")
        .styled(item.name_zh.clone(), Style::default().centered().bold())
        .separator();
    for row in guides::detail_rows(item) {
        document = document
            .styled(format!("【{}】", row.label), Style::default().bold())
            .text(row.value);
    }
    document.separator().feed(2).cut()
}
