//! The notice pages: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
    ("notice.list.title", "公告", "Notices"),
    ("notice.col.title", "标题", "Title"),
    ("notice.col.published_on", "发布日期", "Published on"),
    ("notice.col.expires_on", "截止日期", "Expires on"),
    ("notice.col.targets", "发送范围", "Sent to"),
    ("notice.col.state", "状态", "State"),
    ("notice.all_villages", "全部村", "every village"),
    ("notice.no_expiry", "长期", "no end"),
    ("notice.empty", "还没有公告。", "No notices yet."),
    ("notice.state.published", "已发布", "published"),
    ("notice.state.withdrawn", "已撤回", "withdrawn"),
    ("notice.state.expired", "已过期", "expired"),
    ("notice.withdraw", "撤回", "Withdraw"),
    ("notice.republish", "重新发布", "Publish again"),
    ("notice.body", "正文", "Text"),
    ("notice.new.title", "发布公告", "Publish a notice"),
    (
        "notice.new.expires_hint",
        "可不填；截止日期之后服务亭不再显示。",
        "Optional; booths stop showing it after this day.",
    ),
    ("notice.new.targets", "发送到", "Send to"),
    (
        "notice.new.all_scope",
        "管辖范围内的全部村",
        "Every village in my scope",
    ),
    (
        "notice.new.all",
        "全部村（包括以后登记的）",
        "Every village (including ones enrolled later)",
    ),
    ("notice.new.some", "选定的村：", "These villages:"),
    (
        "notice.new.no_choices",
        "管辖范围内还没有登记服务亭的村。",
        "No village in your scope has an enrolled booth yet.",
    ),
    ("notice.new.submit", "发布", "Publish"),
    (
        "notice.done.created",
        "公告已发布，服务亭下次同步时显示。",
        "Notice published; booths show it after their next sync.",
    ),
    (
        "notice.done.withdrawn",
        "公告已撤回，服务亭下次同步时移除。",
        "Notice withdrawn; booths remove it at their next sync.",
    ),
    (
        "notice.done.republished",
        "公告已重新发布。",
        "Notice published again.",
    ),
    (
        "notice.problem.title",
        "请填写标题。",
        "Give the notice a title.",
    ),
    (
        "notice.problem.title_long",
        "标题太长：最多100个字。",
        "The title is too long: at most 100 characters.",
    ),
    (
        "notice.problem.body",
        "请填写正文。",
        "Write the notice's text.",
    ),
    (
        "notice.problem.body_long",
        "正文太长：最多5000个字。",
        "The text is too long: at most 5000 characters.",
    ),
    (
        "notice.problem.date",
        "日期应写成“年-月-日”，如 2026-03-01。",
        "Write dates as year-month-day, e.g. 2026-03-01.",
    ),
    (
        "notice.problem.expires_before",
        "截止日期不能早于发布日期。",
        "The expiry date cannot be before the publication date.",
    ),
    (
        "notice.problem.no_villages",
        "请至少选择一个村，或选择全部村。",
        "Choose at least one village, or every village.",
    ),
    (
        "notice.problem.outside",
        "“{}”不在您的管辖范围内（或与范围外的村同名），不能发送。",
        "“{}” is outside your scope (or shares its name with a village outside it): it cannot be sent to.",
    ),
    (
        "notice.problem.none_in_scope",
        "您的管辖范围内还没有登记服务亭的村，无法发送公告。",
        "No village in your scope has an enrolled booth: there is nobody to send the notice to.",
    ),
];
