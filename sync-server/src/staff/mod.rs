//! The county staff's web app on the sync server: accounts and sessions, the review
//! workflow's pages, ratings follow-up, content, fleet and audit.
//!
//! - [`password`]: argon2id hashing behind one bounded gate, and the strength rule;
//!   [`token`]: session and form secrets; [`login_limit`]: the limits on guessing passwords.
//! - [`i18n`]: the pages' Chinese and English, one table per page group.
//! - [`guide_form`]: the guide editor's form ⇄ catalogue item, pure and unit-tested.
//! - [`web`]: the `/staff` router and one module per page group.

pub mod guide_form;
pub mod i18n;
pub mod login_limit;
pub mod password;
pub mod token;
pub mod web;
