//! `sync-server staff add|passwd|disable|enable|list`: the staff accounts of the web app.
//!
//! A password is never an argument (it would sit in the shell history and `ps`): `add` and
//! `passwd` make a random one and print it once, or read one line from stdin with
//! `--password-stdin`. Every change is written to the audit log as actor `cli`.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use chrono::Utc;
use sync_server::domain::access::{Role, Scope};
use sync_server::staff::password;
use sync_server::staff::web::accounts;
use sync_server::store::Store;
use sync_server::store::staff::{AuditEntry, NewStaffUser};

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an account (prints its first password unless --password-stdin).
    Add {
        /// The login name (letters, digits, `.`, `-`, `_`; kept in lower case).
        #[arg(long = "user", value_name = "NAME")]
        user: String,
        /// admin, handler, reviewer, approver or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// `*`, a county, `county/township` or `county/township/village`.
        #[arg(long, value_parser = parse_scope)]
        scope: Scope,
        /// The name pages show (default: the login name).
        #[arg(long, value_name = "TEXT")]
        name: Option<String>,
        /// Read the password from the first line of stdin instead of making one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (prints it unless --password-stdin); unlocks the account and ends
    /// its sessions.
    Passwd {
        #[arg(long = "user", value_name = "NAME")]
        user: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it cannot log in and its sessions end at once.
    Disable {
        #[arg(long = "user", value_name = "NAME")]
        user: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long = "user", value_name = "NAME")]
        user: String,
    },
    /// List the accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse()
}

fn check_username(name: &str) -> anyhow::Result<String> {
    match accounts::login_name(name) {
        Some(name) => Ok(name),
        None => bail!(
            "`{}` is not a usable login name: use 1 to 64 letters, digits, `.`, `-` or `_`",
            name.trim()
        ),
    }
}

/// 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I), in groups of four.
fn generated_password() -> anyhow::Result<String> {
    accounts::generated_password().context("cannot draw random bytes for a password")
}

/// The password to set and whether to print it.
fn new_password(username: &str, from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((generated_password()?, true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    password::check_strength(username, &password)?;
    Ok((password, false))
}

fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry::new(Utc::now(), "cli", action).target(target)
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::Add {
                user,
                role,
                scope,
                name,
                password_stdin,
            } => {
                let username = check_username(user)?;
                let (password, show) = new_password(&username, *password_stdin)?;
                let password_hash = password::PasswordGate::new(1, 0)
                    .hash(password.clone())
                    .await??;
                let account = store
                    .create_user(
                        NewStaffUser {
                            username: username.clone(),
                            display_name: name.clone().unwrap_or_else(|| username.clone()),
                            role: *role,
                            scope: scope.clone(),
                            password_hash,
                        },
                        Utc::now(),
                        audit("account.create", &username)
                            .detail(format!("role {role}, scope {scope}")),
                    )
                    .await??;
                println!(
                    "created {} ({}, scope {})",
                    account.username, account.role, account.scope
                );
                if show {
                    println!("password: {password}");
                    println!("(shown once: hand it over in person; change it under 修改密码)");
                }
            }
            Self::Passwd {
                user,
                password_stdin,
            } => {
                let username = check_username(user)?;
                let (password, show) = new_password(&username, *password_stdin)?;
                let password_hash = password::PasswordGate::new(1, 0)
                    .hash(password.clone())
                    .await??;
                store
                    .set_password(
                        &username,
                        password_hash,
                        None,
                        audit("account.reset", &username),
                    )
                    .await??;
                println!("new password set for {username}; its sessions were ended");
                if show {
                    println!("password: {password}");
                }
            }
            Self::Disable { user } | Self::Enable { user } => {
                let username = check_username(user)?;
                let disable = matches!(self, Self::Disable { .. });
                let action = if disable {
                    "account.disable"
                } else {
                    "account.enable"
                };
                store
                    .set_disabled(&username, disable, audit(action, &username))
                    .await??;
                if disable {
                    println!("disabled {username}; its sessions were ended");
                } else {
                    println!("enabled {username}");
                }
            }
            Self::List { json } => {
                let users = store.list_users().await?;
                if *json {
                    let rows: Vec<_> = users
                        .iter()
                        .map(|u| {
                            serde_json::json!({
                                "username": u.username,
                                "name": u.display_name,
                                "role": u.role,
                                "scope": u.scope.to_string(),
                                "disabled": u.is_disabled(),
                                "locked_until": u.locked_until,
                            })
                        })
                        .collect();
                    return output::print_json(&rows);
                }
                if users.is_empty() {
                    println!("no staff accounts: add one with `sync-server staff add`");
                }
                for user in users {
                    let state = if user.is_disabled() {
                        " (disabled)".to_owned()
                    } else if let Some(until) = user.locked_until.filter(|u| *u > Utc::now()) {
                        format!(" (locked until {})", output::time(until))
                    } else {
                        String::new()
                    };
                    println!(
                        "{:<16} {:<9} {}{}  {}",
                        user.username, user.role, user.scope, state, user.display_name
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_unambiguous() {
        let password = generated_password().unwrap();
        assert_eq!(password.len(), 19);
        assert!(password::check_strength("x", &password).is_ok());
        assert!(!password.contains(['0', 'o', '1', 'l']));
    }

    #[test]
    fn login_names_are_plain() {
        assert_eq!(check_username(" Li.Ming ").unwrap(), "li.ming");
        assert!(check_username("李明").is_err());
        assert!(check_username("").is_err());
    }
}
