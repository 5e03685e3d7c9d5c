//! The one line a binary prints for an error: the message, then each cause the message does not
//! already quote, joined by `: `. The libraries' errors name the thing and what to do; many also
//! quote their source, so a plain chain would say the same words twice.
//!
//! Takes any `std::error::Error`; an `anyhow::Error` is passed as `err.as_ref()`.

use std::error::Error;

/// `err` and its sources on one line, skipping a source whose text the line already holds.
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open /dev/ttyUSB0: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn causes_join_and_quoted_ones_are_not_repeated() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(Quoting(io())).context("the printer is unavailable");
        assert_eq!(
            one_line(err.as_ref()),
            "the printer is unavailable: cannot open /dev/ttyUSB0: no such file"
        );
        let err = anyhow::Error::new(io()).context("line one\nline two");
        assert_eq!(one_line(err.as_ref()), "line one line two: no such file");
    }
}
