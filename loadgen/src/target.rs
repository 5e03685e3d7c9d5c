//! The server loadgen talks to: plain HTTP on a loopback address, nothing else. A load
//! generator pointed at a county's real server would be an attack on it.

use std::net::{SocketAddr, ToSocketAddrs as _};

use reqwest::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("`{0}` is not a URL: write it like http://127.0.0.1:8080")]
    NotAUrl(String),
    #[error("`{0}`: loadgen speaks plain http to loopback only, not {1}")]
    Scheme(String, String),
    #[error(
        "`{url}` resolves to {address}, which is not a loopback address: loadgen sends traffic to loopback only"
    )]
    NotLoopback { url: String, address: String },
    #[error("`{0}` does not resolve to any address")]
    Unresolved(String),
}

/// The server's base URL (no path) and the addresses it resolved to, all loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub base: Url,
    pub addresses: Vec<SocketAddr>,
}

impl Target {
    /// Refuses anything but `http://` to a host whose every address is loopback.
    pub fn loopback(text: &str) -> Result<Self, TargetError> {
        let mut base = Url::parse(text.trim()).map_err(|_| TargetError::NotAUrl(text.into()))?;
        if base.scheme() != "http" {
            return Err(TargetError::Scheme(text.into(), base.scheme().into()));
        }
        let host = base
            .host_str()
            .ok_or_else(|| TargetError::NotAUrl(text.into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = base.port_or_known_default().unwrap_or(80);
        let addresses: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|_| TargetError::Unresolved(text.into()))?
            .collect();
        if addresses.is_empty() {
            return Err(TargetError::Unresolved(text.into()));
        }
        if let Some(outside) = addresses.iter().find(|a| !a.ip().is_loopback()) {
            return Err(TargetError::NotLoopback {
                url: text.into(),
                address: outside.ip().to_string(),
            });
        }
        base.set_path("");
        base.set_query(None);
        Ok(Self { base, addresses })
    }

    /// The URL of `path` (with its query, unencoded pairs) on the server.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_taken_and_everything_else_refused() {
        for fine in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.9.9.9:1",
            "http://[::1]:8080",
            "http://localhost:8080",
        ] {
            let target = Target::loopback(fine).unwrap_or_else(|e| panic!("{fine}: {e}"));
            assert!(target.addresses.iter().all(|a| a.ip().is_loopback()));
            assert_eq!(target.url("/healthz", &[]).path(), "/healthz");
        }
        assert!(matches!(
            Target::loopback("http://10.0.0.1:8080"),
            Err(TargetError::NotLoopback { .. })
        ));
        assert!(matches!(
            Target::loopback("http://192.168.1.20"),
            Err(TargetError::NotLoopback { .. })
        ));
        assert!(matches!(
            Target::loopback("https://127.0.0.1:8443"),
            Err(TargetError::Scheme(..))
        ));
        assert!(matches!(
            Target::loopback("127.0.0.1:8080"),
            Err(TargetError::Scheme(..) | TargetError::NotAUrl(_))
        ));
    }

    #[test]
    fn query_pairs_are_encoded_as_the_signature_sees_them() {
        let target = Target::loopback("http://127.0.0.1:8080").unwrap();
        let url = target.url(
            "/api/v1/feeds/catalog",
            &[("after", "a b+c"), ("limit", "500")],
        );
        assert_eq!(url.query(), Some("after=a+b%2Bc&limit=500"));
    }
}
