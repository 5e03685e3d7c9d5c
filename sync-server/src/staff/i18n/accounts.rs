//! The account administration pages: their texts in Chinese and English.

use super::Entry;

pub const KEYS: &[Entry] = &[
    ("accounts.title", "工作人员账号", "Staff accounts"),
    ("accounts.username", "登录名", "Login name"),
    ("accounts.display_name", "姓名", "Name"),
    ("accounts.role", "角色", "Role"),
    ("accounts.scope", "管辖范围", "Scope"),
    (
        "accounts.scope_hint",
        "县 / 县/乡镇 / 县/乡镇/村，须在您的范围之内",
        "county, county/township or county/township/village, inside your own scope",
    ),
    ("accounts.state", "状态", "State"),
    ("accounts.active", "正常", "Active"),
    ("accounts.disabled", "已停用", "Disabled"),
    ("accounts.locked", "已锁定", "Locked"),
    ("accounts.add", "新建账号", "Add account"),
    ("accounts.disable", "停用", "Disable"),
    ("accounts.enable", "启用", "Enable"),
    ("accounts.reset", "重置密码", "Reset password"),
    (
        "accounts.created",
        "账号已建立。初始密码只显示这一次，请当面交给本人，并提醒其登录后修改：",
        "Account created. The first password is shown only now: hand it over in person and have it changed at first login:",
    ),
    (
        "accounts.reset_done",
        "密码已重置，该账号的登录已全部退出。新密码只显示这一次：",
        "Password reset; the account's sessions were ended. The new password is shown only now:",
    ),
    ("accounts.changed", "已保存。", "Saved."),
    (
        "accounts.bad_name",
        "登录名只能用字母、数字、点、横线和下划线（1至64个）。",
        "A login name is 1 to 64 letters, digits, dots, dashes or underscores.",
    ),
    (
        "accounts.bad_scope",
        "管辖范围不对，或不在您的范围之内。",
        "The scope is malformed or outside your own.",
    ),
    (
        "accounts.exists",
        "这个登录名已经有人用了。",
        "That login name is taken.",
    ),
    (
        "accounts.not_self",
        "不能停用自己的账号。",
        "You cannot disable your own account.",
    ),
];
