//! Exactly-once as the booths saw it: every submission made, and every answer the server gave
//! for it. A submission is delivered when it got `accepted` or `duplicate`; it was stored twice
//! if the server said `accepted` for it more than once (a second `accepted` means the first
//! copy was not found when it came again); it is lost if it was never acknowledged.
//!
//! `duplicate` without any `accepted` is fine: the answer that said `accepted` was lost on
//! the way (a timeout after the commit), and the retry found the stored copy.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use sync_protocol::submission::Outcome;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Answers {
    accepted: u32,
    duplicate: u32,
    conflict: u32,
    invalid: u32,
}

/// Every submission of the run, by id, with the kiosk it belongs to.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<HashMap<Uuid, (String, Answers)>>,
}

/// The ledger's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LedgerFigures {
    pub made: u64,
    /// Acknowledged (`accepted` or `duplicate` at least once).
    pub delivered: u64,
    /// `accepted` answers (one per stored copy).
    pub accepted: u64,
    /// `duplicate` answers: resends of something stored.
    pub duplicate_answers: u64,
    /// Delivered with `duplicate` only: the `accepted` answer was lost and the resend found it.
    pub delivered_as_duplicate_only: u64,
    pub conflict: u64,
    pub invalid: u64,
    /// Submissions the server said `accepted` for more than once.
    pub accepted_twice: u64,
    /// Never acknowledged (still queued when the run ended, or refused).
    pub undelivered: u64,
}

impl LedgerFigures {
    /// Every submission made was delivered, none was stored twice and none refused.
    pub fn exactly_once(&self) -> bool {
        self.undelivered == 0
            && self.accepted_twice == 0
            && self.conflict == 0
            && self.invalid == 0
            && self.delivered == self.made
    }
}

impl Ledger {
    pub fn made(&self, id: Uuid, kiosk_id: &str) {
        self.lock()
            .insert(id, (kiosk_id.to_owned(), Answers::default()));
    }

    pub fn answered(&self, id: Uuid, outcome: Outcome) {
        let mut entries = self.lock();
        // An answer for an id never made would be the server mixing up submissions: kept, so
        // the figures show it as made by nobody (made < answered).
        let (_, answers) = entries
            .entry(id)
            .or_insert_with(|| (String::new(), Answers::default()));
        match outcome {
            Outcome::Accepted => answers.accepted += 1,
            Outcome::Duplicate => answers.duplicate += 1,
            Outcome::Conflict => answers.conflict += 1,
            Outcome::Invalid => answers.invalid += 1,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (String, Answers)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn figures(&self) -> LedgerFigures {
        let entries = self.lock();
        let mut figures = LedgerFigures::default();
        for (kiosk, answers) in entries.values() {
            if !kiosk.is_empty() {
                figures.made += 1;
            }
            let delivered = answers.accepted + answers.duplicate > 0;
            figures.delivered += u64::from(delivered);
            figures.undelivered += u64::from(!delivered);
            figures.accepted += u64::from(answers.accepted);
            figures.duplicate_answers += u64::from(answers.duplicate);
            figures.delivered_as_duplicate_only +=
                u64::from(answers.accepted == 0 && answers.duplicate > 0);
            figures.conflict += u64::from(answers.conflict);
            figures.invalid += u64::from(answers.invalid);
            figures.accepted_twice += u64::from(answers.accepted > 1);
        }
        figures
    }

    /// The ids the server acknowledged, by kiosk id: what the store must hold.
    pub fn delivered_by_kiosk(&self) -> HashMap<String, Vec<Uuid>> {
        let mut by_kiosk: HashMap<String, Vec<Uuid>> = HashMap::new();
        for (id, (kiosk, answers)) in self.lock().iter() {
            if answers.accepted + answers.duplicate > 0 {
                by_kiosk.entry(kiosk.clone()).or_default().push(*id);
            }
        }
        by_kiosk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_lost_and_twice_stored_are_told_apart() {
        let ledger = Ledger::default();
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            ledger.made(*id, "k1");
        }
        ledger.answered(ids[0], Outcome::Accepted);
        ledger.answered(ids[0], Outcome::Duplicate);
        ledger.answered(ids[1], Outcome::Duplicate);
        let figures = ledger.figures();
        assert_eq!(
            (figures.made, figures.delivered, figures.undelivered),
            (4, 2, 2)
        );
        assert_eq!(figures.delivered_as_duplicate_only, 1);
        assert!(!figures.exactly_once(), "two never acknowledged");

        ledger.answered(ids[2], Outcome::Accepted);
        ledger.answered(ids[3], Outcome::Accepted);
        assert!(ledger.figures().exactly_once());

        ledger.answered(ids[3], Outcome::Accepted);
        let twice = ledger.figures();
        assert_eq!(twice.accepted_twice, 1);
        assert!(!twice.exactly_once(), "stored twice");
        assert_eq!(ledger.delivered_by_kiosk()["k1"].len(), 4);
    }

    #[test]
    fn an_answer_for_a_submission_nobody_made_breaks_exactly_once() {
        let ledger = Ledger::default();
        let id = Uuid::now_v7();
        ledger.made(id, "k1");
        ledger.answered(id, Outcome::Accepted);
        ledger.answered(Uuid::now_v7(), Outcome::Accepted);
        let figures = ledger.figures();
        assert_eq!((figures.made, figures.delivered), (1, 2));
        assert!(!figures.exactly_once());
    }
}
