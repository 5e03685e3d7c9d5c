//! The staff pages' two languages: Chinese first, English for whoever needs it. Templates ask
//! `tr.t("key")`; a test reads every template and fails on a key missing from the tables, and
//! on a key in them that no template or handler uses.
//!
//! The texts live in one table per page group ([`frame`], [`review`], [`fleet`] …), not in
//! the page modules, so a page file holds handlers and a translator reads tables only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

pub mod accounts;
pub mod audit;
pub mod calendar;
pub mod fleet;
pub mod follow_ups;
pub mod frame;
pub mod guides;
pub mod notices;
pub mod ratings;
pub mod releases;
pub mod review;

/// The language a page is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The `lang` cookie, else English when the browser puts it before Chinese, else Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if let Some(lang) = super::web::cookie(headers, super::web::LANG_COOKIE)
            .as_deref()
            .and_then(Self::parse)
        {
            return lang;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let first = accept
            .split(',')
            .map(|part| {
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find(|tag| tag.starts_with("zh") || tag.starts_with("en"));
        match first {
            Some(tag) if tag.starts_with("en") => Self::En,
            _ => Self::Zh,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }
}

/// Translations for one page render.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The text of `key`; the key itself if it is missing (a test keeps that from shipping).
    pub fn t(&self, key: impl AsRef<str>) -> Cow<'static, str> {
        let key = key.as_ref();
        match table().get(key) {
            Some((zh, en)) => Cow::Borrowed(match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            }),
            None => Cow::Owned(key.to_owned()),
        }
    }
}

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        all_entries()
            .map(|(key, zh, en)| (*key, (*zh, *en)))
            .collect()
    })
}

/// One translation: `(key, 中文, English)`.
pub type Entry = (&'static str, &'static str, &'static str);

/// Every page group's table, one module each beside this one.
pub const SECTIONS: &[&[Entry]] = &[
    frame::KEYS,
    review::KEYS,
    audit::KEYS,
    calendar::KEYS,
    accounts::KEYS,
    guides::KEYS,
    notices::KEYS,
    ratings::KEYS,
    follow_ups::KEYS,
    fleet::KEYS,
    releases::KEYS,
];

pub fn all_entries() -> impl Iterator<Item = &'static Entry> {
    SECTIONS.iter().flat_map(|section| section.iter())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut seen = BTreeSet::new();
        for (key, zh, en) in all_entries() {
            assert!(seen.insert(key), "`{key}` twice");
            assert!(!zh.is_empty() && !en.is_empty(), "`{key}` is blank");
        }
    }

    /// Every file a key can be used from.
    fn sources() -> String {
        fn walk(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                    out.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut text = String::new();
        walk(&root.join("src/staff"), &mut text);
        walk(&root.join("templates/staff"), &mut text);
        text
    }

    /// Whether `key` is written somewhere other than its own table row (where its Chinese
    /// text follows it).
    fn used(text: &str, key: &str, zh: &str) -> bool {
        let quoted = format!("\"{key}\"");
        let row_text = format!("\"{zh}\"");
        text.match_indices(&quoted).any(|(at, _)| {
            let rest = text[at + quoted.len()..]
                .trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            !rest.starts_with(&row_text)
        })
    }

    /// Keys built at run time from a prefix and a value (`status.{}`, `role.{}` …).
    const BUILT: &[&str] = &[
        "role.",
        "nav.",
        "status.",
        "kind.",
        "level.",
        "action.",
        "fleet.alert.",
        "rollout.state.",
        "update.state.",
    ];

    #[test]
    fn every_key_a_template_asks_for_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/staff");
        for entry in std::fs::read_dir(root).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            for (index, _) in text.match_indices("t(\"") {
                let rest = &text[index + 3..];
                let key = &rest[..rest.find('"').unwrap()];
                assert!(
                    table().contains_key(key),
                    "{} asks for `{key}`, which no table has",
                    entry.path().display()
                );
            }
        }
    }

    #[test]
    fn every_key_is_used_somewhere() {
        let text = sources();
        for (key, zh, _) in all_entries() {
            if BUILT.iter().any(|prefix| key.starts_with(prefix)) {
                continue;
            }
            assert!(
                used(&text, key, zh),
                "`{key}` is in a table but nothing uses it"
            );
        }
    }

    #[test]
    fn the_browser_language_picks_english_only_when_it_comes_first() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::ACCEPT_LANGUAGE, value.parse().unwrap());
            headers
        };
        assert_eq!(Lang::from_headers(&headers("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_headers(&headers("zh-CN,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::from_headers(&headers("fr")), Lang::Zh);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
        let mut chosen = headers("en");
        chosen.insert(axum::http::header::COOKIE, "a=b; lang=zh".parse().unwrap());
        assert_eq!(Lang::from_headers(&chosen), Lang::Zh);
    }
}
