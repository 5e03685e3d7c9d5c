//! What goes on the villager's paper receipt, shared by `kiosk submit --print` and the booth
//! app. Its QR code holds just the receipt number, which the booth's scanner reads back for the
//! progress query and which a person can type. An application whose materials go by phone (a
//! booth without a camera) carries a second code: its one-time upload page's address.

use chrono::{DateTime, FixedOffset, Utc};
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
    /// For a supplement (补正材料): the receipt number of the application it completes.
    pub supplement_to: Option<&'a str>,
    /// The application's one-time phone upload page, when its materials go by phone.
    pub phone_upload: Option<&'a PhoneUploadLink>,
}

/// The address a villager's phone opens to upload an application's materials, and until when
/// the county's server takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneUploadLink {
    pub url: String,
    pub until: DateTime<Utc>,
}

/// How long the county's server takes uploads through a link: 7 days from the later of the
/// application's creation and its arrival (the server's rule), so the paper promises the
/// days counted from its creation, which always hold.
pub const PHONE_UPLOAD_DAYS: i64 = 7;

impl PhoneUploadLink {
    /// The page for `token` on the server at `base`, for an application created at `created`.
    pub fn new(base: &str, token: &str, created: DateTime<Utc>) -> Self {
        Self {
            url: sync_protocol::phone_upload::url(base, token),
            until: created + chrono::TimeDelta::days(PHONE_UPLOAD_DAYS),
        }
    }

    /// "12月14日", the day the link ends, in Beijing time.
    pub fn until_zh(&self) -> String {
        self.until
            .with_timezone(&beijing())
            .format("%-m月%-d日")
            .to_string()
    }
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
    if let Some(original) = printed.supplement_to {
        document = document.row("补正的申请：", original);
    }
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
    document = document
        .separator()
        .qr(printed.receipt.number.to_string())
        .styled("在服务亭扫码查询办理进度", Style::default().centered());
    if let Some(link) = printed.phone_upload {
        document = document
            .separator()
            .styled("用手机上传申请材料", Style::default().centered())
            .qr(link.url.clone())
            .text(format!(
                "用手机扫上面这个二维码，给申请材料拍照上传。{}前有效，只能上传一次。没有手机的，请把材料交到窗口。",
                link.until_zh()
            ));
    }
    document
        .text("本回执离线有效：网络恢复后自动上报。请妥善保管。")
        .feed(2)
        .cut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::printer::Element;
    use sync_protocol::receipt::ReceiptNumber;
    use uuid::Uuid;

    fn stored() -> StoredReceipt {
        StoredReceipt {
            id: Uuid::nil(),
            seq: 42,
            number: ReceiptNumber::new(1, 42),
            created_at: "2026-12-07T02:00:00Z".parse().unwrap(),
            masked_id: Some("450902********0028".into()),
            phone_upload_token: None,
        }
    }

    fn printed<'a>(
        receipt: &'a StoredReceipt,
        supplement_to: Option<&'a str>,
        phone_upload: Option<&'a PhoneUploadLink>,
    ) -> Receipt {
        document(&PrintedReceipt {
            booth: "青山村".into(),
            kind: SubmissionKind::Application,
            item: None,
            item_code: Some("GX-GA-001"),
            receipt,
            supplement_to,
            phone_upload,
        })
    }

    fn codes(receipt: &Receipt) -> Vec<&str> {
        receipt
            .elements()
            .iter()
            .filter_map(|element| match element {
                Element::Qr(payload) => Some(payload.as_str()),
                _ => None,
            })
            .collect()
    }

    fn text(receipt: &Receipt) -> String {
        receipt
            .elements()
            .iter()
            .filter_map(|element| match element {
                Element::Title(text) | Element::Text { text, .. } => Some(text.clone()),
                Element::Row { label, value } => Some(format!("{label}{value}")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn an_application_carries_one_code_its_number() {
        let receipt = stored();
        let paper = printed(&receipt, None, None);
        assert_eq!(codes(&paper), [receipt.number.to_string().as_str()]);
        assert!(!text(&paper).contains("用手机"), "{}", text(&paper));
    }

    #[test]
    fn materials_by_phone_add_the_upload_pages_code_and_its_last_day() {
        let receipt = stored();
        let link = PhoneUploadLink {
            url: "https://zwfw.example.gov.cn/m/AAAAAAAAAAAAAAAAAAAAAA".into(),
            // 23:30 UTC is the next morning in Beijing.
            until: "2026-12-13T23:30:00Z".parse().unwrap(),
        };
        let paper = printed(&receipt, None, Some(&link));
        assert_eq!(
            codes(&paper),
            [receipt.number.to_string().as_str(), link.url.as_str()],
            "the progress code first, the upload code after"
        );
        let text = text(&paper);
        assert!(text.contains("用手机上传申请材料"), "{text}");
        assert!(text.contains("12月14日前有效，只能上传一次"), "{text}");
    }

    #[test]
    fn a_supplement_names_the_application_it_completes() {
        let receipt = stored();
        let paper = printed(&receipt, Some("001-00007-3"), None);
        assert!(
            text(&paper).contains("补正的申请：001-00007-3"),
            "{}",
            text(&paper)
        );
    }
}
