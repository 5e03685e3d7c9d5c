//! The holiday calendar page: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
    (
        "calendar.title",
        "节假日与调休",
        "Holidays and exchanged workdays",
    ),
    (
        "calendar.hint",
        "工作日为周一至周五；在此登记法定节假日和调休上班日（以国务院办公厅每年的通知为准）。办理时限按工作日计算。",
        "Working days are Monday to Friday; list the public holidays and the weekend days worked in exchange here (from the State Council's yearly notice). Time limits count working days.",
    ),
    ("calendar.day", "日期", "Date"),
    ("calendar.kind", "类型", "Kind"),
    ("calendar.name", "名称", "Name"),
    ("calendar.holiday", "放假", "Day off"),
    ("calendar.workday", "调休上班", "Worked"),
    ("calendar.add", "登记", "Add"),
    ("calendar.remove", "删除", "Remove"),
    (
        "calendar.empty",
        "尚未登记任何节假日。",
        "No holidays listed yet.",
    ),
    ("calendar.saved", "已保存。", "Saved."),
];
