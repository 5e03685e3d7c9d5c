//! The Service guides screen's content, without Slint: which categories to offer, which items
//! a category and a search show, and one item's 专栏7 fields as ordered label/value rows.
//!
//! The binding to the `ui` crate's `GuidesAdapter` copies these plain structs into its models;
//! keeping them here lets every rule be tested without a window.

use pinyin::ToPinyinMulti;
use sync_protocol::feed::{CatalogItem, Fee, Material, TimeLimit};

/// One row of the result list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideListRow {
    pub code: String,
    pub name: String,
    pub category: String,
    pub time_limit_text: String,
}

/// One labelled field of an item's page; multi-line values are joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideDetailRow {
    pub label: String,
    pub value: String,
}

/// Categories of the items still offered, in catalogue order, each once.
pub fn categories(items: &[CatalogItem]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for item in offered(items) {
        if !found.contains(&item.category) {
            found.push(item.category.clone());
        }
    }
    found
}

/// The items in `category` (all when `None`) that match `query`, in catalogue order.
///
/// The query matches the Chinese name, the English name (ignoring case), the code, or the
/// pinyin initials of the Chinese name ("ylbx" finds 养老保险); an empty query matches all.
pub fn filter<'a>(
    items: &'a [CatalogItem],
    category: Option<&str>,
    query: &str,
) -> Vec<&'a CatalogItem> {
    let query = query.trim();
    offered(items)
        .filter(|item| category.is_none_or(|wanted| item.category == wanted))
        .filter(|item| matches_query(item, query))
        .collect()
}

/// The result-list rows for `items`.
pub fn list_rows(items: &[&CatalogItem]) -> Vec<GuideListRow> {
    items
        .iter()
        .map(|item| GuideListRow {
            code: item.code.clone(),
            name: item.name_zh.clone(),
            category: item.category.clone(),
            time_limit_text: time_limit_text(item.time_limit),
        })
        .collect()
}

/// Every 专栏7 field of `item`, in the order a villager needs them, none left blank.
pub fn detail_rows(item: &CatalogItem) -> Vec<GuideDetailRow> {
    let row = |label: &str, value: String| GuideDetailRow {
        label: label.to_owned(),
        value,
    };
    vec![
        row(
            "申请条件",
            numbered_or(item.conditions.iter().cloned(), "无特别条件"),
        ),
        row(
            "申请材料",
            numbered_or(item.materials.iter().map(material_text), "无需提交材料"),
        ),
        row(
            "办理流程",
            numbered_or(item.steps.iter().cloned(), "到受理单位现场办理"),
        ),
        row("办理时限", time_limit_text(item.time_limit)),
        row("收费标准", fees_text(&item.fees)),
        row("受理单位", or_unknown(&item.office.name)),
        row("办公地址", or_unknown(&item.office.address)),
        row("咨询电话", or_unknown(&item.office.phone)),
        row("投诉电话", or_unknown(&item.complaint_phone)),
        row("设定依据", or_unknown(&item.legal_basis)),
    ]
}

/// "即办" or "15个工作日".
pub fn time_limit_text(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::OnTheSpot => "即办".to_owned(),
        TimeLimit::WorkingDays { days } => format!("{days}个工作日"),
    }
}

/// "居民身份证（原件 1 份）", with the note after the count when there is one.
pub fn material_text(material: &Material) -> String {
    let kind = if material.original {
        "原件"
    } else {
        "复印件"
    };
    let note = material
        .note
        .as_deref()
        .map(str::trim)
        .filter(|note| !note.is_empty())
        .map(|note| format!("，{note}"))
        .unwrap_or_default();
    format!("{}（{kind} {} 份{note}）", material.name, material.count)
}

/// "免费", or one line per fee: "工本费 10.00 元（依据：…）".
pub fn fees_text(fees: &[Fee]) -> String {
    if fees.is_empty() {
        return "免费".to_owned();
    }
    fees.iter()
        .map(|fee| {
            let yuan = format!("{}.{:02}", fee.amount_fen / 100, fee.amount_fen % 100);
            if fee.basis.trim().is_empty() {
                format!("{} {yuan} 元", fee.name)
            } else {
                format!("{} {yuan} 元（依据：{}）", fee.name, fee.basis.trim())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn offered(items: &[CatalogItem]) -> impl Iterator<Item = &CatalogItem> {
    items.iter().filter(|item| !item.withdrawn)
}

fn matches_query(item: &CatalogItem, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    let lower = query.to_lowercase();
    item.name_zh.contains(query)
        || item.name_en.to_lowercase().contains(&lower)
        || item.code.to_lowercase().contains(&lower)
        || matches_initials(&item.name_zh, &lower)
}

/// Whether `query` (lower case) is a run of consecutive pinyin initials of `name`. Every
/// reading of a heteronym counts (行 is both x and h), so the villager's guess is never wrong.
fn matches_initials(name: &str, query: &str) -> bool {
    let wanted: Vec<char> = query.chars().filter(|c| !c.is_whitespace()).collect();
    if wanted.is_empty() || !wanted.iter().all(char::is_ascii_alphanumeric) {
        return false;
    }
    let initials: Vec<Vec<char>> = name.chars().map(initials_of).collect();
    initials.windows(wanted.len()).any(|window| {
        window
            .iter()
            .zip(&wanted)
            .all(|(choices, wanted)| choices.contains(wanted))
    })
}

fn initials_of(character: char) -> Vec<char> {
    match character.to_pinyin_multi() {
        Some(readings) => readings
            .into_iter()
            .filter_map(|reading| reading.first_letter().chars().next())
            .collect(),
        None => vec![character.to_ascii_lowercase()],
    }
}

fn numbered_or(lines: impl Iterator<Item = String>, when_none: &str) -> String {
    let lines: Vec<String> = lines
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(index, line)| format!("{}. {line}", index + 1))
        .collect();
    if lines.is_empty() {
        when_none.to_owned()
    } else {
        lines.join("\n")
    }
}

// A missing office detail must still read as a sentence that tells the villager what to do.
fn or_unknown(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        "请咨询村（社区）服务站".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Vec<CatalogItem> {
        let mut seed: serde_json::Value =
            serde_json::from_str(include_str!("../../../sync-server/seed/catalog.json"))
                .expect("the seed catalogue is JSON");
        // The server assigns versions on import; the seed file leaves them out.
        if let Some(items) = seed["items"].as_array_mut() {
            for item in items {
                item["version"] = serde_json::json!(1);
            }
        }
        let items: Vec<CatalogItem> =
            serde_json::from_value(seed["items"].take()).expect("the seed catalogue has items");
        assert!(items.len() >= 5, "a realistic catalogue");
        items
    }

    fn named<'a>(items: &'a [&CatalogItem]) -> Vec<&'a str> {
        items.iter().map(|item| item.name_zh.as_str()).collect()
    }

    #[test]
    fn categories_are_listed_once_in_catalogue_order() {
        let items = seed();
        let found = categories(&items);
        assert_eq!(found.first().map(String::as_str), Some("社会保险"));
        let mut unique = found.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), found.len(), "{found:?}");
        for item in &items {
            assert!(found.contains(&item.category), "{}", item.category);
        }
    }

    #[test]
    fn withdrawn_items_and_their_empty_categories_disappear() {
        let mut items = seed();
        for item in items.iter_mut().filter(|item| item.category == "户籍管理") {
            item.withdrawn = true;
        }
        assert!(!categories(&items).contains(&"户籍管理".to_owned()));
        assert!(
            filter(&items, None, "户籍")
                .iter()
                .all(|item| !item.withdrawn)
        );
        assert!(filter(&items, None, "户籍证明").is_empty());
    }

    #[test]
    fn category_filter_keeps_only_that_category() {
        let items = seed();
        let insurance = filter(&items, Some("社会保险"), "");
        assert!(!insurance.is_empty());
        assert!(insurance.iter().all(|item| item.category == "社会保险"));
        assert_eq!(filter(&items, None, "").len(), items.len());
        assert!(filter(&items, Some("没有这个类别"), "").is_empty());
    }

    #[test]
    fn query_matches_chinese_english_and_pinyin_initials() {
        let items = seed();
        assert_eq!(named(&filter(&items, None, "户籍证明")), ["户籍证明开具"]);
        assert_eq!(
            named(&filter(&items, None, "DISABILITY")),
            named(&filter(&items, None, "残疾人证"))
        );
        // 户籍证明开具: h j z m k j.
        assert_eq!(named(&filter(&items, None, "hjzm")), ["户籍证明开具"]);
        assert_eq!(named(&filter(&items, None, " HJZM ")), ["户籍证明开具"]);
        // 养老保险 and 医疗保险 share their initials; initials mid-name match too.
        let insurance = filter(&items, None, "ylbx");
        assert!(insurance.len() >= 3, "{:?}", named(&insurance));
        assert!(
            insurance
                .iter()
                .all(|item| item.name_zh.contains("养老保险") || item.name_zh.contains("医疗保险"))
        );
        assert!(filter(&items, None, "zzzzzz").is_empty());
        assert!(filter(&items, None, "不存在的事项").is_empty());
    }

    #[test]
    fn query_and_category_combine() {
        let items = seed();
        let in_category = filter(&items, Some("户籍管理"), "ylbx");
        assert!(in_category.is_empty(), "{:?}", named(&in_category));
        assert!(!filter(&items, Some("社会保险"), "ylbx").is_empty());
    }

    #[test]
    fn every_seed_item_yields_every_field_filled() {
        let labels = [
            "申请条件",
            "申请材料",
            "办理流程",
            "办理时限",
            "收费标准",
            "受理单位",
            "办公地址",
            "咨询电话",
            "投诉电话",
            "设定依据",
        ];
        for item in seed() {
            let rows = detail_rows(&item);
            let found: Vec<&str> = rows.iter().map(|row| row.label.as_str()).collect();
            assert_eq!(found, labels, "{}", item.code);
            for row in &rows {
                assert!(!row.value.trim().is_empty(), "{} {}", item.code, row.label);
            }
            let value = |label: &str| {
                rows.iter()
                    .find(|row| row.label == label)
                    .map(|row| row.value.clone())
                    .unwrap_or_default()
            };
            assert_eq!(
                value("申请材料").lines().count(),
                item.materials.len(),
                "one line per material of {}",
                item.code
            );
            assert_eq!(value("投诉电话"), item.complaint_phone);
            assert_eq!(value("受理单位"), item.office.name);
        }
    }

    #[test]
    fn materials_state_original_or_copy_count_and_note() {
        let mut material = Material {
            name: "身份证".to_owned(),
            original: true,
            count: 1,
            note: None,
        };
        assert_eq!(material_text(&material), "身份证（原件 1 份）");
        material.original = false;
        material.count = 2;
        material.note = Some("需本人签字".to_owned());
        assert_eq!(
            material_text(&material),
            "身份证（复印件 2 份，需本人签字）"
        );
    }

    #[test]
    fn time_limits_and_fees_read_plainly() {
        assert_eq!(time_limit_text(TimeLimit::OnTheSpot), "即办");
        assert_eq!(
            time_limit_text(TimeLimit::WorkingDays { days: 15 }),
            "15个工作日"
        );
        assert_eq!(fees_text(&[]), "免费");
        let fees = [
            Fee {
                name: "工本费".to_owned(),
                amount_fen: 1000,
                basis: "《某收费标准》".to_owned(),
            },
            Fee {
                name: "邮寄费".to_owned(),
                amount_fen: 5,
                basis: String::new(),
            },
        ];
        assert_eq!(
            fees_text(&fees),
            "工本费 10.00 元（依据：《某收费标准》）\n邮寄费 0.05 元"
        );
    }

    #[test]
    fn empty_lists_are_said_not_left_blank() {
        let mut item = seed().remove(0);
        item.conditions.clear();
        item.materials.clear();
        item.steps = vec!["  ".to_owned()];
        item.office.phone.clear();
        let rows = detail_rows(&item);
        assert_eq!(rows[0].value, "无特别条件");
        assert_eq!(rows[1].value, "无需提交材料");
        assert_eq!(rows[2].value, "到受理单位现场办理");
        assert_eq!(rows[7].value, "请咨询村（社区）服务站");
    }

    #[test]
    fn list_rows_carry_code_name_and_time_limit() {
        let items = seed();
        let rows = list_rows(&filter(&items, None, "hjzm"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "户籍证明开具");
        assert_eq!(rows[0].category, "户籍管理");
        assert_eq!(rows[0].time_limit_text, "即办");
        assert!(!rows[0].code.is_empty());
    }
}
