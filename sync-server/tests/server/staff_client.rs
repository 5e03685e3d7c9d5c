//! A browser-like client for the staff pages: a cookie jar, no redirects followed unless
//! asked, and the CSRF token picked from the last page it read.

use reqwest::StatusCode;
use sync_server::domain::access::{Role, Scope};
use sync_server::staff::password::PasswordGate;
use sync_server::store::Store;
use sync_server::store::staff::{AuditEntry, AuditFilter, NewStaffUser};

/// The password every test account gets.
pub const PASSWORD: &str = "test password 123";

/// Creates an account straight in the store.
pub async fn add_account(store: &dyn Store, username: &str, role: Role, scope: &str) {
    let scope: Scope = scope.parse().expect("scope");
    store
        .create_user(
            NewStaffUser {
                username: username.into(),
                display_name: format!("{username} 同志"),
                role,
                scope,
                password_hash: PasswordGate::new(1, 0)
                    .hash(PASSWORD.into())
                    .await
                    .expect("a free gate")
                    .expect("hash"),
            },
            chrono::Utc::now(),
            AuditEntry::new(chrono::Utc::now(), "test", "account.create").target(username),
        )
        .await
        .expect("store")
        .expect("new account");
}

/// The actions of the audit lines `filter` picks, oldest first.
pub async fn audit_actions(store: &dyn Store, filter: AuditFilter) -> Vec<String> {
    store
        .list_audit(&AuditFilter {
            limit: 100,
            ..filter
        })
        .await
        .expect("audit")
        .into_iter()
        .rev()
        .map(|record| record.entry.action)
        .collect()
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The first `name="csrf" value="…"` of the page.
    pub fn csrf(&self) -> Option<String> {
        hidden_value(&self.body, "csrf")
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, StatusCode::OK, "page body:\n{}", self.body);
        self
    }

    pub fn assert_contains(&self, text: &str) -> &Self {
        assert!(
            self.body.contains(text),
            "expected {text:?} in the page ({}):\n{}",
            self.status,
            self.body
        );
        self
    }

    pub fn assert_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.body.contains(text),
            "did not expect {text:?} in the page ({}):\n{}",
            self.status,
            self.body
        );
        self
    }
}

/// The value of the first hidden input named `name`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

#[derive(Debug)]
pub struct StaffClient {
    pub base: String,
    client: reqwest::Client,
    /// The CSRF token of the last page read that had one.
    pub csrf: Option<String>,
}

impl StaffClient {
    pub fn new(base: &str) -> Self {
        Self::from_address(base, None)
    }

    /// A client whose connections come from `address` (any of 127.0.0.0/8 reaches a server
    /// on 127.0.0.1): a machine of its own, as far as per-address limits can tell.
    pub fn from_address(base: &str, address: Option<std::net::IpAddr>) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .local_address(address)
                .build()
                .expect("client"),
            csrf: None,
        }
    }

    /// A client logged in as `username` (with [`PASSWORD`]); panics if login fails.
    pub async fn logged_in(base: &str, username: &str) -> Self {
        let mut client = Self::new(base);
        let page = client.login(username, PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "login as {username} failed:\n{}",
            page.body
        );
        client
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.expect("body");
        let page = Page {
            status,
            location,
            body,
            headers,
        };
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        self.read(response).await
    }

    /// Posts a form with the current CSRF token added (read a page first).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.read(response).await
    }

    /// Posts a bundle as the releases page's upload form does (`multipart/form-data`: the
    /// form token `csrf`, here as given, then the file `bundle`).
    pub async fn post_bundle(&mut self, path: &str, csrf: &str, bundle: &[u8]) -> Page {
        const BOUNDARY: &str = "----booth-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"release.bundle\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bundle);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("POST");
        self.read(response).await
    }

    /// Reads the login page (for its token), then posts the credentials.
    pub async fn login(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/staff/login").await;
        let token = hidden_value(&form.body, "login_token").expect("login token");
        self.post_raw(
            "/staff/login",
            &[
                ("username", username),
                ("password", password),
                ("login_token", &token),
                ("next", "/staff/"),
            ],
        )
        .await
    }
}
