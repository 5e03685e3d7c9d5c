//! The booth app as a villager meets it: Home, the guides from the synced catalogue, the idle
//! prompt at 60 s and the reset at 90 s, and the language switch (which the reset undoes).

mod common;

use common::{BoothOptions, Page, TestBooth};
use slint::ComponentHandle;
use ui::{Activity, AppState, GuidesAdapter};

#[test]
fn guides_idle_prompt_reset_and_language() {
    let booth = TestBooth::start(BoothOptions::default());
    booth.eventually("the village name from enrollment", |b| {
        b.window()
            .global::<AppState>()
            .get_village_name()
            .contains("石桥村")
    });
    assert!(
        !booth
            .window()
            .global::<AppState>()
            .get_date_time()
            .is_empty()
    );

    // The catalogue arrives by sync; the guides page lists it and opens an item.
    booth.click("办事指南");
    assert_eq!(booth.page(), Page::Guides);
    booth.eventually("高龄津贴申领 in the results", |b| {
        b.shows("高龄津贴申领")
    });
    booth.click("高龄津贴申领");
    assert!(booth.window().global::<GuidesAdapter>().get_item_open());
    assert!(booth.shows("受理单位") || booth.shows("办理地点") || booth.shows("咨询电话"));

    // "print this list" prints the guide on the receipt printer.
    booth.click("打印此清单");
    let printed = booth.printed(1);
    assert_eq!(printed.len(), 1, "one guide printed");
    let text = printed[0].text_lines().join("\n");
    assert!(text.contains("高龄津贴申领"), "{text}");
    booth.eventually("the printed message", |b| b.shows("已打印"));

    // 59 s without a touch: nothing yet; 60 s: the prompt, counting down from 30.
    booth.idle_for(59);
    assert!(
        !booth
            .window()
            .global::<Activity>()
            .get_idle_prompt_visible()
    );
    booth.idle_for(1);
    let activity = booth.window().global::<Activity>();
    assert!(activity.get_idle_prompt_visible());
    assert_eq!(activity.get_idle_seconds_left(), 30);
    // "Keep going" keeps the page as it was.
    booth.click("继续使用");
    assert!(!activity.get_idle_prompt_visible());
    assert_eq!(booth.page(), Page::Guides);
    assert!(booth.window().global::<GuidesAdapter>().get_item_open());

    // English for this session; then 90 s untouched: Home, Chinese, nothing of theirs left.
    booth.click("首页");
    assert_eq!(booth.page(), Page::Home);
    booth.click("English");
    assert_eq!(booth.window().global::<AppState>().get_language(), "en");
    booth.click("Service guides");
    booth
        .window()
        .global::<GuidesAdapter>()
        .invoke_search("gl".into());
    booth.pump();
    booth.idle_for(90);
    assert_eq!(booth.page(), Page::Home);
    assert_eq!(booth.window().global::<AppState>().get_language(), "zh_CN");
    assert!(
        !booth
            .window()
            .global::<Activity>()
            .get_idle_prompt_visible()
    );
    assert_eq!(booth.window().global::<GuidesAdapter>().get_query(), "");
    assert!(
        !booth.find("办事指南").is_empty(),
        "Home shows in Chinese again: {:?}",
        booth.screen_texts()
    );
}
