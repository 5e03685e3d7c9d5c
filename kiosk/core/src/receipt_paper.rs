//! What goes on the villager's paper receipt, shared by `kiosk submit --print` and the booth
//! app. Its QR code holds just the receipt number, which the booth's scanner reads back for the
//! progress query and which a person can type.

use chrono::FixedOffset;
use hardware::printer::{Receipt, Style};
use sync_protocol::feed::{CatalogItem, TimeLimit};
use sync_protocol::submission::SubmissionKind;

use crate::store::Receipt as StoredReceipt;

/// The facts printed on a receipt.
#[derive(Debug)]
pub struct PrintedReceipt<'a> {
    /// The village, as enrolled.
    pub booth: String,
    pub kind: SubmissionKind,
    pub item: Option<&'a CatalogItem>,
    /// Shown when the catalogue has not reached the booth yet.
    pub item_code: Option<&'a str>,
    pub receipt: &'a StoredReceipt,
}

/// Beijing time, which is what every date on paper or screen is given in.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// "3个工作日" or "即办".
pub fn time_limit_zh(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::OnTheSpot => "即办".to_owned(),
        TimeLimit::WorkingDays { days } => format!("{days}个工作日"),
    }
}

/// The receipt document, ready for [`hardware::printer::Printer::print`].
pub fn document(printed: &PrintedReceipt<'_>) -> Receipt {
    let item = printed.item;
    let mut document = Receipt::new()
        .title("便民服务亭回执单")
        .styled(
            format!("{}便民服务亭", printed.booth),
            Style::default().centered(),
        )
        .separator()
        .row("事项类型：", printed.kind.name_zh())
        .row(
            "服务事项：",
            item.map(|i| i.name_zh.as_str())
                .or(printed.item_code)
                .unwrap_or("-"),
        )
        .row("回执编号：", printed.receipt.number.to_string());
    if let Some(masked) = &printed.receipt.masked_id {
        document = document.row("申请人证件：", masked.as_str());
    }
    document = document.row(
        "提交时间：",
        printed
            .receipt
            .created_at
            .with_timezone(&beijing())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
    );
    if let Some(item) = item {
        document = document
            .row("承诺时限：", time_limit_zh(item.time_limit))
            .row("受理单位：", item.office.name.as_str())
            .row("咨询电话：", item.office.phone.as_str());
    }
    document
        .separator()
        .qr(printed.receipt.number.to_string())
        .styled("扫码查询办理进度", Style::default().centered())
        .text("本回执离线有效：网络恢复后自动上报。请妥善保管。")
        .feed(2)
        .cut()
}
