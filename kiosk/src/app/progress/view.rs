//! From the store's receipts to what the progress screen shows: statuses as codes the `.slint`
//! file puts into words, dates in Beijing time, and a typed number's problem.

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, SubmissionStatus};
use sync_protocol::receipt::{ReceiptError, ReceiptNumber};
use sync_protocol::submission::SubmissionKind;
use ui::{ProgressHistoryRow, ProgressKind, ProgressNumberProblem, ProgressStatus};

use kiosk_core::receipt_paper::beijing;
use kiosk_core::store::{LocalReceipt, StatusEntry, SubmissionState};

/// Why a typed or scanned text is not a receipt number, as the villager is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberProblem {
    Empty,
    Length,
    Character,
    /// Well formed, but the check character does not match: a typo.
    Check,
}

impl From<NumberProblem> for ProgressNumberProblem {
    fn from(problem: NumberProblem) -> Self {
        match problem {
            NumberProblem::Empty => Self::Empty,
            NumberProblem::Length => Self::Length,
            NumberProblem::Character => Self::Character,
            NumberProblem::Check => Self::Check,
        }
    }
}

/// A receipt number from what was typed or scanned.
pub fn parse_number(text: &str) -> Result<ReceiptNumber, NumberProblem> {
    if text.trim().is_empty() {
        return Err(NumberProblem::Empty);
    }
    text.parse::<ReceiptNumber>().map_err(|err| match err {
        ReceiptError::Length(..) => NumberProblem::Length,
        ReceiptError::Character(_) => NumberProblem::Character,
        ReceiptError::Check(_) => NumberProblem::Check,
    })
}

/// `2026-11-26 14:05`, Beijing time, as on the paper receipt.
pub fn date_text(time: DateTime<Utc>) -> String {
    time.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn kind(kind: SubmissionKind) -> ProgressKind {
    match kind {
        SubmissionKind::Application => ProgressKind::Application,
        SubmissionKind::Complaint => ProgressKind::Complaint,
        SubmissionKind::Evaluation => ProgressKind::Evaluation,
        SubmissionKind::Consultation => ProgressKind::Consultation,
    }
}

pub fn status(status: SubmissionStatus) -> ProgressStatus {
    match status {
        SubmissionStatus::Received => ProgressStatus::Received,
        SubmissionStatus::Accepted => ProgressStatus::Accepted,
        SubmissionStatus::InReview => ProgressStatus::InReview,
        SubmissionStatus::NeedsCorrection => ProgressStatus::NeedsCorrection,
        SubmissionStatus::Approved => ProgressStatus::Approved,
        SubmissionStatus::Rejected => ProgressStatus::Rejected,
    }
}

/// Where the receipt is now: a booth-side problem first (the county never saw it), then the
/// county's latest status, else whether it was sent.
pub fn current_status(receipt: &LocalReceipt) -> ProgressStatus {
    match (receipt.upload, receipt.status) {
        (SubmissionState::Discarded, _) => ProgressStatus::Discarded,
        (SubmissionState::Quarantined, _) => ProgressStatus::Held,
        (_, Some(latest)) => status(latest),
        (SubmissionState::Acknowledged, None) => ProgressStatus::Received,
        (SubmissionState::Pending | SubmissionState::Sent, None) => ProgressStatus::NotSent,
    }
}

/// The history the screen lists: handed in here, then every status the county sent, oldest
/// first.
pub fn history_rows(receipt: &LocalReceipt, history: &[StatusEntry]) -> Vec<ProgressHistoryRow> {
    let mut rows = vec![ProgressHistoryRow {
        date: date_text(receipt.created_at).into(),
        status: ProgressStatus::Submitted,
        note: "".into(),
    }];
    rows.extend(history.iter().map(|entry| ProgressHistoryRow {
        date: date_text(entry.changed_at).into(),
        status: status(entry.status),
        note: entry.note.clone().unwrap_or_default().into(),
    }));
    rows
}

/// The item's name for the screen; `""` when the booth does not know it (the screen then names
/// the kind of submission).
pub fn item_name(item: Option<&CatalogItem>) -> String {
    item.map(|i| i.name_zh.clone()).unwrap_or_default()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use uuid::Uuid;

    pub(in crate::app::progress) fn receipt(
        upload: SubmissionState,
        status: Option<SubmissionStatus>,
    ) -> LocalReceipt {
        LocalReceipt {
            number: ReceiptNumber::new(7, 1).to_string(),
            submission_id: Uuid::nil(),
            kind: SubmissionKind::Application,
            item_code: None,
            masked_id: None,
            created_at: DateTime::from_timestamp(1_764_136_800, 0).expect("a valid time"),
            status,
            status_note: None,
            status_changed_at: None,
            correction_materials: Vec::new(),
            supplement_to: None,
            phone_upload_token: None,
            upload,
        }
    }

    #[test]
    fn a_typed_number_says_what_is_wrong_with_it() {
        let good = ReceiptNumber::new(7, 42).to_string();
        assert_eq!(
            parse_number(&good.to_lowercase()),
            Ok(ReceiptNumber::new(7, 42))
        );
        assert_eq!(parse_number("  "), Err(NumberProblem::Empty));
        assert_eq!(parse_number("07A-0004"), Err(NumberProblem::Length));
        assert_eq!(parse_number("07A-0004U-M"), Err(NumberProblem::Character));
        let last = good.chars().last().expect("a check character");
        let wrong = if last == '0' { '1' } else { '0' };
        let mistyped = format!("{}{wrong}", &good[..good.len() - 1]);
        assert_eq!(parse_number(&mistyped), Err(NumberProblem::Check));
    }

    #[test]
    fn the_booth_side_state_wins_until_the_county_speaks() {
        use SubmissionState as S;
        assert_eq!(
            current_status(&receipt(S::Pending, None)),
            ProgressStatus::NotSent
        );
        assert_eq!(
            current_status(&receipt(S::Sent, None)),
            ProgressStatus::NotSent
        );
        assert_eq!(
            current_status(&receipt(S::Acknowledged, None)),
            ProgressStatus::Received
        );
        assert_eq!(
            current_status(&receipt(S::Quarantined, None)),
            ProgressStatus::Held
        );
        assert_eq!(
            current_status(&receipt(
                S::Acknowledged,
                Some(SubmissionStatus::NeedsCorrection)
            )),
            ProgressStatus::NeedsCorrection
        );
        assert_eq!(
            current_status(&receipt(S::Discarded, Some(SubmissionStatus::Received))),
            ProgressStatus::Discarded
        );
    }

    #[test]
    fn the_history_starts_with_the_hand_in_in_beijing_time() {
        let local = receipt(SubmissionState::Acknowledged, None);
        let rows = history_rows(
            &local,
            &[StatusEntry {
                status: SubmissionStatus::NeedsCorrection,
                note: Some("请带户口本".into()),
                changed_at: local.created_at + chrono::TimeDelta::hours(20),
                materials: Vec::new(),
            }],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].status, ProgressStatus::Submitted);
        // 06:00 UTC is 14:00 in Beijing.
        assert_eq!(rows[0].date, "2025-11-26 14:00");
        assert_eq!(rows[1].status, ProgressStatus::NeedsCorrection);
        assert_eq!(rows[1].note, "请带户口本");
    }
}
