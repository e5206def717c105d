//! URL privacy: drop the fragment and every query parameter that is not on the allowlist.

use crate::prelude::*;
/// Query parameters kept by default: campaign (UTM) parameters and ad click ids, which
/// attribution needs. Everything else in a query string (e-mail addresses in reset links,
/// session tokens, search terms) is removed before a URL leaves the browser.
pub const ATTRIBUTION_PARAMS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "yclid",
    "ttclid",
    "twclid",
    "li_fat_id",
];

pub use goalpost_protocol::MAX_URL_LEN;

/// `s` up to its first byte among `stops` (ASCII), or all of `s`: `up_to("/a?b#c", b"?#")` is
/// `"/a"`. URL parts are cut with these byte scans rather than `str::split` and friends, whose
/// searchers cost the wasm code for every pattern type.
pub fn up_to<'a>(s: &'a str, stops: &[u8]) -> &'a str {
    match s.bytes().position(|b| stops.contains(&b)) {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// `s` split at its first `sep` (ASCII), which is in neither part; `None` without one.
pub fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s` after its last `sep` (ASCII), or all of `s` without one.
pub fn after_last(s: &str, sep: u8) -> &str {
    match s.bytes().rposition(|b| b == sep) {
        Some(i) => s.get(i + 1..).unwrap_or(""),
        None => s,
    }
}

/// The `sep`-separated parts of `s` (ASCII `sep`), in order; `""` has one empty part, as with
/// `str::split`.
pub fn parts(s: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((part, next)) = cut(rest, sep) {
        out.push(part);
        rest = next;
    }
    out.push(rest);
    out
}

/// `url` without its fragment and with only the allowlisted query parameters, in their
/// original order, capped at [`MAX_URL_LEN`] bytes.
pub fn sanitize<K: AsRef<str>>(url: &str, keep: &[K]) -> String {
    sanitize_with(url, keep, false)
}

/// [`sanitize`], keeping the fragment when `keep_hash` (hash routers: `#/cart` is the page).
pub fn sanitize_with<K: AsRef<str>>(url: &str, keep: &[K], keep_hash: bool) -> String {
    let (url, hash) = cut(url, b'#').unwrap_or((url, ""));
    let (base, query) = cut(url, b'?').unwrap_or((url, ""));
    let mut out = String::from(base);
    let mut first = true;
    for pair in parts(query, b'&') {
        let key = up_to(pair, b"=");
        if !key.is_empty() && keep.iter().any(|k| k.as_ref() == key) {
            out.push(if first { '?' } else { '&' });
            out.push_str(pair);
            first = false;
        }
    }
    if keep_hash && !hash.is_empty() {
        out.push('#');
        out.push_str(hash);
    }
    truncate(&mut out, MAX_URL_LEN);
    out
}

/// `s` with things that look like e-mail addresses replaced by `[email]` and international
/// phone numbers (`+` and at least 8 digits, separators allowed) by `[phone]`; `%40` and `%2B`
/// count as `@` and `+`. Applied to every URL, referrer and title that leaves the browser.
/// Long digit runs without `+` are left alone: they are usually order or product ids.
pub fn redact(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || b".-".contains(&c);
    while i < b.len() {
        let at = if b[i] == b'@' {
            Some(1)
        } else if b[i..].starts_with(b"%40") {
            Some(3)
        } else {
            None
        };
        if let Some(len) = at {
            // local part: back over what was already copied
            let mut start = out.len();
            while start > 0 && local(out.as_bytes()[start - 1]) {
                start -= 1;
            }
            let mut end = i + len;
            while end < b.len() && domain(b[end]) {
                end += 1;
            }
            let host = s.get(i + len..end).unwrap_or("");
            if start < out.len() && host.contains('.') && !host.starts_with('.') {
                out.truncate(start);
                out.push_str("[email]");
                i = end;
                continue;
            }
        }
        let plus = if b[i] == b'+' {
            Some(1)
        } else if b[i..].starts_with(b"%2B") || b[i..].starts_with(b"%2b") {
            Some(3)
        } else {
            None
        };
        if let Some(len) = plus {
            let mut end = i + len;
            let mut digits = 0;
            while end < b.len()
                && (b[end].is_ascii_digit()
                    || b" -().".contains(&b[end])
                    || b[end..].starts_with(b"%20"))
            {
                if b[end].is_ascii_digit() {
                    digits += 1;
                }
                end += if b[end..].starts_with(b"%20") { 3 } else { 1 };
            }
            if digits >= 8 {
                out.push_str("[phone]");
                i = end;
                continue;
            }
        }
        let ch = s.get(i..).and_then(|t| t.chars().next()).unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Cuts `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// `(hostname, path)` of an absolute URL without query or fragment (lowercase host).
pub fn split_host(base: &str) -> (String, String) {
    match crate::json::find_str(base, "://").and_then(|i| base.get(i + 3..)) {
        Some(rest) => {
            let authority = up_to(rest, b"/");
            let path = rest.get(authority.len()..).unwrap_or("");
            let host = after_last(authority, b'@');
            let host = match host.strip_prefix('[') {
                Some(v6) => up_to(v6, b"]"),
                None => up_to(host, b":"),
            };
            (
                host.to_ascii_lowercase(),
                if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                },
            )
        }
        None => (String::new(), base.to_string()),
    }
}

/// The value of query parameter `name` in a raw query string (first occurrence, `+` and
/// percent-escapes decoded).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    parts(query, b'&').into_iter().find_map(|pair| {
        let (k, v) = cut(pair, b'=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    // not UTF-8 once decoded (`%FF`): the text as written, rather than std's lossy decoder
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// How the page's URL changed in the page (the shell's history hooks report which).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Navigation {
    /// `history.pushState`.
    Push,
    /// `history.replaceState`.
    Replace,
    /// `popstate` (back or forward within the page).
    Pop,
    /// `hashchange`.
    Hash,
}

/// What an in-page navigation from `last` to `next` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageChange {
    /// The same URL (for page views): nothing to do.
    Same,
    /// Only the query changed by `replaceState` (filters, sorting written into the URL): the
    /// same page view, under the new URL.
    Rewritten,
    /// A new page view.
    NewView,
}

/// The page-view rule for in-page navigations: the fragment counts only for hash routers
/// (`spa: "hash"`); a `replaceState` that changes only the query is the same view.
pub fn page_change(last: &str, next: &str, how: Navigation, hash_routes: bool) -> PageChange {
    fn strip(u: &str, hash_routes: bool) -> &str {
        if hash_routes {
            u
        } else {
            up_to(u, b"#")
        }
    }
    fn hash(u: &str) -> Option<&str> {
        cut(u, b'#').map(|(_, h)| h)
    }
    if strip(next, hash_routes) == strip(last, hash_routes) {
        return PageChange::Same;
    }
    if how == Navigation::Replace
        && up_to(next, b"?#") == up_to(last, b"?#")
        && (!hash_routes || hash(next) == hash(last))
    {
        return PageChange::Rewritten;
    }
    PageChange::NewView
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! sanitized {
        ($($name:ident: $in:expr => $out:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(sanitize($in, ATTRIBUTION_PARAMS), $out);
            }
        )*};
    }

    sanitized! {
        plain: "https://shop.test/p/1" => "https://shop.test/p/1";
        fragment_dropped: "https://shop.test/a#section" => "https://shop.test/a";
        query_stripped: "https://shop.test/reset?email=a@b.c&token=x" => "https://shop.test/reset";
        utm_kept_in_order: "https://s.test/?utm_source=news&q=secret&utm_medium=email#x"
            => "https://s.test/?utm_source=news&utm_medium=email";
        click_id_kept: "https://s.test/?gclid=abc" => "https://s.test/?gclid=abc";
        prefix_is_not_a_match: "https://s.test/?utm_sourcex=1&gclid2=2" => "https://s.test/";
        empty_query: "https://s.test/?" => "https://s.test/";
        empty: "" => "";
    }

    macro_rules! redacted {
        ($($name:ident: $in:expr => $out:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(redact($in), $out);
            }
        )*};
    }

    redacted! {
        email_in_path: "https://s.test/users/jane.doe+news@example.co.uk/edit" => "https://s.test/users/[email]/edit";
        encoded_email: "https://s.test/?utm_content=jane%40example.com" => "https://s.test/?utm_content=[email]";
        email_in_title: "Inbox (3) – jane@example.com – Mail" => "Inbox (3) – [email] – Mail";
        phone_in_title: "Call us: +32 (0)2 123 45 67 now" => "Call us: [phone]now";
        encoded_phone: "https://s.test/?utm_term=%2B32470123456" => "https://s.test/?utm_term=[phone]";
        order_ids_stay: "https://s.test/orders/123456789012" => "https://s.test/orders/123456789012";
        short_plus_stays: "C++ +1 item" => "C++ +1 item";
        at_without_domain_stays: "https://s.test/@handle/posts" => "https://s.test/@handle/posts";
        unicode_kept: "Café ☕ @ home" => "Café ☕ @ home";
        two_emails: "a@b.co,c@d.io" => "[email],[email]";
    }

    #[test]
    fn hash_routes_keep_their_fragment_and_extra_params_can_be_kept() {
        assert_eq!(
            sanitize_with("https://s.test/?q=1&ref=x#/cart?id=2", &["ref"], true),
            "https://s.test/?ref=x#/cart?id=2"
        );
        assert_eq!(
            sanitize_with::<&str>("https://s.test/#/cart", &[], false),
            "https://s.test/"
        );
    }

    #[test]
    fn long_urls_are_capped_on_a_char_boundary() {
        let url = "https://s.test/".to_string() + &"é".repeat(3000);
        let out = sanitize(&url, ATTRIBUTION_PARAMS);
        assert!(out.len() <= MAX_URL_LEN && out.len() > MAX_URL_LEN - 2);
    }

    // The byte-scan cutters agree with std's string splitting, on any text (multi-byte
    // characters included) and any ASCII separator.
    mod cutters {
        use super::super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            "[a-c?#&=@/.é😀]{0,12}"
        }
        fn sep() -> impl Strategy<Value = u8> {
            prop::sample::select(b"?#&=@/.".to_vec())
        }

        proptest! {
            #[test]
            fn up_to_is_split_next(s in text(), a in sep(), b in sep()) {
                let std = s.split([a as char, b as char]).next().unwrap();
                prop_assert_eq!(up_to(&s, &[a, b]), std);
            }

            #[test]
            fn cut_is_split_once(s in text(), c in sep()) {
                prop_assert_eq!(cut(&s, c), s.split_once(c as char));
            }

            #[test]
            fn after_last_is_rsplit_next(s in text(), c in sep()) {
                prop_assert_eq!(after_last(&s, c), s.rsplit(c as char).next().unwrap());
            }

            #[test]
            fn parts_is_split(s in text(), c in sep()) {
                prop_assert_eq!(parts(&s, c), s.split(c as char).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn query_params_are_decoded_and_bad_escapes_kept_as_written() {
        let q = "a=1&utm_source=caf%C3%A9+bar&x=%FFab&y=%4&utm_source=second";
        assert_eq!(query_param(q, "utm_source").as_deref(), Some("café bar"));
        assert_eq!(query_param(q, "x").as_deref(), Some("%FFab"), "not UTF-8");
        assert_eq!(query_param(q, "y").as_deref(), Some("%4"), "a cut escape");
        assert_eq!(query_param(q, "a").as_deref(), Some("1"));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param("", "a"), None);
        assert_eq!(
            query_param("a", "a").as_deref(),
            Some(""),
            "a key without a value"
        );
    }

    #[test]
    fn in_page_navigations_are_page_views_by_one_rule() {
        use Navigation::*;
        use PageChange::*;
        let a = "https://s.test/shop?x=1";
        for (last, next, how, hash_routes, want) in [
            (a, a, Push, false, Same),
            (a, "https://s.test/shop?x=1#top", Hash, false, Same),
            (a, "https://s.test/shop?x=1#/cart", Hash, true, NewView),
            (a, "https://s.test/cart", Push, false, NewView),
            (a, "https://s.test/cart", Pop, false, NewView),
            (a, "https://s.test/shop?x=2", Replace, false, Rewritten),
            (a, "https://s.test/shop?x=2", Push, false, NewView),
            (a, "https://s.test/other?x=1", Replace, false, NewView),
            (
                "https://s.test/#/a?x=1",
                "https://s.test/#/b?x=1",
                Replace,
                true,
                NewView,
            ),
            (
                "https://s.test/?q=1#/a",
                "https://s.test/?q=2#/a",
                Replace,
                true,
                Rewritten,
            ),
        ] {
            assert_eq!(
                page_change(last, next, how, hash_routes),
                want,
                "{last} → {next} {how:?}"
            );
        }
    }
}
