//! Pinyin composition for the on-screen keyboard: the letters typed so far, and the Chinese
//! words they may stand for, best first.
//!
//! The engine (`inputx-pinyin`) matches whole syllables only, so a villager who types
//! "zhongg" or the initials "sfz" would see nothing; the candidates therefore come from, in order:
//! 1. words spelt exactly as typed ("tousu" → 投诉),
//! 2. phrases composed of several words ("woyaotousu" → 我要投诉),
//! 3. words whose spelling continues what was typed ("zhongg" → 中国),
//! 4. words whose syllables start with the typed letters, when only consonants were typed
//!    ("sfz" → 身份证),
//! 5. words for the first part of the input only ("woyaotous" → 我要), leaving the rest to type.
//!
//! Choosing never teaches the engine: its learning would let one villager's words reorder the
//! next villager's candidates on a shared booth.

use std::sync::LazyLock;

use inputx_pinyin::{PinyinEngine, is_valid_syllable};

/// One process-wide engine: the dictionary is embedded, so building it is cheap, but there is
/// no reason to do it per key.
static ENGINE: LazyLock<PinyinEngine> = LazyLock::new(PinyinEngine::new);

/// Enough to page through; nobody looks at the twentieth page.
const MAX_CANDIDATES: usize = 60;
/// Exact matches of one syllable run into the hundreds of rare characters.
const MAX_EXACT: usize = 36;
const MAX_COMPOSED: usize = 3;
const MAX_COMPLETIONS: usize = 12;
const MAX_INITIALS: usize = 12;
const MAX_PER_PART: usize = 8;
/// The engine composes phrases of up to 30 letters; longer input is not accepted.
const MAX_INPUT: usize = 30;
/// Completions longer than this are rarely what a villager is typing.
const MAX_COMPLETION_CHARS: usize = 4;
/// A completion loses this much frequency per letter it adds to what was typed, so the word
/// that finishes the current syllable comes before a longer phrase.
const PENALTY_PER_LETTER: i64 = 8000;
/// Initials are looked up for at most this many letters.
const MAX_INITIALS_LEN: usize = 6;
/// The longest pinyin syllable ("zhuang").
const MAX_SYLLABLE: usize = 6;

/// A word offered for the input, and how many of the typed letters it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    consumed: usize,
}

/// The pinyin being typed into one field.
#[derive(Debug, Default)]
pub struct Composer {
    input: String,
    candidates: Vec<Candidate>,
}

impl Composer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The letters typed and not yet turned into characters.
    pub fn input(&self) -> &str {
        &self.input
    }

    pub fn is_composing(&self) -> bool {
        !self.input.is_empty()
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Adds a letter; anything else (and letters past the longest input) is refused.
    pub fn type_letter(&mut self, letter: char) -> bool {
        if !letter.is_ascii_alphabetic() || self.input.len() >= MAX_INPUT {
            return false;
        }
        self.input.push(letter.to_ascii_lowercase());
        self.refresh();
        true
    }

    /// Removes the last letter; false if there was none (the field's own text is next).
    pub fn backspace(&mut self) -> bool {
        let removed = self.input.pop().is_some();
        if removed {
            self.refresh();
        }
        removed
    }

    pub fn reset(&mut self) {
        self.input.clear();
        self.candidates.clear();
    }

    /// Takes candidate `index`: returns its text for the field and keeps the letters it did not
    /// stand for, so a long input is chosen word by word.
    pub fn choose(&mut self, index: usize) -> Option<String> {
        let chosen = self.candidates.get(index)?.clone();
        self.input.drain(..chosen.consumed.min(self.input.len()));
        self.refresh();
        Some(chosen.text)
    }

    /// What the space key commits: the best candidate, or the letters themselves when no
    /// word matches (a name or an abbreviation in letters).
    pub fn commit_best(&mut self) -> String {
        if self.candidates.is_empty() {
            let letters = std::mem::take(&mut self.input);
            self.refresh();
            return letters;
        }
        self.choose(0).unwrap_or_default()
    }

    fn refresh(&mut self) {
        self.candidates = candidates_for(&self.input);
    }
}

/// Every candidate for `input`, best first, without repeats.
pub fn candidates_for(input: &str) -> Vec<Candidate> {
    let mut found = Found::default();
    if input.is_empty() {
        return found.list;
    }
    let dict = ENGINE.dict();
    let whole = input.len();
    for word in dict.lookup(input).into_iter().take(MAX_EXACT) {
        found.push(word, whole);
    }
    for (_, phrase) in dict.top_k_compositions(input, MAX_COMPOSED) {
        found.push(phrase, whole);
    }
    for word in completions(input) {
        found.push(word, whole);
    }
    if is_initials(input) {
        for word in initials(input) {
            found.push(word, whole);
        }
    }
    for end in (1..whole).rev() {
        for word in dict.lookup(&input[..end]).into_iter().take(MAX_PER_PART) {
            found.push(word, end);
        }
    }
    found.list.truncate(MAX_CANDIDATES);
    found.list
}

#[derive(Default)]
struct Found {
    list: Vec<Candidate>,
}

impl Found {
    fn push(&mut self, text: String, consumed: usize) {
        if !text.is_empty() && !self.list.iter().any(|c| c.text == text) {
            self.list.push(Candidate { text, consumed });
        }
    }
}

/// Words spelt as `input` plus more letters, best first.
fn completions(input: &str) -> Vec<String> {
    let mut best: Vec<(i64, String)> = Vec::new();
    ENGINE
        .dict()
        .prefix_for_each(input, |pinyin, word, frequency| {
            if pinyin.len() == input.len() || word.chars().count() > MAX_COMPLETION_CHARS {
                return;
            }
            let extra = i64::try_from(pinyin.len() - input.len()).unwrap_or(i64::MAX / 2);
            let score = i64::try_from(frequency)
                .unwrap_or(i64::MAX / 2)
                .saturating_sub(PENALTY_PER_LETTER.saturating_mul(extra));
            keep_best(&mut best, score, word, MAX_COMPLETIONS);
        });
    best.into_iter().map(|(_, word)| word).collect()
}

/// Only consonants typed: perhaps the first letter of each syllable ("sfz").
fn is_initials(input: &str) -> bool {
    (2..=MAX_INITIALS_LEN).contains(&input.len()) && input.bytes().all(|b| !b"aeiouv".contains(&b))
}

/// Words of one character per typed letter whose syllables start with those letters.
fn initials(input: &str) -> Vec<String> {
    let letters = input.as_bytes();
    let mut best: Vec<(i64, String)> = Vec::new();
    ENGINE
        .dict()
        .prefix_for_each(&input[..1], |pinyin, word, frequency| {
            if word.chars().count() != letters.len() {
                return;
            }
            let score = i64::try_from(frequency).unwrap_or(i64::MAX / 2);
            let beaten = best.len() >= MAX_INITIALS && best.last().is_some_and(|b| b.0 >= score);
            if !beaten && splits_by_initials(pinyin, letters) {
                keep_best(&mut best, score, word, MAX_INITIALS);
            }
        });
    best.into_iter().map(|(_, word)| word).collect()
}

/// Whether `pinyin` splits into valid syllables starting with `letters`, one each.
fn splits_by_initials(pinyin: &str, letters: &[u8]) -> bool {
    let Some((first, rest)) = letters.split_first() else {
        return pinyin.is_empty();
    };
    if pinyin.as_bytes().first() != Some(first) {
        return false;
    }
    (1..=MAX_SYLLABLE.min(pinyin.len())).rev().any(|len| {
        pinyin.is_char_boundary(len)
            && is_valid_syllable(&pinyin[..len])
            && splits_by_initials(&pinyin[len..], rest)
    })
}

/// Keeps the `limit` highest scores in `best`, highest first; equal scores keep their order.
fn keep_best(best: &mut Vec<(i64, String)>, score: i64, word: &str, limit: usize) {
    if best.len() >= limit && best.last().is_some_and(|last| last.0 >= score) {
        return;
    }
    if best.iter().any(|(_, w)| w == word) {
        return;
    }
    let at = best.partition_point(|(s, _)| *s >= score);
    best.insert(at, (score, word.to_owned()));
    best.truncate(limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(letters: &str) -> Composer {
        let mut composer = Composer::new();
        for letter in letters.chars() {
            assert!(composer.type_letter(letter), "{letter} is accepted");
        }
        composer
    }

    fn texts(composer: &Composer) -> Vec<&str> {
        composer
            .candidates()
            .iter()
            .map(|c| c.text.as_str())
            .collect()
    }

    #[test]
    fn a_whole_word_offers_it_first() {
        let composer = typed("zhongguo");
        assert_eq!(composer.input(), "zhongguo");
        assert_eq!(
            texts(&composer).first(),
            Some(&"中国"),
            "{:?}",
            texts(&composer)
        );
    }

    #[test]
    fn a_partial_syllable_is_completed() {
        let composer = typed("zhongg");
        let found = texts(&composer);
        assert!(found.contains(&"中国"), "{found:?}");
        // The finished syllable alone is offered too, leaving the rest to type.
        assert!(found.contains(&"中"), "{found:?}");
    }

    #[test]
    fn initials_find_words() {
        let found = candidates_for("sfz");
        assert!(found.iter().any(|c| c.text == "身份证"), "{found:?}");
    }

    #[test]
    fn several_words_compose_a_phrase() {
        let found = candidates_for("woyaotousu");
        assert_eq!(found.first().map(|c| c.text.as_str()), Some("我要投诉"));
    }

    #[test]
    fn backspace_removes_letters_then_reports_nothing_left() {
        let mut composer = typed("tousu");
        assert!(composer.backspace());
        assert_eq!(composer.input(), "tous");
        assert!(texts(&composer).contains(&"投诉"), "a completion again");
        for _ in 0..4 {
            assert!(composer.backspace());
        }
        assert!(!composer.is_composing());
        assert!(composer.candidates().is_empty());
        assert!(!composer.backspace(), "the field's text is next");
    }

    #[test]
    fn choosing_commits_the_word_and_keeps_what_it_did_not_cover() {
        let mut composer = typed("tousu");
        let at = texts(&composer)
            .iter()
            .position(|t| *t == "投诉")
            .expect("投诉 is offered");
        assert_eq!(composer.choose(at).as_deref(), Some("投诉"));
        assert!(!composer.is_composing());
        assert!(composer.candidates().is_empty());

        // A part of the input: 我 stands for "wo", and "yao" stays to be chosen.
        let mut composer = typed("woyao");
        let at = texts(&composer)
            .iter()
            .position(|t| *t == "我")
            .expect("我 is offered for the first syllable");
        assert_eq!(composer.choose(at).as_deref(), Some("我"));
        assert_eq!(composer.input(), "yao");
        assert!(texts(&composer).contains(&"要"));
        assert_eq!(composer.choose(999), None, "out of range leaves it");
        assert_eq!(composer.input(), "yao");
    }

    #[test]
    fn space_commits_the_best_word_or_the_letters() {
        let mut composer = typed("tousu");
        assert_eq!(composer.commit_best(), "投诉");
        let mut composer = typed("vvv");
        assert!(composer.candidates().is_empty(), "{:?}", texts(&composer));
        assert_eq!(composer.commit_best(), "vvv");
        assert!(!composer.is_composing());
    }

    #[test]
    fn only_letters_are_typed_and_choosing_does_not_learn() {
        let mut composer = Composer::new();
        assert!(!composer.type_letter('1'));
        assert!(!composer.type_letter('中'));
        assert!(composer.type_letter('S'));
        assert_eq!(composer.input(), "s");

        // Choosing a rarer word many times leaves the order as it was for the next villager.
        let before = candidates_for("shi");
        let rare = before[3].text.clone();
        for _ in 0..5 {
            let mut composer = typed("shi");
            let at = texts(&composer)
                .iter()
                .position(|t| *t == rare)
                .expect("same list");
            composer.choose(at);
        }
        assert_eq!(candidates_for("shi"), before);
    }

    #[test]
    fn initials_split_only_into_real_syllables() {
        assert!(splits_by_initials("shenfenzheng", b"sfz"));
        assert!(!splits_by_initials("shenfenzheng", b"sz"));
        assert!(!splits_by_initials("shenfenzheng", b"sfzz"));
        assert!(is_initials("bszn"));
        assert!(!is_initials("zhong"));
        assert!(!is_initials("z"));
    }
}
