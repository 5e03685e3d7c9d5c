//! The ratings dashboard: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
    ("rating.5", "非常满意", "Very satisfied"),
    ("rating.4", "满意", "Satisfied"),
    ("rating.3", "基本满意", "Fairly satisfied"),
    ("rating.2", "不满意", "Dissatisfied"),
    ("rating.1", "非常不满意", "Very dissatisfied"),
    ("rating.unknown", "（无效评价）", "(not a rating)"),
    ("ratings.title", "好差评统计", "Ratings"),
    ("ratings.by", "分组", "Group by"),
    ("ratings.by.item", "按事项", "By item"),
    ("ratings.by.village", "按村", "By village"),
    ("ratings.by.month", "按月", "By month"),
    ("ratings.by.week", "按周", "By week"),
    ("ratings.from", "起始日期", "From"),
    ("ratings.until", "截止日期", "Until"),
    ("ratings.show", "查看", "Show"),
    ("ratings.col.item", "事项", "Item"),
    ("ratings.col.village", "村", "Village"),
    ("ratings.col.month", "月份", "Month"),
    ("ratings.col.week", "周", "Week"),
    ("ratings.total", "评价数", "Ratings"),
    ("ratings.satisfied", "满意率", "Satisfied"),
    (
        "ratings.satisfied_note",
        "满意率 =（非常满意 + 满意）÷ 评价数；括号内为各档占比。",
        "Satisfied = (very satisfied + satisfied) ÷ ratings; each level's share is in brackets.",
    ),
    ("ratings.bar", "分布", "Spread"),
    ("ratings.all", "合计", "All"),
    (
        "ratings.none",
        "所选时间内没有评价。",
        "No ratings in this period.",
    ),
    ("ratings.no_item", "未指明事项", "No item named"),
    (
        "ratings.bad_date",
        "日期应写成 2026-03-01 这样；已改为显示最近三个月。",
        "Write dates like 2026-03-01; showing the last three months instead.",
    ),
    (
        "ratings.bad_range",
        "起始日期晚于截止日期；已改为显示最近三个月。",
        "The start date is after the end date; showing the last three months instead.",
    ),
    (
        "ratings.bad_group",
        "没有这种分组；已改为按事项分组。",
        "No such grouping; grouped by item instead.",
    ),
];
