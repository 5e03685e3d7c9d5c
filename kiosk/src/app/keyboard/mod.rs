//! The on-screen keyboard: binds `KeyboardAdapter`.
//!
//! Digits, letters and punctuation go to the focused text field as key events, the way a
//! physical keyboard's would. In pinyin mode, letters go to a [`Composer`] instead; its
//! candidates are shown in the keyboard's bar, and the one the villager taps is sent to the field.
//!
//! The mode is the screen's (a focused field picks its keyboard); it is read with each key,
//! and only the session's end sets it back to pinyin.

mod pinyin;

use std::rc::Rc;

use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, SharedString};
use ui::{KeyboardAdapter, KeyboardMode, MainWindow};

pub use pinyin::{Candidate, Composer, candidates_for};

use super::bind::{Asserted, Bound, Changes, Flow, model};
use super::context::Ctx;

/// The pinyin being composed.
#[derive(Debug, Default)]
pub struct Keyboard {
    composer: Composer,
    /// Each reset puts the screen's keyboard back to pinyin, whatever mode it was left in.
    mode_reset: Asserted<()>,
}

#[derive(Debug, PartialEq)]
pub struct KeyboardView {
    preedit: String,
    candidates: Vec<SharedString>,
    mode_reset: Asserted<()>,
}

impl Keyboard {
    /// One key of the keyboard, in the screen's mode: what to type into the focused field, in
    /// order.
    pub fn press(&mut self, mode: KeyboardMode, key: &str) -> Vec<String> {
        let composer = &mut self.composer;
        let mut typed = Vec::new();
        if mode == KeyboardMode::Pinyin {
            let mut chars = key.chars();
            if let (Some(letter), None) = (chars.next(), chars.next())
                && letter.is_ascii_alphabetic()
            {
                composer.type_letter(letter);
                return typed;
            }
            if is_backspace(key) && composer.backspace() {
                return typed;
            }
            if composer.is_composing() {
                if key == " " {
                    // Space takes the best word, as on a phone; the rest stays to be chosen.
                    typed.push(composer.commit_best());
                    return typed;
                }
                // Punctuation ends the sentence part: everything typed becomes characters first.
                let mut words = String::new();
                while composer.is_composing() {
                    words.push_str(&composer.commit_best());
                }
                typed.push(words);
            }
        } else if composer.is_composing() {
            composer.reset();
        }
        typed.push(key.to_owned());
        typed
    }

    /// The villager tapped candidate `index`: the word to type, if there is one.
    pub fn choose(&mut self, index: i32) -> Option<String> {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.composer.choose(index))
    }

    /// The keyboard closed or changed mode: an unfinished pinyin is dropped.
    pub fn abandon(&mut self) {
        if self.composer.is_composing() {
            self.composer.reset();
        }
    }

    /// What was being typed belongs to the villager who typed it.
    pub fn reset(&mut self) {
        self.composer.reset();
        self.mode_reset.set(());
    }
}

impl Flow for Keyboard {
    type View = KeyboardView;

    fn view(&self) -> KeyboardView {
        KeyboardView {
            preedit: self.composer.input().to_owned(),
            candidates: self
                .composer
                .candidates()
                .iter()
                .map(|c| SharedString::from(c.text.as_str()))
                .collect(),
            mode_reset: self.mode_reset.clone(),
        }
    }

    fn render(now: &KeyboardView, before: Option<&KeyboardView>, window: &MainWindow) {
        let adapter = window.global::<KeyboardAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.preedit, |p| adapter.set_preedit(p.into()));
        changes.write(
            |v| &v.candidates,
            |c| {
                // A new list is paged from its start.
                adapter.set_candidates(model(c));
                adapter.set_candidate_start(0);
            },
        );
        changes.write(
            |v| &v.mode_reset,
            |_| adapter.set_mode(KeyboardMode::Pinyin),
        );
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Keyboard>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<KeyboardAdapter>();
    adapter.on_key_pressed(page.callback1(|ctx, page, key: SharedString| {
        ctx.touched();
        ctx.note_session_data();
        let window = ctx.window();
        let mode = window.global::<KeyboardAdapter>().get_mode();
        for text in page.update(ctx, |keyboard| keyboard.press(mode, &key)) {
            send(&window, &text);
        }
    }));
    adapter.on_candidate_chosen(page.callback1(|ctx, page, index| {
        ctx.touched();
        if let Some(text) = page.update(ctx, |keyboard| keyboard.choose(index)) {
            send(&ctx.window(), &text);
        }
    }));
    adapter.on_composition_abandoned(page.callback(|ctx, page| {
        page.update(ctx, Keyboard::abandon);
    }));
    page.reset_on_session_end(ctx);
}

fn is_backspace(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next() == Some(char::from(Key::Backspace)) && chars.next().is_none()
}

/// Types `text` into the focused field, as a physical keyboard would.
pub fn send(window: &MainWindow, text: &str) {
    if text.is_empty() {
        return;
    }
    let text = SharedString::from(text);
    let window = window.window();
    window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
    window.dispatch_event(WindowEvent::KeyReleased { text });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keyboard: &mut Keyboard, mode: KeyboardMode, keys: &str) -> Vec<String> {
        keys.chars()
            .flat_map(|key| keyboard.press(mode, &key.to_string()))
            .collect()
    }

    #[test]
    fn pinyin_letters_compose_and_space_takes_the_best_word() {
        let mut keyboard = Keyboard::default();
        assert!(typed(&mut keyboard, KeyboardMode::Pinyin, "zhongguo").is_empty());
        let view = keyboard.view();
        assert_eq!(view.preedit, "zhongguo");
        assert_eq!(
            view.candidates.first().map(SharedString::as_str),
            Some("中国")
        );
        assert_eq!(typed(&mut keyboard, KeyboardMode::Pinyin, " "), ["中国"]);
        assert_eq!(keyboard.view().preedit, "");
    }

    #[test]
    fn punctuation_commits_the_pinyin_first() {
        let mut keyboard = Keyboard::default();
        typed(&mut keyboard, KeyboardMode::Pinyin, "zhongguo");
        assert_eq!(
            typed(&mut keyboard, KeyboardMode::Pinyin, "。"),
            ["中国", "。"]
        );
    }

    #[test]
    fn a_chosen_candidate_is_typed() {
        let mut keyboard = Keyboard::default();
        typed(&mut keyboard, KeyboardMode::Pinyin, "zhongguo");
        assert_eq!(keyboard.choose(0).as_deref(), Some("中国"));
        assert!(keyboard.choose(-1).is_none());
    }

    #[test]
    fn other_modes_type_keys_and_drop_an_unfinished_pinyin() {
        let mut keyboard = Keyboard::default();
        typed(&mut keyboard, KeyboardMode::Pinyin, "zh");
        assert_eq!(typed(&mut keyboard, KeyboardMode::Digits, "1"), ["1"]);
        assert_eq!(keyboard.view().preedit, "");
        assert_eq!(typed(&mut keyboard, KeyboardMode::Latin, "a"), ["a"]);
    }

    #[test]
    fn backspace_edits_the_pinyin_before_the_field() {
        let mut keyboard = Keyboard::default();
        let backspace = char::from(Key::Backspace).to_string();
        typed(&mut keyboard, KeyboardMode::Pinyin, "zh");
        assert!(keyboard.press(KeyboardMode::Pinyin, &backspace).is_empty());
        assert_eq!(keyboard.view().preedit, "z");
        keyboard.press(KeyboardMode::Pinyin, &backspace);
        assert_eq!(
            keyboard.press(KeyboardMode::Pinyin, &backspace),
            [backspace]
        );
    }

    #[test]
    fn a_reset_forgets_the_pinyin_and_returns_to_pinyin_mode() {
        let mut keyboard = Keyboard::default();
        typed(&mut keyboard, KeyboardMode::Pinyin, "zh");
        keyboard.abandon();
        assert_eq!(keyboard.view().preedit, "");
        let before = keyboard.view();
        keyboard.reset();
        assert_ne!(keyboard.view(), before, "the mode is set back on screen");
    }
}
