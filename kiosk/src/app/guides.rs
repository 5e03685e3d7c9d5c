//! Service guides: fills `GuidesAdapter` from the catalogue cached in the store (rules in
//! [`kiosk_core::guides`]) and prints an item's list of materials to take home.

use std::rc::Rc;

use hardware::printer::{Receipt, Style};
use slint::{ComponentHandle, SharedString};
use sync_protocol::feed::{CatalogItem, Feed};
use ui::{GuideDetailRow, GuideListItem, GuidesAdapter, MainWindow, PrintState};

use super::bind::{Asserted, Bound, Changes, Flow, model};
use super::context::Ctx;
use super::printed::print_state;
use kiosk_core::guides;
use kiosk_core::sync::SyncEvent;

/// The catalogue as last loaded, the villager's search, and the item they opened.
#[derive(Debug, Default)]
pub struct Guides {
    catalogue: Vec<CatalogItem>,
    category: String,
    query: String,
    item: Option<CatalogItem>,
    /// The screen's back button closes the item itself.
    item_open: Asserted<bool>,
    print: PrintState,
}

#[derive(Debug, PartialEq)]
pub struct GuidesView {
    categories: Vec<SharedString>,
    items: Vec<GuideListItem>,
    category: String,
    query: String,
    item_name: String,
    item_code: String,
    item_rows: Vec<GuideDetailRow>,
    item_open: Asserted<bool>,
    print: PrintState,
}

impl Guides {
    /// A freshly read catalogue; an unreadable one shows as empty.
    pub fn loaded(&mut self, items: Vec<CatalogItem>) {
        self.catalogue = items;
    }

    pub fn select_category(&mut self, category: &str) {
        category.clone_into(&mut self.category);
    }

    pub fn search(&mut self, query: &str) {
        query.clone_into(&mut self.query);
    }

    pub fn open_item(&mut self, code: &str) {
        let Some(item) = self.catalogue.iter().find(|i| i.code == code) else {
            return;
        };
        self.item = Some(item.clone());
        self.print = PrintState::Idle;
        self.item_open.set(true);
    }

    /// The open item, to print; the page says it is printing.
    pub fn print_list(&mut self) -> Option<CatalogItem> {
        let item = self.item.clone()?;
        self.print = PrintState::Printing;
        Some(item)
    }

    pub fn printed(&mut self, outcome: PrintState) {
        self.print = outcome;
    }
}

impl Flow for Guides {
    type View = GuidesView;

    fn view(&self) -> GuidesView {
        let category = (!self.category.is_empty()).then_some(self.category.as_str());
        let matching = guides::filter(&self.catalogue, category, &self.query);
        let items = guides::list_rows(&matching)
            .into_iter()
            .map(|row| GuideListItem {
                code: row.code.into(),
                name: row.name.into(),
                category: row.category.into(),
                time_limit_text: row.time_limit_text.into(),
            })
            .collect();
        let item_rows = self
            .item
            .as_ref()
            .map(|item| {
                guides::detail_rows(item)
                    .into_iter()
                    .map(|row| GuideDetailRow {
                        label: row.label.into(),
                        value: row.value.into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        GuidesView {
            categories: guides::categories(&self.catalogue)
                .into_iter()
                .map(Into::into)
                .collect(),
            items,
            category: self.category.clone(),
            query: self.query.clone(),
            item_name: self
                .item
                .as_ref()
                .map(|i| i.name_zh.clone())
                .unwrap_or_default(),
            item_code: self
                .item
                .as_ref()
                .map(|i| i.code.clone())
                .unwrap_or_default(),
            item_rows,
            item_open: self.item_open.clone(),
            print: self.print,
        }
    }

    fn render(now: &GuidesView, before: Option<&GuidesView>, window: &MainWindow) {
        let adapter = window.global::<GuidesAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.categories, |c| adapter.set_categories(model(c)));
        changes.write(|v| &v.items, |items| adapter.set_items(model(items)));
        changes.write(|v| &v.category, |c| adapter.set_selected_category(c.into()));
        changes.write(|v| &v.query, |q| adapter.set_query(q.into()));
        changes.write(|v| &v.item_name, |n| adapter.set_item_name(n.into()));
        changes.write(|v| &v.item_code, |c| adapter.set_item_code(c.into()));
        changes.write(|v| &v.item_rows, |rows| adapter.set_item_rows(model(rows)));
        changes.write(|v| &v.print, |&state| adapter.set_print_state(state));
        changes.write(|v| &v.item_open, |open| adapter.set_item_open(*open.get()));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Guides>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<GuidesAdapter>();
    adapter.on_select_category(page.callback1(|ctx, page, category: SharedString| {
        page.update(ctx, |guides| guides.select_category(&category));
    }));
    adapter.on_search(page.callback1(|ctx, page, query: SharedString| {
        page.update(ctx, |guides| guides.search(&query));
    }));
    adapter.on_open_item(page.callback1(|ctx, page, code: SharedString| {
        page.update(ctx, |guides| guides.open_item(&code));
    }));
    adapter.on_print_list(page.callback(|ctx, page| {
        let Some(item) = page.update(ctx, Guides::print_list) else {
            return;
        };
        page.background(
            ctx,
            move |services| services.devices().print(&guide_document(&item)),
            |ctx, page, result| {
                let outcome = print_state(result, "guide list");
                page.update(ctx, |guides| guides.printed(outcome));
            },
        );
    }));

    // Each visit starts from the whole, freshly synced catalogue.
    page.on_page_open(ctx, ui::Page::Guides, load);
    // A catalogue that arrives while the page is open shows at once.
    page.on_sync_event(ctx, |ctx, page, event| {
        let on_guides = ctx.current_page() == ui::Page::Guides;
        if on_guides
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Catalog,
                    ..
                }
            )
        {
            load(ctx, page);
        }
    });
    page.reset_on_session_end(ctx);
}

fn load(ctx: &Rc<Ctx>, page: &Bound<Guides>) {
    page.background(
        ctx,
        |services| services.with_store(|store| store.catalog_items()),
        |ctx, page, items| {
            let items = items.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot read the catalogue");
                Vec::new()
            });
            page.update(ctx, |guides| guides.loaded(items));
        },
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::samples;

    fn loaded() -> Guides {
        let mut guides = Guides::default();
        guides.loaded(samples::catalogue());
        guides
    }

    #[test]
    fn the_list_follows_the_category_and_the_query() {
        let mut guides = loaded();
        let all = guides.view().items.len();
        assert_eq!(all, 10);
        guides.select_category("社会救助");
        let view = guides.view();
        assert_eq!(view.category, "社会救助");
        assert_eq!(view.items.len(), 2);
        guides.search("临时");
        let names: Vec<_> = guides.view().items.iter().map(|i| i.name.clone()).collect();
        assert_eq!(names, ["临时救助申请"]);
        guides.select_category("");
        guides.search("");
        assert_eq!(guides.view().items.len(), all);
    }

    #[test]
    fn an_opened_item_shows_its_guide_and_prints_it() {
        let mut guides = loaded();
        assert!(
            guides.print_list().is_none(),
            "nothing open, nothing to print"
        );
        guides.open_item("GX-GA-001");
        let view = guides.view();
        assert!(*view.item_open.get());
        assert_eq!(view.item_name, "户籍证明开具");
        assert_eq!(view.item_code, "GX-GA-001");
        assert!(!view.item_rows.is_empty());
        assert_eq!(view.print, PrintState::Idle);

        let printing = guides.print_list().expect("the open item");
        assert_eq!(printing.code, "GX-GA-001");
        assert_eq!(guides.view().print, PrintState::Printing);
        guides.printed(PrintState::PaperOut);
        assert_eq!(guides.view().print, PrintState::PaperOut);

        guides.open_item("GX-MZ-001");
        assert_eq!(
            guides.view().print,
            PrintState::Idle,
            "a new item, a new list"
        );
    }

    #[test]
    fn an_unknown_item_opens_nothing() {
        let mut guides = loaded();
        let before = guides.view();
        guides.open_item("GX-XX-999");
        assert_eq!(guides.view(), before);
    }
}
