//! The audit log page: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
    ("audit.title", "审计日志", "Audit log"),
    ("audit.actor", "操作人", "Who"),
    ("audit.action", "操作", "Action"),
    ("audit.target", "对象", "On what"),
    ("audit.detail", "说明", "Detail"),
    ("audit.remote", "来源地址", "From"),
    ("audit.at", "时间", "When"),
    ("audit.from", "日期从", "From date"),
    ("audit.until", "至", "until"),
    ("audit.filter", "筛选", "Filter"),
    ("audit.older", "更早的记录", "Older entries"),
    ("audit.empty", "没有符合条件的记录。", "No entries match."),
    (
        "audit.hint",
        "操作可按前缀筛选，例如 review、login、identity.view、export。",
        "Filter actions by prefix, e.g. review, login, identity.view, export.",
    ),
];
