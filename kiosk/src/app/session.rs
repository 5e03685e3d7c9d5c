//! One villager's session: from the first touch after Home until Home again (their choice, or
//! 90 s without a touch). What they typed lives in the page flows and adapters (cleared by each
//! page's session-end hook); what the reader read lives here, and is dropped when the session ends.

use hardware::id_card::Card;

#[derive(Debug, Default)]
pub struct Session {
    generation: u64,
    holder: Option<Card>,
    has_data: bool,
}

impl Session {
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn holder(&self) -> Option<&Card> {
        self.holder.as_ref()
    }

    pub fn set_holder(&mut self, card: Card) {
        self.holder = Some(card);
        self.has_data = true;
    }

    pub fn note_data(&mut self) {
        self.has_data = true;
    }

    /// Something of the villager's is on the booth: Home alone does not end the idle countdown.
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Drops the card and starts the next session's number.
    pub fn end(&mut self) {
        self.holder = None;
        self.has_data = false;
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::id_card::samples;

    #[test]
    fn ending_drops_the_card_and_moves_to_the_next_session() {
        let mut session = Session::default();
        let card = samples::resident();
        session.set_holder(card);
        assert!(session.holder().is_some() && session.has_data());
        let before = session.generation();
        session.end();
        assert!(session.holder().is_none());
        assert!(!session.has_data());
        assert_eq!(session.generation(), before + 1);
    }
}
