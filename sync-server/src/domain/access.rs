//! Who may do what, where: the staff roles, the part of the county an account's scope
//! covers, and the rules that lock an account and end a session. The store keeps accounts and
//! sessions by these rules; the pages check them.

use std::fmt;
use std::str::FromStr;

use sync_protocol::enroll::Village;

/// What a staff account may do. Review roles act at their own level of the chain only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accounts, content, fleet, audit; does not review.
    Admin,
    /// 承办人: level 1.
    Handler,
    /// 审查人: level 2 of a three-level chain.
    Reviewer,
    /// 审批人: the last level of a two- or three-level chain.
    Approver,
    /// Reads what is in scope; acts on nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::Handler,
        Self::Reviewer,
        Self::Approver,
        Self::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Handler => "handler",
            Self::Reviewer => "reviewer",
            Self::Approver => "approver",
            Self::Viewer => "viewer",
        }
    }

    /// Whether the role takes part in reviews (and so may see a full ID number on request).
    pub fn reviews(self) -> bool {
        matches!(self, Self::Handler | Self::Reviewer | Self::Approver)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
            .ok_or_else(|| {
                format!("`{text}` is not a role: use admin, handler, reviewer, approver or viewer")
            })
    }
}

/// The part of the county → township → village hierarchy an account sees and acts in.
/// Written `*` (everything), `县`, `县/乡` or `县/乡/村`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    County(String),
    Township { county: String, township: String },
    Village(Village),
}

impl Scope {
    /// Whether a kiosk (or anything else) in `village` is inside this scope.
    pub fn covers(&self, village: &Village) -> bool {
        match self {
            Self::All => true,
            Self::County(county) => &village.county == county,
            Self::Township { county, township } => {
                &village.county == county && &village.township == township
            }
            Self::Village(own) => own == village,
        }
    }

    /// Whether everything in `inner` is inside this scope (an admin may only hand out scopes
    /// inside their own).
    pub fn contains(&self, inner: &Self) -> bool {
        let (county, township, _) = inner.parts();
        match self {
            Self::All => true,
            Self::County(own) => county == Some(own.as_str()),
            Self::Township {
                county: own_county,
                township: own_township,
            } => county == Some(own_county.as_str()) && township == Some(own_township.as_str()),
            Self::Village(own) => matches!(inner, Self::Village(v) if v == own),
        }
    }

    /// Whether the scope spans at least a whole county (`*` or a county): what the pages
    /// whose data or effect is the county's, not one township's, ask for.
    pub fn is_county_wide(&self) -> bool {
        matches!(self, Self::All | Self::County(_))
    }

    /// `(county, township, village)`, each `None` where the scope does not narrow: the
    /// parameters of a query filtered by scope.
    pub fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Self::All => (None, None, None),
            Self::County(county) => (Some(county), None, None),
            Self::Township { county, township } => (Some(county), Some(township), None),
            Self::Village(v) => (Some(&v.county), Some(&v.township), Some(&v.village)),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::County(county) => f.write_str(county),
            Self::Township { county, township } => write!(f, "{county}/{township}"),
            Self::Village(v) => write!(f, "{}/{}/{}", v.county, v.township, v.village),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::All);
        }
        let parts: Vec<&str> = text.split('/').map(str::trim).collect();
        if parts.iter().any(|part| part.is_empty()) || parts.len() > 3 {
            return Err(format!(
                "`{text}` is not a scope: write `*`, a county, `county/township` or `county/township/village`"
            ));
        }
        Ok(match parts.as_slice() {
            [county] => Self::County((*county).to_owned()),
            [county, township] => Self::Township {
                county: (*county).to_owned(),
                township: (*township).to_owned(),
            },
            [county, township, village] => Self::Village(Village {
                county: (*county).to_owned(),
                township: (*township).to_owned(),
                village: (*village).to_owned(),
            }),
            _ => unreachable!("one to three parts"),
        })
    }
}

/// How failed logins lock an account: `free_attempts` failures in a row cost nothing, each
/// further one locks it for `base` doubled per failure beyond, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub free_attempts: u32,
    pub base: chrono::Duration,
    pub max: chrono::Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base: chrono::Duration::seconds(30),
            max: chrono::Duration::hours(1),
        }
    }
}

impl LockPolicy {
    /// Counts failures and never locks. The web login's limits live in memory
    /// (`staff::login_limit`), keyed by the name as typed: a lock kept on the account itself
    /// answered differently for names that exist (401 ×4, then 429) and for names that do not
    /// (401 for ever), and let anyone lock a handler out.
    pub const COUNT_ONLY: Self = Self {
        free_attempts: u32::MAX,
        base: chrono::Duration::zero(),
        max: chrono::Duration::zero(),
    };

    /// How long the account is locked after its `failures`-th failure in a row.
    pub fn lock_for(&self, failures: u32) -> Option<chrono::Duration> {
        let beyond = failures.checked_sub(self.free_attempts)?;
        let factor = 1_i32.checked_shl(beyond.min(20)).unwrap_or(i32::MAX);
        Some((self.base * factor).min(self.max))
    }
}

/// How long sessions live: `idle` after the last request, never past `absolute` after login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

impl Default for SessionLifetime {
    fn default() -> Self {
        Self {
            idle: chrono::Duration::minutes(30),
            absolute: chrono::Duration::hours(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn village(county: &str, township: &str, name: &str) -> Village {
        Village {
            county: county.into(),
            township: township.into(),
            village: name.into(),
        }
    }

    #[test]
    fn scopes_parse_print_and_cover_their_part_of_the_hierarchy() {
        let township: Scope = "示范县/凤岭乡".parse().unwrap();
        assert_eq!(township.to_string(), "示范县/凤岭乡");
        assert!(township.covers(&village("示范县", "凤岭乡", "义江村")));
        assert!(!township.covers(&village("示范县", "白圩镇", "义江村")));
        assert!(!township.covers(&village("邻县", "凤岭乡", "义江村")));
        let county: Scope = "示范县".parse().unwrap();
        assert!(county.contains(&township));
        assert!(!township.contains(&county));
        assert!(Scope::All.contains(&county));
        assert!(Scope::All.is_county_wide() && county.is_county_wide());
        assert!(!township.is_county_wide());
        assert!(
            !"示范县/凤岭乡/义江村"
                .parse::<Scope>()
                .unwrap()
                .is_county_wide()
        );
        for bad in ["", "a//b", "a/b/c/d", " / "] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lockout_doubles_after_the_free_attempts_up_to_the_cap() {
        let policy = LockPolicy::default();
        assert_eq!(policy.lock_for(4), None);
        assert_eq!(policy.lock_for(5), Some(chrono::Duration::seconds(30)));
        assert_eq!(policy.lock_for(6), Some(chrono::Duration::seconds(60)));
        assert_eq!(policy.lock_for(40), Some(chrono::Duration::hours(1)));
    }
}
