//! Who may read: every read route (`/api/events`, `/api/batches`, `/api/stats`, `/api/report`,
//! `/api/report.csv`) asks for a read token, sent as `Authorization: Bearer TOKEN` or, from the
//! dashboard, in the `HttpOnly; SameSite=Strict` cookie that `POST /api/session` sets. Without
//! any token configured, reads are served to loopback clients only.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The cookie the dashboard's sign-in sets.
pub const COOKIE: &str = "goalpost_read";

/// The shortest read token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// A configured read token: `--read-token TOKEN` reads every site, `--read-token site=TOKEN`
/// one site.
#[derive(Clone, PartialEq, Eq)]
pub struct ReadToken {
    pub site: Option<String>,
    pub token: String,
}

impl std::fmt::Debug for ReadToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never in a log line
        write!(
            f,
            "ReadToken({:?}, <{} bytes>)",
            self.site,
            self.token.len()
        )
    }
}

fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl std::str::FromStr for ReadToken {
    type Err = String;
    fn from_str(s: &str) -> Result<ReadToken, String> {
        let (site, token) = match s.split_once('=') {
            Some((site, token)) => (Some(site.trim()), token.trim()),
            None => (None, s.trim()),
        };
        if let Some(site) = site {
            if !crate::protocol::valid_site(site) {
                return Err(format!(
                    "read token: {site:?} before '=' is not a site name (1-64 of A-Z a-z 0-9 _ . -)"
                ));
            }
        }
        if token.len() < MIN_TOKEN_LEN || !token.bytes().all(token_char) {
            return Err(format!(
                "read token: at least {MIN_TOKEN_LEN} characters from A-Z a-z 0-9 - . _ ~ + / \
                 (e.g. `openssl rand -hex 24`)"
            ));
        }
        Ok(ReadToken {
            site: site.map(str::to_string),
            token: token.to_string(),
        })
    }
}

/// What a request may read: every site, or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Site(String),
}

impl Scope {
    /// The site a read is narrowed to: the one asked for, which a one-site token must match,
    /// or the token's own site when none is asked for.
    pub fn narrow(&self, asked: Option<&str>) -> Result<Option<String>, Response> {
        match (self, asked.filter(|s| !s.is_empty())) {
            (Scope::All, asked) => Ok(asked.map(str::to_string)),
            (Scope::Site(own), None) => Ok(Some(own.clone())),
            (Scope::Site(own), Some(asked)) if own == asked => Ok(Some(own.clone())),
            (Scope::Site(own), Some(_)) => Err(crate::error(
                StatusCode::FORBIDDEN,
                &format!("this read token reads site {own:?} only"),
            )),
        }
    }
}

/// The token a request carries: the bearer token, else the dashboard's cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// The configured token that equals `given`, compared in constant time against every one.
fn matching<'a>(tokens: &'a [ReadToken], given: &str) -> Option<&'a ReadToken> {
    let mut found = None;
    for t in tokens {
        if bool::from(t.token.as_bytes().ct_eq(given.as_bytes())) {
            found = Some(t);
        }
    }
    found
}

/// Whether a client address is this machine.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The read scope of a request, or its 401 / 403.
pub fn check(tokens: &[ReadToken], client: IpAddr, headers: &HeaderMap) -> Result<Scope, Response> {
    if tokens.is_empty() {
        return if is_loopback(client) {
            Ok(Scope::All)
        } else {
            Err(crate::error(
                StatusCode::FORBIDDEN,
                "reads are served to this machine only: start the collector with --read-token",
            ))
        };
    }
    match presented(headers).and_then(|t| matching(tokens, t)) {
        Some(ReadToken { site: None, .. }) => Ok(Scope::All),
        Some(ReadToken {
            site: Some(site), ..
        }) => Ok(Scope::Site(site.clone())),
        None => {
            let mut res = crate::error(StatusCode::UNAUTHORIZED, "a valid read token is required");
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"goalpost\""),
            );
            Err(res)
        }
    }
}

/// `POST /api/session` with `{"token": "…"}`: sets the dashboard's cookie if the token is one
/// of the configured ones (401 otherwise). `Secure` is added when the page was served over
/// HTTPS (its `Origin`, or `X-Forwarded-Proto` from a proxy).
pub fn sign_in(tokens: &[ReadToken], headers: &HeaderMap, body: &[u8]) -> Response {
    #[derive(serde::Deserialize)]
    struct SignIn {
        token: String,
    }
    let Ok(SignIn { token }) = serde_json::from_slice::<SignIn>(body) else {
        return crate::error(StatusCode::BAD_REQUEST, "expected {\"token\": \"…\"}");
    };
    if tokens.is_empty() {
        return crate::error(
            StatusCode::CONFLICT,
            "no read token is configured: reads are served to this machine without one",
        );
    }
    let Some(t) = matching(tokens, &token) else {
        return crate::error(
            StatusCode::UNAUTHORIZED,
            "not a read token of this collector",
        );
    };
    let https = |h: header::HeaderName, prefix: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(prefix))
    };
    let secure = https(header::ORIGIN, "https://")
        || https(
            header::HeaderName::from_static("x-forwarded-proto"),
            "https",
        );
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{}",
        t.token,
        if secure { "; Secure" } else { "" }
    );
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `DELETE /api/session`: clears the cookie.
pub fn sign_out() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("goalpost_read=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_per_site_or_for_all_and_weak_ones_are_refused() {
        let t: ReadToken = "0123456789abcdef0123".parse().unwrap();
        assert_eq!(t.site, None);
        let t: ReadToken = "shop=0123456789abcdef0123".parse().unwrap();
        assert_eq!(t.site.as_deref(), Some("shop"));
        assert!("short".parse::<ReadToken>().is_err());
        assert!("shop=short".parse::<ReadToken>().is_err());
        assert!("bad site=0123456789abcdef0123"
            .parse::<ReadToken>()
            .is_err());
        assert!("0123456789abcdef012;".parse::<ReadToken>().is_err());
        assert!(!format!("{t:?}").contains("0123"), "never printed");
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; goalpost_read=fromcookie"),
        );
        assert_eq!(presented(&h), Some("fromcookie"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer fromheader"),
        );
        assert_eq!(presented(&h), Some("fromheader"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(presented(&h), None, "another scheme is not a token");
    }

    #[test]
    fn loopback_covers_v4_v6_and_mapped_addresses() {
        for ip in ["127.0.0.1", "127.5.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["10.0.0.1", "0.0.0.0", "::ffff:10.0.0.1", "2001:db8::1"] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }
}
