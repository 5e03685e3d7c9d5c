//! The longest value the server keeps of anything that comes from outside: the one table of
//! caps, enforced before storage. Nothing a request sends may reach the disk unbounded; an
//! audit line in particular can never be deleted, so a field left open there is a way to fill
//! the disk for good (three failed logins with a 1.9 MiB name once added 17.9 MiB).
//!
//! Where the caps are enforced:
//! - staff forms: [`check_form`], run by the form extractor (and the login) on every field
//!   before a handler sees it, with [`form_field`] as the cap per field name; pages with a
//!   message of their own for a text a little too long check the tighter caps below
//!   themselves;
//! - the audit log: the store passes every line through [`clip`] (see
//!   `store::staff::AuditEntry::bounded`), whatever built it;
//! - the kiosk API: submissions through `sync_protocol`'s validation (its own caps, shared with
//!   the booth, which checks them before queueing), heartbeats and enrollments through
//!   [`APP_VERSION`]; every body through the body limit in `settings`.
//!
//! Counts are of characters (`char`s), as people count them, except where noted.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// A staff login name (`[a-z0-9._-]`, so bytes and characters agree).
pub const LOGIN_NAME: usize = 64;
/// A password or passphrase, any of the password fields.
pub const PASSWORD: usize = 256;
/// The name an account is shown with.
pub const DISPLAY_NAME: usize = 64;
/// A county, township or village name.
pub const PLACE_NAME: usize = 40;
/// A scope as typed: up to three place names and two slashes.
pub const SCOPE: usize = 3 * PLACE_NAME + 2;
/// A note staff write: a review comment, a follow-up's call or fix note.
pub const NOTE: usize = 2000;
/// A notice's title.
pub const NOTICE_TITLE: usize = 100;
/// A notice's text.
pub const NOTICE_BODY: usize = 5000;
/// A holiday's or working day's name in the calendar.
pub const DAY_NAME: usize = 40;
/// A one-line field with no cap of its own (a guide's name, an office's phone, a date …).
pub const SHORT_TEXT: usize = 200;
/// A guide editor's multi-line list (conditions, materials, steps, fees, form fields) or its
/// legal basis.
pub const GUIDE_TEXT: usize = 20_000;
/// Fields in one staff form (a notice sent to every village of a county has one per village).
pub const FORM_FIELDS: usize = 1000;
/// A form field's name.
pub const FIELD_NAME: usize = 64;
/// The kiosk software version a booth reports when it enrolls and in every heartbeat.
pub const APP_VERSION: usize = 64;

/// A booth's update failure reason, as kept (longer ones are cut, not refused: the booth's
/// heartbeat must still be recorded).
pub const UPDATE_FAILURE_REASON: usize = sync_protocol::release::MAX_FAILURE_REASON;
/// Release notes as kept in a release's summary (the signed manifest allows 4 KiB).
pub const RELEASE_NOTES: usize = 1000;
/// Townships, villages or booth numbers one rollout names, each.
pub const ROLLOUT_TARGETS: usize = 500;

/// The audit log's columns. The actor is a login name, `cli` or `system`; the target an id, a
/// receipt number, a login name or a date; the detail a line without personal data (a review
/// comment is not copied into it); the remote an IP address.
pub const AUDIT_ACTOR: usize = LOGIN_NAME + CLIP_MARK;
pub const AUDIT_ACTION: usize = 64;
pub const AUDIT_TARGET: usize = 200;
pub const AUDIT_DETAIL: usize = 1000;
pub const AUDIT_REMOTE: usize = 64;

/// The most characters [`clip`] adds after the kept part: a name clipped at login fits the
/// audit's actor as it is. (`…[`, at most 20 digits, ` bytes, sha256 `, 8 hex digits, `]`.)
pub const CLIP_MARK: usize = 48;

/// How many times its page's own cap a field may be before the extractor refuses the whole
/// form: a little too long gets the page's own message with the form shown again; megabytes
/// never reach a handler.
const PAGE_CHECK_SLACK: usize = 2;

/// The cap of a staff form's field, by its name. Names no form uses get [`SHORT_TEXT`].
pub fn form_field(name: &str) -> usize {
    match name {
        "username" => LOGIN_NAME,
        "password" | "current" | "new" | "repeat" => PASSWORD,
        "display_name" => DISPLAY_NAME,
        "scope" => SCOPE,
        "county" | "township" | "village" => PAGE_CHECK_SLACK * PLACE_NAME,
        "comment" | "call_note" | "fix_note" => PAGE_CHECK_SLACK * NOTE,
        "title" => PAGE_CHECK_SLACK * NOTICE_TITLE,
        "body" => PAGE_CHECK_SLACK * NOTICE_BODY,
        "name" => PAGE_CHECK_SLACK * DAY_NAME,
        "legal_basis" | "conditions" | "materials" | "steps" | "fees" | "form_fields" => GUIDE_TEXT,
        // A rollout's lists of places and booth numbers (each entry checked again, and their
        // number capped at ROLLOUT_TARGETS).
        "townships" | "villages" | "booths" => ROLLOUT_TARGETS * (SCOPE + 1),
        // The return address after login is a path on this site.
        "next" => 2000,
        _ => SHORT_TEXT,
    }
}

/// A form field longer than its cap, or a form with too many fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooLong {
    #[error(
        "the field `{field}` has {chars} characters, more than the {max} it may have: shorten it"
    )]
    Field {
        field: String,
        chars: usize,
        max: usize,
    },
    #[error("the form has {count} fields, more than the {FORM_FIELDS} a form may have")]
    Fields { count: usize },
}

/// Checks every field of a decoded form against its cap.
pub fn check_form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), TooLong> {
    let mut count = 0;
    for (name, value) in pairs {
        count += 1;
        if count > FORM_FIELDS {
            return Err(TooLong::Fields { count });
        }
        let name_chars = name.chars().count();
        if name_chars > FIELD_NAME {
            return Err(TooLong::Field {
                field: clip(name, 20).into_owned(),
                chars: name_chars,
                max: FIELD_NAME,
            });
        }
        let max = form_field(name);
        // Counting stops early: a 2 MiB value costs no more to refuse than one a bit too long.
        if value.chars().nth(max).is_some() {
            return Err(TooLong::Field {
                field: name.to_owned(),
                chars: value.chars().count(),
                max,
            });
        }
    }
    Ok(())
}

/// `text` cut to at most `max` characters. Cut text ends in `…` and names its full length in
/// bytes and the start of its SHA-256, so two cut values can still be told apart and matched
/// to what was sent; the result is then a little longer than `max` (by at most [`CLIP_MARK`]).
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return Cow::Borrowed(text);
    };
    let digest = Sha256::digest(text.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    Cow::Owned(format!(
        "{}…[{} bytes, sha256 {short}]",
        &text[..cut],
        text.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_short_text_and_marks_what_it_cut() {
        assert!(matches!(clip("li", 64), Cow::Borrowed("li")));
        assert_eq!(clip("一二三", 3), "一二三");
        let long = "名".repeat(1_000_000);
        let cut = clip(&long, 64);
        assert!(cut.starts_with(&"名".repeat(64)));
        assert!(cut.ends_with(']'), "{cut}");
        assert!(cut.contains("3000000 bytes"), "{cut}");
        assert!(cut.chars().count() <= 64 + CLIP_MARK, "{cut}");
        assert_ne!(clip(&"a".repeat(100), 10), clip(&"a".repeat(101), 10));
    }

    #[test]
    fn forms_are_refused_at_the_first_field_over_its_cap() {
        let fine = "x".repeat(LOGIN_NAME);
        assert_eq!(check_form([("username", fine.as_str())]), Ok(()));
        let long = "x".repeat(LOGIN_NAME + 1);
        let refused = check_form([("csrf", "t"), ("username", long.as_str())]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the field `username` has 65 characters, more than the 64 it may have: shorten it"
        );
        let name = "n".repeat(FIELD_NAME + 1);
        assert!(check_form([(name.as_str(), "")]).is_err());
        let many = vec![("village", "石门村"); FORM_FIELDS + 1];
        assert_eq!(
            check_form(many),
            Err(TooLong::Fields {
                count: FORM_FIELDS + 1
            })
        );
        assert!(form_field("body") >= NOTICE_BODY && form_field("unknown") == SHORT_TEXT);
    }
}
