//! The guide editor's form: a catalogue item as plain form fields and back, so every 专栏7
//! field can be edited without a script. Lists are textareas with one entry per line; lines
//! with several parts split them with `|` (or the full-width `｜` a Chinese keyboard types):
//!
//! - materials: `名称 | 原件/复印件 | 份数 | 备注` (the note may be left out);
//! - fees: `名称 | 金额（元，如 12.50） | 依据`;
//! - form fields: `key | 标签 | text/number/date/phone/choice | 必填/选填 | 选项1,选项2`
//!   (choices only, and always, for `choice`).
//!
//! A `|` inside a value is written `\|` (and a backslash `\\`); a choice cannot hold a comma
//! (`,` or `，`), which separates choices. Blank lines are skipped, and a line break inside a
//! stored list entry becomes a space: a line is an entry.
//!
//! Parsing refuses what no item may hold (a count of 0, review levels outside 1–3, a bad
//! amount, a repeated field key …) with a [`FormProblem`] naming the field and the line.
//! Completeness (every required text filled in) is [`crate::domain::catalog::check_item`]'s, at
//! publication: a draft may be unfinished.

use sync_protocol::feed::{
    CatalogItem, Fee, FieldKind, FormField, IdentityNeed, Material, Office, TimeLimit,
};

use super::i18n::{Lang, Tr};
use crate::domain::catalog::ItemProblem;

/// The editor's fields, as the browser posts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct GuideForm {
    /// The published version the page showed (0 for an item never published).
    pub base_version: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub legal_basis: String,
    pub conditions: String,
    pub materials: String,
    pub steps: String,
    /// `on_the_spot` or `working_days`.
    pub time_limit: String,
    pub days: String,
    pub fees: String,
    pub office_name: String,
    pub office_address: String,
    pub office_phone: String,
    pub complaint_phone: String,
    /// `none`, `id_number` or `full`.
    pub identity: String,
    pub form_fields: String,
    pub review_levels: String,
}

/// One input of the editor, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    NameZh,
    NameEn,
    Category,
    LegalBasis,
    Conditions,
    Materials,
    Steps,
    TimeLimit,
    Fees,
    OfficeName,
    OfficeAddress,
    OfficePhone,
    ComplaintPhone,
    Identity,
    FormFields,
    ReviewLevels,
}

impl Field {
    pub const ALL: [Self; 16] = [
        Self::NameZh,
        Self::NameEn,
        Self::Category,
        Self::LegalBasis,
        Self::Conditions,
        Self::Materials,
        Self::Steps,
        Self::TimeLimit,
        Self::Fees,
        Self::OfficeName,
        Self::OfficeAddress,
        Self::OfficePhone,
        Self::ComplaintPhone,
        Self::Identity,
        Self::FormFields,
        Self::ReviewLevels,
    ];

    /// The translation key of the field's label.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::NameZh => "guide.f.name_zh",
            Self::NameEn => "guide.f.name_en",
            Self::Category => "guide.f.category",
            Self::LegalBasis => "guide.f.legal_basis",
            Self::Conditions => "guide.f.conditions",
            Self::Materials => "guide.f.materials",
            Self::Steps => "guide.f.steps",
            Self::TimeLimit => "guide.f.time_limit",
            Self::Fees => "guide.f.fees",
            Self::OfficeName => "guide.f.office_name",
            Self::OfficeAddress => "guide.f.office_address",
            Self::OfficePhone => "guide.f.office_phone",
            Self::ComplaintPhone => "guide.f.complaint_phone",
            Self::Identity => "guide.f.identity",
            Self::FormFields => "guide.f.form_fields",
            Self::ReviewLevels => "guide.f.review_levels",
        }
    }

    /// The field a [`check_item`](crate::domain::catalog::check_item) path names.
    fn of_path(path: &str) -> Option<Self> {
        Some(match path {
            "name_zh" => Self::NameZh,
            "name_en" => Self::NameEn,
            "category" => Self::Category,
            "legal_basis" => Self::LegalBasis,
            "steps" => Self::Steps,
            "office.name" => Self::OfficeName,
            "office.address" => Self::OfficeAddress,
            "office.phone" => Self::OfficePhone,
            "complaint_phone" => Self::ComplaintPhone,
            _ => return None,
        })
    }

    /// Whether `a` and `b` differ in this field.
    pub fn differs(self, a: &CatalogItem, b: &CatalogItem) -> bool {
        match self {
            Self::NameZh => a.name_zh != b.name_zh,
            Self::NameEn => a.name_en != b.name_en,
            Self::Category => a.category != b.category,
            Self::LegalBasis => a.legal_basis != b.legal_basis,
            Self::Conditions => a.conditions != b.conditions,
            Self::Materials => a.materials != b.materials,
            Self::Steps => a.steps != b.steps,
            Self::TimeLimit => a.time_limit != b.time_limit,
            Self::Fees => a.fees != b.fees,
            Self::OfficeName => a.office.name != b.office.name,
            Self::OfficeAddress => a.office.address != b.office.address,
            Self::OfficePhone => a.office.phone != b.office.phone,
            Self::ComplaintPhone => a.complaint_phone != b.complaint_phone,
            Self::Identity => a.identity != b.identity,
            Self::FormFields => a.form != b.form,
            Self::ReviewLevels => a.review_levels != b.review_levels,
        }
    }
}

/// The fields in which `draft` differs from `published`.
pub fn changed_fields(published: &CatalogItem, draft: &CatalogItem) -> Vec<Field> {
    Field::ALL
        .into_iter()
        .filter(|field| field.differs(published, draft))
        .collect()
}

/// What is wrong with one line or input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("has {found} parts separated by `|`: write {expected}")]
    Columns {
        found: usize,
        expected: &'static str,
    },
    #[error("the name (first part) is empty")]
    EmptyName,
    #[error("`{0}` is neither 原件 (original) nor 复印件 (copy)")]
    Original(String),
    #[error("the count `{0}` is not a whole number from 1 to 999")]
    Count(String),
    #[error("the amount `{0}` is not yuan with at most two decimals, like 12.50")]
    Amount(String),
    #[error("`{0}` is not a field type: use text, number, date, phone or choice")]
    Kind(String),
    #[error("`{0}` is neither 必填 (required) nor 选填 (optional)")]
    Required(String),
    #[error("the key `{0}` is not lower-case letters, digits and _ starting with a letter")]
    Key(String),
    #[error("the key `{0}` is used twice")]
    DuplicateKey(String),
    #[error("a choice field needs its choices, separated by commas")]
    NoChoices,
    #[error("only a choice field has choices")]
    ChoicesNotAllowed,
    #[error("`{0}` is not a number of working days from 1 to 365")]
    Days(String),
    #[error("`{0}` is not on_the_spot or working_days")]
    TimeLimit(String),
    #[error("`{0}` is not none, id_number or full")]
    Identity(String),
    #[error("`{0}` is not 1, 2 or 3")]
    ReviewLevels(String),
}

/// One problem with the form: which field, which line of it (1-based, as the textarea shows
/// them), what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field:?}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct FormProblem {
    pub field: Field,
    pub line: Option<usize>,
    pub problem: Problem,
}

impl FormProblem {
    /// One line for the page, in its language.
    pub fn message(&self, tr: &Tr) -> String {
        let label = tr.t(self.field.label_key());
        let zh = tr.lang == Lang::Zh;
        let at = match (self.line, zh) {
            (Some(line), true) => format!("{label}第{line}行："),
            (Some(line), false) => format!("{label}, line {line}: "),
            (None, true) => format!("{label}："),
            (None, false) => format!("{label}: "),
        };
        let what = if zh {
            match &self.problem {
                Problem::Columns { found, expected } => {
                    format!("有{found}段（用 | 分隔），应写成 {expected}")
                }
                Problem::EmptyName => "名称（第一段）不能为空".to_owned(),
                Problem::Original(text) => format!("“{text}”应为“原件”或“复印件”"),
                Problem::Count(text) => format!("份数“{text}”应为1到999的整数"),
                Problem::Amount(text) => {
                    format!("金额“{text}”应为以元计、最多两位小数的数，如 12.50")
                }
                Problem::Kind(text) => {
                    format!("“{text}”不是字段类型：请用 text、number、date、phone 或 choice")
                }
                Problem::Required(text) => format!("“{text}”应为“必填”或“选填”"),
                Problem::Key(text) => {
                    format!("字段名“{text}”只能用小写字母、数字和下划线，并以字母开头")
                }
                Problem::DuplicateKey(text) => format!("字段名“{text}”重复"),
                Problem::NoChoices => "选择题字段需要填写选项，用逗号分隔".to_owned(),
                Problem::ChoicesNotAllowed => "只有 choice 类型的字段才有选项".to_owned(),
                Problem::Days(text) => format!("“{text}”应为1到365的工作日天数"),
                Problem::TimeLimit(text) => format!("“{text}”不是有效的办理时限"),
                Problem::Identity(text) => format!("“{text}”不是有效的身份信息要求"),
                Problem::ReviewLevels(text) => format!("“{text}”应为1、2或3"),
            }
        } else {
            self.problem.to_string()
        };
        format!("{at}{what}")
    }
}

/// Why a draft cannot be published, in the page's language.
pub fn publish_problem(problem: &ItemProblem, tr: &Tr) -> String {
    let zh = tr.lang == Lang::Zh;
    match problem {
        ItemProblem::Empty(path) => {
            let label = Field::of_path(path)
                .map_or_else(|| (*path).to_owned(), |f| tr.t(f.label_key()).into_owned());
            if zh {
                format!("“{label}”不能为空")
            } else {
                format!("“{label}” is empty")
            }
        }
        ItemProblem::ReviewLevels(levels) => FormProblem {
            field: Field::ReviewLevels,
            line: None,
            problem: Problem::ReviewLevels(levels.to_string()),
        }
        .message(tr),
        ItemProblem::MaterialCountZero => FormProblem {
            field: Field::Materials,
            line: None,
            problem: Problem::Count("0".into()),
        }
        .message(tr),
        ItemProblem::DuplicateFormField(key) => FormProblem {
            field: Field::FormFields,
            line: None,
            problem: Problem::DuplicateKey(key.clone()),
        }
        .message(tr),
    }
}

const ORIGINAL: &str = "原件";
const COPY: &str = "复印件";
const REQUIRED: &str = "必填";
const OPTIONAL: &str = "选填";

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Phone => "phone",
        FieldKind::Choice => "choice",
    }
}

fn parse_kind(text: &str) -> Option<FieldKind> {
    Some(match text.to_ascii_lowercase().as_str() {
        "text" | "文本" => FieldKind::Text,
        "number" | "数字" => FieldKind::Number,
        "date" | "日期" => FieldKind::Date,
        "phone" | "电话" => FieldKind::Phone,
        "choice" | "选项" | "选择" => FieldKind::Choice,
        _ => return None,
    })
}

/// A list entry as one line: no line breaks inside it.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value as one `|`-separated part.
fn escape(text: &str) -> String {
    one_line(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('｜', "\\｜")
}

fn joined(parts: &[String]) -> String {
    parts
        .iter()
        .map(|part| escape(part))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Splits a line at unescaped `|` / `｜`, trimming each part and undoing the escapes.
fn split_parts(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ ('\\' | '|' | '｜')) => current.push(next),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            '|' | '｜' => parts.push(std::mem::take(&mut current).trim().to_owned()),
            other => current.push(other),
        }
    }
    parts.push(current.trim().to_owned());
    parts
}

/// The non-blank lines of a textarea with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

fn plain_list(text: &str) -> Vec<String> {
    lines(text).map(|(_, line)| line.to_owned()).collect()
}

/// A single-line input or the legal basis: line ends normalised, outer space trimmed.
fn text(value: &str) -> String {
    value.replace("\r\n", "\n").trim().to_owned()
}

fn fen_text(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `12`, `12.5`, `12.50`, `12.50元` → fen.
fn parse_fen(text: &str) -> Option<u64> {
    let number = text.trim().trim_end_matches('元').trim();
    let (yuan, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(yuan) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 2 {
        return None;
    }
    let fen = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<u64>().ok()? * 10,
        _ => fraction.parse::<u64>().ok()?,
    };
    yuan.parse::<u64>().ok()?.checked_mul(100)?.checked_add(fen)
}

fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= 40
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl GuideForm {
    /// The form showing `item`, saved against published version `base_version`.
    pub fn of(item: &CatalogItem, base_version: u32) -> Self {
        let list = |entries: &[String]| {
            entries
                .iter()
                .map(|e| one_line(e))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let materials = item
            .materials
            .iter()
            .map(|m| {
                let mut parts = vec![
                    m.name.clone(),
                    (if m.original { ORIGINAL } else { COPY }).to_owned(),
                    m.count.to_string(),
                ];
                parts.extend(m.note.clone());
                joined(&parts)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let fees = item
            .fees
            .iter()
            .map(|f| joined(&[f.name.clone(), fen_text(f.amount_fen), f.basis.clone()]))
            .collect::<Vec<_>>()
            .join("\n");
        let form_fields = item
            .form
            .iter()
            .map(|f| {
                let mut parts = vec![
                    f.key.clone(),
                    f.label_zh.clone(),
                    kind_name(f.kind).to_owned(),
                    (if f.required { REQUIRED } else { OPTIONAL }).to_owned(),
                ];
                if !f.choices.is_empty() {
                    parts.push(f.choices.join(","));
                }
                joined(&parts)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (time_limit, days) = match item.time_limit {
            TimeLimit::OnTheSpot => ("on_the_spot", String::new()),
            TimeLimit::WorkingDays { days } => ("working_days", days.to_string()),
        };
        Self {
            base_version: base_version.to_string(),
            name_zh: item.name_zh.clone(),
            name_en: item.name_en.clone(),
            category: item.category.clone(),
            legal_basis: item.legal_basis.clone(),
            conditions: list(&item.conditions),
            materials,
            steps: list(&item.steps),
            time_limit: time_limit.to_owned(),
            days,
            fees,
            office_name: item.office.name.clone(),
            office_address: item.office.address.clone(),
            office_phone: item.office.phone.clone(),
            complaint_phone: item.complaint_phone.clone(),
            identity: match item.identity {
                IdentityNeed::None => "none",
                IdentityNeed::IdNumber => "id_number",
                IdentityNeed::Full => "full",
            }
            .to_owned(),
            form_fields,
            review_levels: item.review_levels.to_string(),
        }
    }

    /// The item the form describes (`version` 0, not withdrawn: the store sets both), or the
    /// first problem, top to bottom.
    pub fn to_item(&self, code: &str) -> Result<CatalogItem, FormProblem> {
        let materials = self.materials()?;
        let time_limit = self.time_limit()?;
        let fees = self.fees()?;
        let identity = match self.identity.trim() {
            "none" => IdentityNeed::None,
            "id_number" => IdentityNeed::IdNumber,
            "full" => IdentityNeed::Full,
            other => {
                return Err(FormProblem {
                    field: Field::Identity,
                    line: None,
                    problem: Problem::Identity(other.to_owned()),
                });
            }
        };
        let form = self.form_fields()?;
        let review_levels = self
            .review_levels
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|levels| (1..=3).contains(levels))
            .ok_or_else(|| FormProblem {
                field: Field::ReviewLevels,
                line: None,
                problem: Problem::ReviewLevels(self.review_levels.trim().to_owned()),
            })?;
        Ok(CatalogItem {
            code: code.to_owned(),
            version: 0,
            name_zh: text(&self.name_zh),
            name_en: text(&self.name_en),
            category: text(&self.category),
            legal_basis: text(&self.legal_basis),
            conditions: plain_list(&self.conditions),
            materials,
            steps: plain_list(&self.steps),
            time_limit,
            fees,
            office: Office {
                name: text(&self.office_name),
                address: text(&self.office_address),
                phone: text(&self.office_phone),
            },
            complaint_phone: text(&self.complaint_phone),
            identity,
            form,
            review_levels,
            withdrawn: false,
        })
    }

    fn time_limit(&self) -> Result<TimeLimit, FormProblem> {
        let fail = |problem| FormProblem {
            field: Field::TimeLimit,
            line: None,
            problem,
        };
        match self.time_limit.trim() {
            "on_the_spot" => Ok(TimeLimit::OnTheSpot),
            "working_days" => self
                .days
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .map(|days| TimeLimit::WorkingDays { days })
                .ok_or_else(|| fail(Problem::Days(self.days.trim().to_owned()))),
            other => Err(fail(Problem::TimeLimit(other.to_owned()))),
        }
    }

    fn materials(&self) -> Result<Vec<Material>, FormProblem> {
        lines(&self.materials)
            .map(|(line, raw)| {
                let fail = |problem| FormProblem {
                    field: Field::Materials,
                    line: Some(line),
                    problem,
                };
                let parts = split_parts(raw);
                let [name, original, count, rest @ ..] = parts.as_slice() else {
                    return Err(fail(Problem::Columns {
                        found: parts.len(),
                        expected: "名称 | 原件/复印件 | 份数 | 备注",
                    }));
                };
                if rest.len() > 1 {
                    return Err(fail(Problem::Columns {
                        found: parts.len(),
                        expected: "名称 | 原件/复印件 | 份数 | 备注",
                    }));
                }
                if name.is_empty() {
                    return Err(fail(Problem::EmptyName));
                }
                let original = match original.to_ascii_lowercase().as_str() {
                    ORIGINAL | "original" => true,
                    COPY | "copy" => false,
                    _ => return Err(fail(Problem::Original(original.clone()))),
                };
                let count = count
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (1..=999).contains(c))
                    .ok_or_else(|| fail(Problem::Count(count.clone())))?;
                Ok(Material {
                    name: name.clone(),
                    original,
                    count,
                    note: rest.first().filter(|note| !note.is_empty()).cloned(),
                })
            })
            .collect()
    }

    fn fees(&self) -> Result<Vec<Fee>, FormProblem> {
        lines(&self.fees)
            .map(|(line, raw)| {
                let fail = |problem| FormProblem {
                    field: Field::Fees,
                    line: Some(line),
                    problem,
                };
                let parts = split_parts(raw);
                let [name, amount, basis] = parts.as_slice() else {
                    return Err(fail(Problem::Columns {
                        found: parts.len(),
                        expected: "名称 | 金额（元） | 依据",
                    }));
                };
                if name.is_empty() {
                    return Err(fail(Problem::EmptyName));
                }
                let amount_fen =
                    parse_fen(amount).ok_or_else(|| fail(Problem::Amount(amount.clone())))?;
                Ok(Fee {
                    name: name.clone(),
                    amount_fen,
                    basis: basis.clone(),
                })
            })
            .collect()
    }

    fn form_fields(&self) -> Result<Vec<FormField>, FormProblem> {
        let mut fields: Vec<FormField> = Vec::new();
        for (line, raw) in lines(&self.form_fields) {
            let fail = |problem| FormProblem {
                field: Field::FormFields,
                line: Some(line),
                problem,
            };
            let parts = split_parts(raw);
            let expected = "key | 标签 | 类型 | 必填/选填 | 选项1,选项2";
            let [key, label, kind, required, rest @ ..] = parts.as_slice() else {
                return Err(fail(Problem::Columns {
                    found: parts.len(),
                    expected,
                }));
            };
            if rest.len() > 1 {
                return Err(fail(Problem::Columns {
                    found: parts.len(),
                    expected,
                }));
            }
            if !valid_key(key) {
                return Err(fail(Problem::Key(key.clone())));
            }
            if fields.iter().any(|f| &f.key == key) {
                return Err(fail(Problem::DuplicateKey(key.clone())));
            }
            if label.is_empty() {
                return Err(fail(Problem::EmptyName));
            }
            let kind = parse_kind(kind).ok_or_else(|| fail(Problem::Kind(kind.clone())))?;
            let required = match required.to_ascii_lowercase().as_str() {
                REQUIRED | "required" => true,
                OPTIONAL | "optional" => false,
                _ => return Err(fail(Problem::Required(required.clone()))),
            };
            let choices: Vec<String> = rest
                .first()
                .map(|choices| {
                    choices
                        .split([',', '，'])
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            match (kind, choices.is_empty()) {
                (FieldKind::Choice, true) => return Err(fail(Problem::NoChoices)),
                (FieldKind::Choice, false) | (_, true) => {}
                (_, false) => return Err(fail(Problem::ChoicesNotAllowed)),
            }
            fields.push(FormField {
                key: key.clone(),
                label_zh: label.clone(),
                kind,
                required,
                choices,
            });
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Vec<CatalogItem> {
        crate::domain::catalog::parse(include_str!("../../seed/catalog.json")).expect("seed")
    }

    fn item_with(text: impl FnOnce(&mut CatalogItem)) -> CatalogItem {
        let mut item = seed().remove(0);
        text(&mut item);
        item
    }

    #[test]
    fn every_seed_item_survives_the_form_both_ways() {
        for item in seed() {
            let form = GuideForm::of(&item, 4);
            assert_eq!(form.base_version, "4");
            let back = form.to_item(&item.code).unwrap();
            assert_eq!(back, CatalogItem { version: 0, ..item });
        }
    }

    #[test]
    fn fees_notes_separators_and_every_kind_survive_too() {
        let item = item_with(|item| {
            item.time_limit = TimeLimit::WorkingDays { days: 20 };
            item.identity = IdentityNeed::IdNumber;
            item.review_levels = 2;
            item.fees = vec![
                Fee {
                    name: "工本费 | 补办".into(),
                    amount_fen: 1250,
                    basis: "《收费目录》\\第3条".into(),
                },
                Fee {
                    name: "快递费".into(),
                    amount_fen: 7,
                    basis: "自愿选择｜到付".into(),
                },
            ];
            item.materials[0].note = Some("核对后退还".into());
            item.form.push(FormField {
                key: "born_on".into(),
                label_zh: "出生日期".into(),
                kind: FieldKind::Date,
                required: false,
                choices: Vec::new(),
            });
            item.form.push(FormField {
                key: "size".into(),
                label_zh: "人数".into(),
                kind: FieldKind::Number,
                required: true,
                choices: Vec::new(),
            });
            item.form.push(FormField {
                key: "note".into(),
                label_zh: "说明".into(),
                kind: FieldKind::Text,
                required: false,
                choices: Vec::new(),
            });
        });
        let form = GuideForm::of(&item, 1);
        assert!(form.fees.contains("12.50"), "{}", form.fees);
        assert!(form.fees.contains("0.07"), "{}", form.fees);
        assert_eq!(form.to_item(&item.code).unwrap(), item);
    }

    #[test]
    fn typed_lines_take_chinese_and_english_words_and_both_bars() {
        let form = GuideForm {
            materials: "\n  户口簿 ｜ 复印件 ｜ 2  \n身份证|original|1|当场退还\n".into(),
            fees: "证书费 | 12.5元 | 依据\n公证费|30|《公证费标准》".into(),
            form_fields: "kind｜类别｜选项｜必填｜甲，乙,丙\nphone | 电话 | phone | optional"
                .into(),
            time_limit: "on_the_spot".into(),
            identity: "full".into(),
            review_levels: " 3 ".into(),
            ..GuideForm::default()
        };
        let item = form.to_item("X-1").unwrap();
        assert_eq!(item.materials.len(), 2);
        assert!(!item.materials[0].original);
        assert_eq!(item.materials[0].count, 2);
        assert_eq!(item.materials[1].note.as_deref(), Some("当场退还"));
        assert_eq!(
            item.fees.iter().map(|f| f.amount_fen).collect::<Vec<_>>(),
            [1250, 3000]
        );
        assert_eq!(item.form[0].choices, ["甲", "乙", "丙"]);
        assert_eq!(item.form[0].kind, FieldKind::Choice);
        assert!(!item.form[1].required);
    }

    /// A form that parses, to spoil one field of.
    fn valid() -> GuideForm {
        GuideForm {
            time_limit: "on_the_spot".into(),
            identity: "none".into(),
            review_levels: "1".into(),
            ..GuideForm::default()
        }
    }

    fn problem(form: &GuideForm) -> FormProblem {
        form.to_item("X-1").unwrap_err()
    }

    #[test]
    fn a_bad_line_names_its_field_line_and_problem() {
        let zero = problem(&GuideForm {
            materials: "身份证 | 原件 | 1\n\n户口簿 | 原件 | 0".into(),
            ..valid()
        });
        assert_eq!(
            zero,
            FormProblem {
                field: Field::Materials,
                line: Some(3),
                problem: Problem::Count("0".into()),
            }
        );
        let zh = zero.message(&Tr::new(Lang::Zh));
        assert_eq!(zh, "申请材料第3行：份数“0”应为1到999的整数");
        let en = zero.message(&Tr::new(Lang::En));
        assert_eq!(
            en,
            "Required materials, line 3: the count `0` is not a whole number from 1 to 999"
        );

        let cases = [
            (
                GuideForm {
                    review_levels: "4".into(),
                    ..valid()
                },
                Field::ReviewLevels,
                None,
                Problem::ReviewLevels("4".into()),
            ),
            (
                GuideForm {
                    materials: "身份证 | 原件".into(),
                    ..valid()
                },
                Field::Materials,
                Some(1),
                Problem::Columns {
                    found: 2,
                    expected: "名称 | 原件/复印件 | 份数 | 备注",
                },
            ),
            (
                GuideForm {
                    materials: "身份证 | 扫描件 | 1".into(),
                    ..valid()
                },
                Field::Materials,
                Some(1),
                Problem::Original("扫描件".into()),
            ),
            (
                GuideForm {
                    fees: "工本费 | 12.345 | 依据".into(),
                    ..valid()
                },
                Field::Fees,
                Some(1),
                Problem::Amount("12.345".into()),
            ),
            (
                GuideForm {
                    fees: "工本费 | -3 | 依据".into(),
                    ..valid()
                },
                Field::Fees,
                Some(1),
                Problem::Amount("-3".into()),
            ),
            (
                GuideForm {
                    form_fields: "phone | 电话 | phone | 必填\nphone | 电话2 | text | 选填".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(2),
                Problem::DuplicateKey("phone".into()),
            ),
            (
                GuideForm {
                    form_fields: "Phone | 电话 | phone | 必填".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(1),
                Problem::Key("Phone".into()),
            ),
            (
                GuideForm {
                    form_fields: "kind | 类别 | choice | 必填".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(1),
                Problem::NoChoices,
            ),
            (
                GuideForm {
                    form_fields: "kind | 类别 | text | 必填 | 甲,乙".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(1),
                Problem::ChoicesNotAllowed,
            ),
            (
                GuideForm {
                    form_fields: "kind | 类别 | list | 必填".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(1),
                Problem::Kind("list".into()),
            ),
            (
                GuideForm {
                    form_fields: "kind | 类别 | text | 必须".into(),
                    ..valid()
                },
                Field::FormFields,
                Some(1),
                Problem::Required("必须".into()),
            ),
            (
                GuideForm {
                    time_limit: "working_days".into(),
                    days: "0".into(),
                    ..valid()
                },
                Field::TimeLimit,
                None,
                Problem::Days("0".into()),
            ),
            (
                GuideForm {
                    identity: "passport".into(),
                    ..valid()
                },
                Field::Identity,
                None,
                Problem::Identity("passport".into()),
            ),
        ];
        for (form, field, line, expected) in cases {
            let found = problem(&form);
            assert_eq!(
                found,
                FormProblem {
                    field,
                    line,
                    problem: expected
                }
            );
            for lang in [Lang::Zh, Lang::En] {
                let message = found.message(&Tr::new(lang));
                assert!(!message.contains('\n'), "one line: {message}");
                assert!(
                    !message.contains("guide.f."),
                    "the label is translated: {message}"
                );
            }
        }
    }

    #[test]
    fn changed_fields_name_what_a_draft_changes() {
        let published = seed().remove(0);
        let mut draft = published.clone();
        assert!(changed_fields(&published, &draft).is_empty());
        draft.steps.push("领取结果".into());
        draft.office.phone = "0775-5550199".into();
        assert_eq!(
            changed_fields(&published, &draft),
            [Field::Steps, Field::OfficePhone]
        );
    }

    #[test]
    fn publish_problems_read_in_both_languages() {
        let empty = ItemProblem::Empty("office.phone");
        assert_eq!(
            publish_problem(&empty, &Tr::new(Lang::Zh)),
            "“办理机构电话”不能为空"
        );
        assert_eq!(
            publish_problem(&empty, &Tr::new(Lang::En)),
            "“Office phone” is empty"
        );
    }
}
