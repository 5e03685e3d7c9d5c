//! Decoding a keyboard-mode (USB HID) scanner from Linux input key events.
//!
//! A scanner in keyboard mode "types" each code and presses Enter. Reading its
//! `/dev/input/event*` node gives raw key events (`type`, `code`, `value`), independent of any
//! console keymap, so this decoder tracks Shift itself and maps the US layout, which is what
//! scanners emulate by default. It is pure: the evdev adapter and the tests feed it events.
//!
//! Keyboard mode cannot carry Chinese text; a scanner that must read such codes belongs on
//! serial/USB-CDC.

/// `EV_KEY`: a key changed state.
pub const EV_KEY: u16 = 1;
/// `value` of a key press.
pub const KEY_PRESS: i32 = 1;
/// `value` of a key release.
pub const KEY_RELEASE: i32 = 0;
/// `value` of an autorepeat.
pub const KEY_REPEAT: i32 = 2;

/// Key codes from `linux/input-event-codes.h` that the decoder treats specially.
pub mod keys {
    pub const KEY_1: u16 = 2;
    pub const KEY_0: u16 = 11;
    pub const KEY_BACKSPACE: u16 = 14;
    pub const KEY_TAB: u16 = 15;
    pub const KEY_ENTER: u16 = 28;
    pub const KEY_LEFTCTRL: u16 = 29;
    pub const KEY_LEFTSHIFT: u16 = 42;
    pub const KEY_RIGHTSHIFT: u16 = 54;
    pub const KEY_LEFTALT: u16 = 56;
    pub const KEY_SPACE: u16 = 57;
    pub const KEY_CAPSLOCK: u16 = 58;
    pub const KEY_KPENTER: u16 = 96;
    pub const KEY_RIGHTCTRL: u16 = 97;
    pub const KEY_RIGHTALT: u16 = 100;
}

use keys::*;

/// One input event, as in `struct input_event` without the timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent {
    /// Event type; only [`EV_KEY`] matters here.
    pub kind: u16,
    /// Key code, e.g. [`keys::KEY_ENTER`].
    pub code: u16,
    /// [`KEY_PRESS`], [`KEY_RELEASE`] or [`KEY_REPEAT`].
    pub value: i32,
}

impl KeyEvent {
    /// A key press.
    pub fn press(code: u16) -> Self {
        Self {
            kind: EV_KEY,
            code,
            value: KEY_PRESS,
        }
    }

    /// A key release.
    pub fn release(code: u16) -> Self {
        Self {
            kind: EV_KEY,
            code,
            value: KEY_RELEASE,
        }
    }
}

/// One result of key decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyItem {
    /// A code typed and ended by Enter; never empty.
    Code(String),
    /// A code longer than the limit; it was thrown away up to its Enter.
    TooLong {
        /// How many characters it had (saturating).
        len: usize,
        /// The limit it broke.
        max_len: usize,
    },
}

/// A streaming decoder from key events to codes.
#[derive(Debug, Clone)]
pub struct KeyDecoder {
    max_len: usize,
    text: String,
    chars: usize,
    overflow: Option<usize>,
    left_shift: bool,
    right_shift: bool,
    caps_lock: bool,
    ctrl: u8,
    /// `Some(n)` while Alt is held: scanners in "Alt+keypad" mode type each character as its
    /// decimal code on the keypad, finished by releasing Alt.
    alt_code: Option<u32>,
    alt_keys: u8,
}

impl KeyDecoder {
    /// A decoder accepting codes of up to `max_len` characters.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            text: String::new(),
            chars: 0,
            overflow: None,
            left_shift: false,
            right_shift: false,
            caps_lock: false,
            ctrl: 0,
            alt_code: None,
            alt_keys: 0,
        }
    }

    /// Feeds events in the order they were read; returns the codes they completed.
    pub fn push(&mut self, events: &[KeyEvent]) -> Vec<KeyItem> {
        events.iter().filter_map(|&e| self.push_event(e)).collect()
    }

    /// Feeds one event.
    pub fn push_event(&mut self, event: KeyEvent) -> Option<KeyItem> {
        if event.kind != EV_KEY {
            return None;
        }
        let pressed = match event.value {
            KEY_PRESS => true,
            KEY_RELEASE => false,
            // A scanner never holds a key long enough to autorepeat on purpose; a repeat means
            // a release went missing, and typing it would add characters not in the code.
            _ => return None,
        };
        match event.code {
            KEY_LEFTSHIFT => self.left_shift = pressed,
            KEY_RIGHTSHIFT => self.right_shift = pressed,
            KEY_LEFTCTRL | KEY_RIGHTCTRL => {
                self.ctrl = if pressed {
                    self.ctrl.saturating_add(1)
                } else {
                    self.ctrl.saturating_sub(1)
                };
            }
            KEY_LEFTALT | KEY_RIGHTALT => return self.alt(pressed),
            KEY_CAPSLOCK if pressed => self.caps_lock = !self.caps_lock,
            KEY_ENTER | KEY_KPENTER if pressed && self.alt_code.is_none() => return self.end(),
            code if pressed => {
                if let Some(sum) = &mut self.alt_code {
                    if let Some(digit) = keypad_digit(code) {
                        *sum = sum.saturating_mul(10).saturating_add(digit);
                    }
                } else if self.ctrl == 0
                    && let Some(c) = self.char_for(code)
                {
                    self.add(c);
                }
            }
            _ => {}
        }
        None
    }

    /// Ends the code in progress as if Enter had been pressed; for scanners set to send no
    /// suffix, after an idle gap.
    pub fn flush(&mut self) -> Option<KeyItem> {
        self.end()
    }

    /// The longest code accepted, in characters.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether part of a code is waiting for Enter.
    pub fn has_partial(&self) -> bool {
        !self.text.is_empty() || self.overflow.is_some()
    }

    /// How many characters are buffered; never more than the limit.
    pub fn buffered(&self) -> usize {
        self.chars
    }

    fn alt(&mut self, pressed: bool) -> Option<KeyItem> {
        if pressed {
            self.alt_keys = self.alt_keys.saturating_add(1);
            self.alt_code.get_or_insert(0);
        } else {
            self.alt_keys = self.alt_keys.saturating_sub(1);
            if self.alt_keys == 0
                && let Some(code) = self.alt_code.take()
            {
                // Only ASCII: above 127 the character depends on the Windows code page the
                // scanner assumes, which cannot be known here.
                if let Some(c) = char::from_u32(code).filter(|c| c.is_ascii() && !c.is_control()) {
                    self.add(c);
                }
            }
        }
        None
    }

    fn add(&mut self, c: char) {
        if let Some(len) = &mut self.overflow {
            *len = len.saturating_add(1);
        } else if self.chars >= self.max_len {
            self.overflow = Some(self.chars.saturating_add(1));
            self.text.clear();
            self.chars = 0;
        } else {
            self.text.push(c);
            self.chars += 1;
        }
    }

    fn end(&mut self) -> Option<KeyItem> {
        self.chars = 0;
        if let Some(len) = self.overflow.take() {
            self.text.clear();
            return Some(KeyItem::TooLong {
                len,
                max_len: self.max_len,
            });
        }
        if self.text.is_empty() {
            return None;
        }
        Some(KeyItem::Code(std::mem::take(&mut self.text)))
    }

    fn char_for(&self, code: u16) -> Option<char> {
        let shift = self.left_shift || self.right_shift;
        if let Some(c) = keypad_char(code) {
            return Some(c);
        }
        let (plain, shifted) = us_key(code)?;
        Some(if plain.is_ascii_lowercase() {
            if shift != self.caps_lock {
                shifted
            } else {
                plain
            }
        } else if shift {
            shifted
        } else {
            plain
        })
    }
}

impl Default for KeyDecoder {
    fn default() -> Self {
        Self::new(super::framing::FramerConfig::default().max_len)
    }
}

/// The US layout: (unshifted, shifted) for each key that types a character.
fn us_key(code: u16) -> Option<(char, char)> {
    const DIGITS: &[u8; 10] = b"1234567890";
    const SHIFTED_DIGITS: &[u8; 10] = b"!@#$%^&*()";
    if (KEY_1..=KEY_0).contains(&code) {
        let i = usize::from(code - KEY_1);
        return Some((char::from(DIGITS[i]), char::from(SHIFTED_DIGITS[i])));
    }
    let pair = match code {
        12 => ('-', '_'),
        13 => ('=', '+'),
        KEY_TAB => ('\t', '\t'),
        16 => ('q', 'Q'),
        17 => ('w', 'W'),
        18 => ('e', 'E'),
        19 => ('r', 'R'),
        20 => ('t', 'T'),
        21 => ('y', 'Y'),
        22 => ('u', 'U'),
        23 => ('i', 'I'),
        24 => ('o', 'O'),
        25 => ('p', 'P'),
        26 => ('[', '{'),
        27 => (']', '}'),
        30 => ('a', 'A'),
        31 => ('s', 'S'),
        32 => ('d', 'D'),
        33 => ('f', 'F'),
        34 => ('g', 'G'),
        35 => ('h', 'H'),
        36 => ('j', 'J'),
        37 => ('k', 'K'),
        38 => ('l', 'L'),
        39 => (';', ':'),
        40 => ('\'', '"'),
        41 => ('`', '~'),
        43 => ('\\', '|'),
        44 => ('z', 'Z'),
        45 => ('x', 'X'),
        46 => ('c', 'C'),
        47 => ('v', 'V'),
        48 => ('b', 'B'),
        49 => ('n', 'N'),
        50 => ('m', 'M'),
        51 => (',', '<'),
        52 => ('.', '>'),
        53 => ('/', '?'),
        KEY_SPACE => (' ', ' '),
        // KEY_102ND: the extra key left of Z on ISO keyboards, `\|` in the US map.
        86 => ('\\', '|'),
        _ => return None,
    };
    Some(pair)
}

/// Keypad keys. Scanners that use the keypad for digits send them with Num Lock assumed on,
/// and the scanner cannot see the host's Num Lock state, so digits are digits.
fn keypad_char(code: u16) -> Option<char> {
    if let Some(d) = keypad_digit(code) {
        return char::from_digit(d, 10);
    }
    Some(match code {
        55 => '*',
        74 => '-',
        78 => '+',
        83 => '.',
        98 => '/',
        117 => '=',
        _ => return None,
    })
}

fn keypad_digit(code: u16) -> Option<u32> {
    Some(match code {
        82 => 0,
        79 => 1,
        80 => 2,
        81 => 3,
        75 => 4,
        76 => 5,
        77 => 6,
        71 => 7,
        72 => 8,
        73 => 9,
        _ => return None,
    })
}

/// The key presses and releases that type `text` on a US keyboard, then Enter; `None` if a
/// character has no key. Used by tests and by anything that needs to fake a HID scanner.
pub fn type_us(text: &str) -> Option<Vec<KeyEvent>> {
    let mut events = Vec::new();
    for c in text.chars() {
        let (code, shift) = (0..=255u16).find_map(|code| {
            let (plain, shifted) = us_key(code)?;
            if plain == c {
                Some((code, false))
            } else if shifted == c {
                Some((code, true))
            } else {
                None
            }
        })?;
        if shift {
            events.push(KeyEvent::press(KEY_LEFTSHIFT));
        }
        events.push(KeyEvent::press(code));
        events.push(KeyEvent::release(code));
        if shift {
            events.push(KeyEvent::release(KEY_LEFTSHIFT));
        }
    }
    events.push(KeyEvent::press(KEY_ENTER));
    events.push(KeyEvent::release(KEY_ENTER));
    Some(events)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SYN: KeyEvent = KeyEvent {
        kind: 0,
        code: 0,
        value: 0,
    };
    const MSC_SCAN: KeyEvent = KeyEvent {
        kind: 4,
        code: 4,
        value: 0x7001e,
    };

    fn key(code: u16, value: i32) -> KeyEvent {
        KeyEvent {
            kind: EV_KEY,
            code,
            value,
        }
    }

    #[test]
    fn a_url_typed_with_shift_and_enter_is_one_code() {
        // "https://x.cn/r/A1?b=2" + Enter written out key by key, with the EV_MSC scan codes
        // and EV_SYN reports a real keyboard interleaves.
        let tap = |code: u16| {
            [
                MSC_SCAN,
                key(code, KEY_PRESS),
                SYN,
                key(code, KEY_RELEASE),
                SYN,
            ]
        };
        let shifted = |shift: u16, code: u16| {
            [
                key(shift, KEY_PRESS),
                key(code, KEY_PRESS),
                key(code, KEY_RELEASE),
                key(shift, KEY_RELEASE),
            ]
        };
        let mut events = Vec::new();
        for code in [35, 20, 20, 25, 31] {
            events.extend(tap(code)); // https
        }
        events.extend(shifted(KEY_LEFTSHIFT, 39)); // :
        for code in [53, 53, 45, 52, 46, 49, 53, 19, 53] {
            events.extend(tap(code)); // //x.cn/r/
        }
        events.extend(shifted(KEY_RIGHTSHIFT, 30)); // A
        events.extend(tap(2)); // 1
        events.extend(shifted(KEY_LEFTSHIFT, 53)); // ?
        for code in [48, 13, 3, KEY_ENTER] {
            events.extend(tap(code)); // b=2, Enter
        }

        let mut d = KeyDecoder::default();
        assert_eq!(
            d.push(&events),
            vec![KeyItem::Code("https://x.cn/r/A1?b=2".into())]
        );
        assert!(!d.has_partial());
        assert_eq!(
            type_us("https://x.cn/r/A1?b=2").map(|e| d.push(&e)),
            Some(vec![KeyItem::Code("https://x.cn/r/A1?b=2".into())])
        );
    }

    #[test]
    fn keypad_enter_ends_a_code_and_keypad_digits_are_digits() {
        let mut d = KeyDecoder::default();
        let events = [
            KeyEvent::press(79),
            KeyEvent::release(79),
            KeyEvent::press(82),
            KeyEvent::release(82),
            KeyEvent::press(KEY_KPENTER),
            KeyEvent::release(KEY_KPENTER),
        ];
        assert_eq!(d.push(&events), vec![KeyItem::Code("10".into())]);
    }

    #[test]
    fn repeats_releases_other_event_types_and_bare_enters_type_nothing() {
        let mut d = KeyDecoder::default();
        let events = [
            KeyEvent::press(KEY_ENTER),
            key(30, KEY_PRESS),
            key(30, KEY_REPEAT),
            key(30, KEY_REPEAT),
            key(30, KEY_RELEASE),
            KeyEvent {
                kind: 2,
                code: 30,
                value: 1,
            },
            KeyEvent::press(KEY_ENTER),
        ];
        assert_eq!(d.push(&events), vec![KeyItem::Code("a".into())]);
    }

    #[test]
    fn caps_lock_inverts_letters_only() {
        let mut d = KeyDecoder::default();
        let mut events = vec![
            KeyEvent::press(KEY_CAPSLOCK),
            KeyEvent::release(KEY_CAPSLOCK),
        ];
        events.extend(type_us("aB1").unwrap());
        assert_eq!(d.push(&events), vec![KeyItem::Code("Ab1".into())]);
    }

    #[test]
    fn ctrl_chords_are_not_text() {
        let mut d = KeyDecoder::default();
        let mut events = vec![
            KeyEvent::press(KEY_LEFTCTRL),
            KeyEvent::press(46),
            KeyEvent::release(46),
            KeyEvent::release(KEY_LEFTCTRL),
        ];
        events.extend(type_us("ok").unwrap());
        assert_eq!(d.push(&events), vec![KeyItem::Code("ok".into())]);
    }

    #[test]
    fn alt_keypad_codes_type_ascii() {
        let mut d = KeyDecoder::default();
        // Alt+6+5 = 'A', Alt+0+5+7 = '9', Alt+2+0+0 is not ASCII and is dropped.
        let mut events = Vec::new();
        for digits in [&[77u16, 76][..], &[82, 76, 71], &[80, 82, 82]] {
            events.push(KeyEvent::press(KEY_LEFTALT));
            for &k in digits {
                events.extend([KeyEvent::press(k), KeyEvent::release(k)]);
            }
            events.push(KeyEvent::release(KEY_LEFTALT));
        }
        events.extend([KeyEvent::press(KEY_ENTER), KeyEvent::release(KEY_ENTER)]);
        assert_eq!(d.push(&events), vec![KeyItem::Code("A9".into())]);
    }

    #[test]
    fn an_over_long_code_is_reported_and_the_next_one_decodes() {
        let mut d = KeyDecoder::new(4);
        let mut events = type_us("123456").unwrap();
        events.extend(type_us("789").unwrap());
        assert_eq!(
            d.push(&events),
            vec![
                KeyItem::TooLong { len: 6, max_len: 4 },
                KeyItem::Code("789".into())
            ]
        );
    }

    #[test]
    fn flush_ends_a_code_typed_without_enter() {
        let mut d = KeyDecoder::default();
        let mut events = type_us("6901234567892").unwrap();
        events.truncate(events.len() - 2);
        assert_eq!(d.push(&events), vec![]);
        assert!(d.has_partial());
        assert_eq!(d.flush(), Some(KeyItem::Code("6901234567892".into())));
    }

    proptest! {
        #[test]
        fn printable_ascii_round_trips(text in "[ -~]{1,60}") {
            let mut d = KeyDecoder::default();
            prop_assert_eq!(d.push(&type_us(&text).unwrap()), vec![KeyItem::Code(text)]);
        }

        #[test]
        fn arbitrary_events_never_panic_and_stay_bounded(
            events in proptest::collection::vec((0u16..6, 0u16..300, -1i32..4), 0..400),
        ) {
            let mut d = KeyDecoder::new(32);
            for (kind, code, value) in events {
                if let Some(KeyItem::Code(text)) = d.push_event(KeyEvent { kind, code, value }) {
                    prop_assert!(!text.is_empty() && text.chars().count() <= 32);
                }
                prop_assert!(d.buffered() <= 32);
            }
        }
    }
}
