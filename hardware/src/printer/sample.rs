//! The booth's application receipt (回执单), and a fixed example of it for `kiosk hw
//! print-test`, snapshot tests and benchmarks.

use chrono::NaiveDateTime;

use super::receipt::{Receipt, Style};
use crate::id_card::IdNumber;

/// What a citizen takes home after applying for a service at the booth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationReceipt {
    /// The booth, e.g. `城北街道青山村便民服务亭（03号）`.
    pub booth: String,
    /// The service applied for.
    pub service: String,
    pub receipt_number: String,
    /// The applicant's ID number; only its masked form is ever printed.
    pub applicant_id: IdNumber,
    pub submitted_at: NaiveDateTime,
    /// The promised time limit, in working days.
    pub time_limit_working_days: u16,
    /// The office that handles the application.
    pub office: String,
    pub office_phone: String,
    /// Encoded in the QR code: where to check progress, with a check code that lets staff
    /// verify the receipt without a network.
    pub qr_payload: String,
}

impl ApplicationReceipt {
    /// The printed layout.
    pub fn to_receipt(&self) -> Receipt {
        Receipt::new()
            .title("便民服务亭回执单")
            .styled(self.booth.as_str(), Style::default().centered())
            .separator()
            .row("服务事项：", self.service.as_str())
            .row("回执编号：", self.receipt_number.as_str())
            .row("申请人证件：", self.applicant_id.masked())
            .row(
                "提交时间：",
                self.submitted_at.format("%Y-%m-%d %H:%M").to_string(),
            )
            .row(
                "承诺时限：",
                format!("{}个工作日", self.time_limit_working_days),
            )
            .row("受理单位：", self.office.as_str())
            .row("咨询电话：", self.office_phone.as_str())
            .separator()
            .qr(self.qr_payload.as_str())
            .styled("扫码查询办理进度", Style::default().centered())
            .text(
                "本回执离线有效：无网络时，工作人员凭回执编号和二维码校验码即可核验。请妥善保管。",
            )
            .feed(2)
            .cut()
    }
}

/// The fixed example application (no real person: the ID number fails its check digit).
pub fn standard_application() -> ApplicationReceipt {
    ApplicationReceipt {
        booth: "城北街道青山村便民服务亭（03号）".to_owned(),
        service: "城乡居民基本养老保险参保登记".to_owned(),
        receipt_number: "BM-20250312-0042".to_owned(),
        applicant_id: IdNumber::new("450902199001011234"),
        submitted_at: NaiveDateTime::parse_from_str("2025-03-12 09:41:27", "%Y-%m-%d %H:%M:%S")
            .unwrap_or_default(),
        time_limit_working_days: 5,
        office: "城北街道社会保障服务站".to_owned(),
        office_phone: "0775-2812345".to_owned(),
        qr_payload: "https://zwfw.example.gov.cn/r/BM-20250312-0042?c=7KQ2".to_owned(),
    }
}

/// [`standard_application`] as a receipt.
pub fn standard_receipt() -> Receipt {
    standard_application().to_receipt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::decode::{Assembler, Decoder};
    use crate::printer::encode::{EncodeOptions, QrMode, encode};
    use crate::printer::paper::PaperWidth;
    use crate::printer::receipt::Element;
    use crate::printer::render;

    fn decoded_text(width: PaperWidth, qr_mode: QrMode) -> String {
        let options = EncodeOptions {
            width,
            qr_mode,
            ..EncodeOptions::default()
        };
        let bytes = encode(&standard_receipt(), &options).unwrap();
        let mut assembler = Assembler::new(width);
        let receipts: Vec<_> = Decoder::new()
            .push(&bytes)
            .iter()
            .filter_map(|event| assembler.push(event))
            .collect();
        assert_eq!(receipts.len(), 1);
        render::text(&receipts[0], width)
    }

    #[test]
    fn standard_receipt_58mm() {
        let text = decoded_text(PaperWidth::Mm58, QrMode::Native);
        assert_eq!(text, decoded_text(PaperWidth::Mm58, QrMode::Raster));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn standard_receipt_80mm() {
        let text = decoded_text(PaperWidth::Mm80, QrMode::Native);
        assert_eq!(text, decoded_text(PaperWidth::Mm80, QrMode::Raster));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn the_standard_receipt_never_carries_the_full_id_number() {
        let receipt = standard_receipt();
        let all_text = format!("{receipt:?}");
        assert!(all_text.contains("450902********1234"));
        assert!(!all_text.contains("199001011234"));
        assert!(matches!(receipt.elements().last(), Some(Element::Cut)));
        assert!(
            receipt
                .elements()
                .iter()
                .any(|e| matches!(e, Element::Qr(_)))
        );
    }
}
