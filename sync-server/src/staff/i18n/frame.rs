//! The frame, login, password and error pages: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
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
    ("nav.releases", "软件发布", "Releases"),
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
    (
        "login.too_long",
        "用户名或密码太长，请检查输入。",
        "The user name or password is too long: check what was typed.",
    ),
    (
        "login.unavailable",
        "服务器暂时无法统计密码尝试次数（数据库未响应），为安全起见暂不核对密码，请稍后再试。",
        "The server cannot count password tries right now (its database did not answer), so it checks no password: try again in a minute.",
    ),
    (
        "login.busy",
        "服务器正忙于核对其他密码，请几秒后再试。",
        "The server is busy checking other passwords: try again in a few seconds.",
    ),
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
        "password.throttled",
        "当前密码错误次数过多，请稍后再试。",
        "The current password was wrong too often: try again later.",
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
    (
        "error.busy",
        "服务器正忙，请几秒后再试。",
        "The server is busy: try again in a few seconds.",
    ),
    ("error.back", "返回", "Go back"),
];
