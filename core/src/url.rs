//! URL privacy: drop the fragment and every query parameter that is not on the allowlist.

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

/// The longest URL kept; longer ones are cut (the collector rejects longer fields).
pub const MAX_URL_LEN: usize = 2048;

/// `url` without its fragment and with only the allowlisted query parameters, in their
/// original order, capped at [`MAX_URL_LEN`] bytes.
pub fn sanitize(url: &str, keep: &[&str]) -> String {
    let url = url.split('#').next().unwrap_or("");
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut out = String::from(base);
    let mut first = true;
    for pair in query.split('&') {
        let key = pair.split('=').next().unwrap_or("");
        if !key.is_empty() && keep.contains(&key) {
            out.push(if first { '?' } else { '&' });
            out.push_str(pair);
            first = false;
        }
    }
    truncate(&mut out, MAX_URL_LEN);
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

    #[test]
    fn long_urls_are_capped_on_a_char_boundary() {
        let url = "https://s.test/".to_string() + &"é".repeat(3000);
        let out = sanitize(&url, ATTRIBUTION_PARAMS);
        assert!(out.len() <= MAX_URL_LEN && out.len() > MAX_URL_LEN - 2);
    }
}
