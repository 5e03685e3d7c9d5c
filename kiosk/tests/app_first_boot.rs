//! First boot: a booth never provisioned comes up on its enrollment page, and goes back to it
//! whenever a session ends, until a technician enrolls it.

mod common;

use common::{BoothOptions, Page, TestBooth};
use slint::ComponentHandle;
use ui::{TechnicianAdapter, TechnicianView};

fn view(booth: &TestBooth) -> TechnicianView {
    booth.window().global::<TechnicianAdapter>().get_view()
}

#[test]
fn a_booth_never_provisioned_comes_up_on_its_enrollment_page_and_goes_back_to_it() {
    let booth = TestBooth::start(BoothOptions {
        enrolled: false,
        ..BoothOptions::default()
    });
    // First boot: nothing to tap; the technician installing the booth finds enrollment open.
    booth.eventually("the enrollment page opens by itself", |b| {
        b.page() == Page::Technician && view(b) == TechnicianView::Enroll
    });
    // A villager who taps Home on a booth that cannot serve yet ends the session; the booth
    // goes back to enrollment rather than offering services it cannot hand in.
    booth.click("首页");
    booth.eventually("back on the enrollment page", |b| {
        b.page() == Page::Technician && view(b) == TechnicianView::Enroll
    });
}
