//! The staff pages' two languages: Chinese first, English for whoever needs it. Templates ask
//! `tr.t("key")`; a test reads every template and fails on a key missing here, and on a key
//! here that no template or handler uses.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

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

/// Every page group keeps its own texts beside its code; this lists them all.
pub const SECTIONS: &[&[Entry]] = &[
    FRAME,
    super::web::review::KEYS,
    super::web::audit::KEYS,
    super::web::calendar::KEYS,
    super::web::accounts::KEYS,
    super::web::guides::KEYS,
    super::web::notices::KEYS,
    super::web::ratings::KEYS,
    super::web::follow_ups::KEYS,
    super::web::fleet::KEYS,
];

pub fn all_entries() -> impl Iterator<Item = &'static Entry> {
    SECTIONS.iter().flat_map(|section| section.iter())
}

/// The frame, login, password and error pages.
pub const FRAME: &[Entry] = &[
    // Frame
    (
        "app.title",
        "便民服务亭 · 县级工作台",
        "Convenience Booth · County workbench",
    ),
    ("app.skip", "跳到正文", "Skip to content"),
    ("lang.switch", "English", "中文"),
    ("nav.inbox", "待办", "Inbox"),
    ("nav.followups", "差评回访", "Follow-ups"),
    ("nav.ratings", "好差评", "Ratings"),
    ("nav.guides", "办事指南", "Guides"),
    ("nav.notices", "公告", "Notices"),
    ("nav.fleet", "服务亭", "Booths"),
    ("nav.staff", "账号", "Accounts"),
    ("nav.calendar", "节假日", "Holidays"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.password", "修改密码", "Change password"),
    ("nav.logout", "退出", "Log out"),
    ("role.admin", "管理员", "Administrator"),
    ("role.handler", "承办人", "Handler"),
    ("role.reviewer", "审查人", "Reviewer"),
    ("role.approver", "审批人", "Approver"),
    ("role.viewer", "查看人", "Viewer"),
    ("scope.all", "全部", "Everything"),
    // Login
    ("login.title", "工作人员登录", "Staff login"),
    ("login.username", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.failed",
        "用户名或密码不正确。",
        "Wrong user name or password.",
    ),
    (
        "login.locked",
        "尝试次数过多，账号已暂时锁定，请稍后再试。",
        "Too many tries: the account is locked for a while. Try again later.",
    ),
    (
        "login.throttled",
        "本机尝试次数过多，请稍后再试。",
        "Too many tries from this computer. Try again later.",
    ),
    (
        "login.expired",
        "登录已过期，请重新登录。",
        "Your session ended. Please log in again.",
    ),
    (
        "login.form_expired",
        "登录页已过期，请再试一次。",
        "The login page expired. Please try again.",
    ),
    ("login.logged_out", "已退出。", "You are logged out."),
    // Password
    ("password.title", "修改密码", "Change password"),
    ("password.current", "当前密码", "Current password"),
    (
        "password.new",
        "新密码（至少10个字符）",
        "New password (at least 10 characters)",
    ),
    ("password.repeat", "再次输入新密码", "New password again"),
    ("password.submit", "保存新密码", "Save the new password"),
    (
        "password.wrong_current",
        "当前密码不正确。",
        "The current password is wrong.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致。",
        "The two new passwords differ.",
    ),
    (
        "password.too_short",
        "新密码太短：至少10个字符。",
        "The new password is too short: at least 10 characters.",
    ),
    (
        "password.same_as_user",
        "新密码不能与用户名相同。",
        "The new password cannot be the user name.",
    ),
    (
        "password.changed",
        "密码已修改，其他设备上的登录已退出。",
        "Password changed; sessions on other devices were ended.",
    ),
    // Errors
    ("error.title", "出错了", "Something went wrong"),
    (
        "error.not_found",
        "没有这个页面，或它不在您的管辖范围内。",
        "No such page, or it is outside your scope.",
    ),
    (
        "error.forbidden",
        "您的角色不能做这件事。",
        "Your role cannot do this.",
    ),
    (
        "error.csrf",
        "表单已过期或来源不明，请返回重新提交。",
        "The form expired or came from elsewhere: go back and submit it again.",
    ),
    (
        "error.bad_request",
        "提交的内容有误：",
        "The form has a problem: ",
    ),
    (
        "error.conflict",
        "这件事刚被别人处理过，请刷新后再看。",
        "Someone else acted on this just now: reload and look again.",
    ),
    (
        "error.internal",
        "服务器出错，请稍后再试；问题持续请联系管理员。",
        "The server failed: try again later, and tell an administrator if it persists.",
    ),
    ("error.back", "返回", "Go back"),
];

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
