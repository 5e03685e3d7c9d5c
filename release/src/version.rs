//! Release versions: `MAJOR.MINOR.PATCH`, three decimal numbers and nothing else.
//!
//! Strict on purpose: versions are compared for anti-rollback, so one version must have one
//! spelling (`1.02.0`, `v1.2.0` and `1.2.0 ` are refused, not read as 1.2.0). There is no
//! pre-release or build suffix: booths install releases, and the ordering rules of `-rc.1`
//! would be one more thing for a downgrade check to get wrong.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A release version. Ordered by major, then minor, then patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// Why text is not a release version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not a release version: give it as MAJOR.MINOR.PATCH, like 1.4.0")]
    Shape(String),
    #[error("`{text}` has a leading zero in `{part}`: write the version without it, like 1.4.0")]
    LeadingZero { text: String, part: String },
    #[error("`{text}` has `{part}`, larger than {max}: give a smaller version number", max = MAX_PART)]
    TooLarge { text: String, part: String },
}

/// The largest number in a version part: nine digits, so a version fits u32 and a pattern
/// (`[1-9][0-9]{0,8}`) describes exactly what is accepted.
pub const MAX_PART: u32 = 999_999_999;
const MAX_PART_DIGITS: usize = 9;

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || VersionError::Shape(shown(text));
        let mut numbers = [0u32; 3];
        let mut parts = text.split('.');
        for number in &mut numbers {
            let part = parts.next().ok_or_else(shape)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(shape());
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(VersionError::LeadingZero {
                    text: shown(text),
                    part: shown(part),
                });
            }
            // Nine digits at most: the same rule as the API's documented pattern, and always
            // within u32.
            let too_large = || VersionError::TooLarge {
                text: shown(text),
                part: shown(part),
            };
            if part.len() > MAX_PART_DIGITS {
                return Err(too_large());
            }
            *number = part.parse().map_err(|_| too_large())?;
        }
        if parts.next().is_some() {
            return Err(shape());
        }
        let [major, minor, patch] = numbers;
        Ok(Self::new(major, minor, patch))
    }
}

/// At most 64 characters of `text`, control characters escaped: errors quote what they
/// refuse, a refused value may be anything a file or a command line held, and an error is
/// one line.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn versions_parse_print_and_order_by_number_not_text() {
        assert_eq!(v("1.4.0"), Version::new(1, 4, 0));
        assert_eq!(v("0.0.0").to_string(), "0.0.0");
        assert_eq!(v("10.20.30").to_string(), "10.20.30");
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("2.0.0") > v("1.99.99"));
        assert!(v("1.2.10") > v("1.2.9"));
        assert_eq!(v("999999999.0.0").major, MAX_PART);
    }

    #[test]
    fn other_spellings_are_refused_with_what_to_write() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "1.2.3 ",
            " 1.2.3",
            "1..3",
            "1.2.",
            "+1.2.3",
            "1.2.3-rc.1",
            "1.2.3+build",
            "1.-2.3",
            "１.2.3",
        ] {
            assert_eq!(
                bad.parse::<Version>(),
                Err(VersionError::Shape(bad.to_owned())),
                "{bad:?}"
            );
        }
        let err = "1.02.0".parse::<Version>().unwrap_err();
        assert!(matches!(err, VersionError::LeadingZero { ref part, .. } if part == "02"));
        assert!(err.to_string().contains("like 1.4.0"), "{err}");
        assert!(matches!(
            "1.4294967296.0".parse::<Version>(),
            Err(VersionError::TooLarge { .. })
        ));
        assert!(matches!(
            "1.0.1000000000".parse::<Version>(),
            Err(VersionError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_refused_value_is_quoted_only_in_part_and_on_one_line() {
        let long = "9".repeat(10_000);
        let message = long.parse::<Version>().unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
        let message = "1.2\n.3".parse::<Version>().unwrap_err().to_string();
        assert!(message.starts_with("`1.2\\n.3` is not"), "{message}");
    }

    #[test]
    fn json_is_the_plain_string() {
        assert_eq!(serde_json::to_string(&v("1.2.3")).unwrap(), r#""1.2.3""#);
        assert_eq!(
            serde_json::from_str::<Version>(r#""1.2.3""#).unwrap(),
            v("1.2.3")
        );
        assert!(serde_json::from_str::<Version>(r#""1.2""#).is_err());
        assert!(serde_json::from_str::<Version>("123").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips_and_order_is_numeric(
            a in (0..=MAX_PART, 0..=MAX_PART, 0..=MAX_PART),
            b in (0..=MAX_PART, 0..=MAX_PART, 0..=MAX_PART),
        ) {
            let va = Version::new(a.0, a.1, a.2);
            let vb = Version::new(b.0, b.1, b.2);
            prop_assert_eq!(va.to_string().parse::<Version>(), Ok(va));
            prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panic(text in ".{0,40}") {
            if let Ok(version) = text.parse::<Version>() {
                prop_assert_eq!(version.to_string(), text);
            }
        }
    }
}
