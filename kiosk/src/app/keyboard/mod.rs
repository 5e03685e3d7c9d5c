//! The on-screen keyboard: binds `KeyboardAdapter`.
//!
//! Digits, letters and punctuation go to the focused text field as key events, the way a
//! physical keyboard's would. In pinyin mode, letters go to a [`Composer`] instead; its
//! candidates are shown in the keyboard's bar, and the one the villager taps is sent to the field.

mod pinyin;

use std::cell::RefCell;
use std::rc::Rc;

use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{KeyboardAdapter, KeyboardMode, MainWindow};

pub use pinyin::{Candidate, Composer, candidates_for};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let composer = Rc::new(RefCell::new(Composer::new()));
    let window = ctx.window();
    let adapter = window.global::<KeyboardAdapter>();

    let (weak, state) = (Rc::downgrade(ctx), Rc::clone(&composer));
    adapter.on_key_pressed(move |key| {
        let Some(ctx) = weak.upgrade() else { return };
        ctx.touched();
        ctx.note_session_data();
        press(&ctx.window(), &mut state.borrow_mut(), &key);
    });
    let (weak, state) = (Rc::downgrade(ctx), Rc::clone(&composer));
    adapter.on_candidate_chosen(move |index| {
        let Some(ctx) = weak.upgrade() else { return };
        ctx.touched();
        let window = ctx.window();
        let mut composer = state.borrow_mut();
        let chosen = usize::try_from(index)
            .ok()
            .and_then(|index| composer.choose(index));
        if let Some(text) = chosen {
            send(&window, &text);
        }
        show(&window, &composer);
    });
    let (weak, state) = (Rc::downgrade(ctx), Rc::clone(&composer));
    adapter.on_composition_abandoned(move || {
        let Some(ctx) = weak.upgrade() else { return };
        let mut composer = state.borrow_mut();
        if composer.is_composing() {
            composer.reset();
            show(&ctx.window(), &composer);
        }
    });
    // What was being typed belongs to the villager who typed it.
    let state = Rc::clone(&composer);
    ctx.on_session_end(move |ctx| {
        let window = ctx.window();
        let mut composer = state.borrow_mut();
        composer.reset();
        show(&window, &composer);
        window
            .global::<KeyboardAdapter>()
            .set_mode(KeyboardMode::Pinyin);
    });
}

/// One key of the keyboard, in its current mode.
pub fn press(window: &MainWindow, composer: &mut Composer, key: &str) {
    let pinyin = window.global::<KeyboardAdapter>().get_mode() == KeyboardMode::Pinyin;
    if pinyin {
        let mut chars = key.chars();
        if let (Some(letter), None) = (chars.next(), chars.next())
            && letter.is_ascii_alphabetic()
        {
            composer.type_letter(letter);
            show(window, composer);
            return;
        }
        if is_backspace(key) && composer.backspace() {
            show(window, composer);
            return;
        }
        if composer.is_composing() {
            if key == " " {
                // Space takes the best word, as on a phone; the rest stays to be chosen.
                let word = composer.commit_best();
                send(window, &word);
                show(window, composer);
                return;
            }
            // Punctuation ends the sentence part: everything typed becomes characters first.
            let mut words = String::new();
            while composer.is_composing() {
                words.push_str(&composer.commit_best());
            }
            send(window, &words);
            show(window, composer);
        }
    } else if composer.is_composing() {
        composer.reset();
        show(window, composer);
    }
    send(window, key);
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

fn show(window: &MainWindow, composer: &Composer) {
    let adapter = window.global::<KeyboardAdapter>();
    adapter.set_preedit(composer.input().into());
    let candidates: Vec<SharedString> = composer
        .candidates()
        .iter()
        .map(|c| SharedString::from(c.text.as_str()))
        .collect();
    adapter.set_candidates(ModelRc::new(VecModel::from(candidates)));
    adapter.set_candidate_start(0);
}
