//! Where a page may send the browser back to, when the place comes from the request: the
//! login form's `next`, the language switch's `back`, the page a logged-out visitor asked for.
//! [`local`] is the one check every such value passes before it becomes a `Location` header or
//! goes into a link; anything it refuses becomes [`HOME`].
//!
//! A return path is a path on this site's staff pages and nothing else: `/staff` or below it,
//! at most [`MAX_LEN`] bytes, in the characters a URL path and query may carry unencoded
//! (RFC 3986 `pchar`, `/`, `?`, `%`). That rules out, each for its own reason:
//! - another host: `https://evil.example`, `//evil.example`, `/\evil.example` (browsers read a
//!   backslash as a slash);
//! - control characters (a CR or LF would split the header; any of them makes the header value
//!   invalid, which axum answers with a panic and so a 500), spaces and non-ASCII;
//! - dot segments, plain or percent-encoded, which a browser resolves to a path outside
//!   `/staff`;
//! - a path of unbounded length, echoed into a header and a page.

/// Where a refused return path goes instead.
pub const HOME: &str = "/staff/";
/// The longest return path kept (a page with every filter set is far below it).
pub const MAX_LEN: usize = 1024;

/// `raw` if it is a safe return path, else `None`.
pub fn local(raw: &str) -> Option<&str> {
    let under_staff = raw
        .strip_prefix("/staff")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
    let characters = raw
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte));
    let lower = raw.to_ascii_lowercase();
    let dot_segment = lower
        .split(['/', '?'])
        .any(|segment| matches!(segment, "." | "..") || segment.contains("%2e"));
    (under_staff && raw.len() <= MAX_LEN && characters && !dot_segment && !raw.starts_with("//"))
        .then_some(raw)
}

/// `raw` if [`local`] accepts it, else [`HOME`].
pub fn or_home(raw: Option<&str>) -> String {
    raw.and_then(local).unwrap_or(HOME).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_paths_with_their_queries_are_kept() {
        for fine in [
            "/staff",
            "/staff/",
            "/staff/inbox?page=2&show=open",
            "/staff/guides/GX-MZ-001",
            "/staff/guides/%E4%BD%8F",
            "/staff/login?next=/staff/inbox",
            "/staff/submissions/001-00001-K?done=1",
        ] {
            assert_eq!(local(fine), Some(fine), "{fine:?}");
        }
    }

    #[test]
    fn hostile_return_paths_go_home() {
        let long = format!("/staff/inbox?q={}", "a".repeat(MAX_LEN));
        let hostile: &[&str] = &[
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/staff\\..\\api",
            "/staff/\\evil.example",
            "/staffevil",
            "/api/v1/health",
            "staff/inbox",
            " /staff/",
            "/staff/\x01",
            "/staff/\t",
            "/staff/\r\nSet-Cookie: a=b",
            "/staff/\n",
            "/staff/\x7f",
            "/staff/ inbox",
            "/staff/收件箱",
            "/staff/../api/v1/metrics",
            "/staff/./inbox",
            "/staff/%2e%2e/api",
            "/staff/%2E%2E/api",
            "/staff/.%2e/api",
            "/staff/inbox?x=\"><script>",
            "/staff/#frag",
            &long,
        ];
        for raw in hostile {
            assert_eq!(local(raw), None, "{raw:?}");
            assert_eq!(or_home(Some(raw)), HOME, "{raw:?}");
        }
        assert_eq!(or_home(None), HOME);
    }
}
