//! Attribution: where a visit came from (campaign parameters, ad click ids, referrer), the
//! channel derived from them, and the first and last touch of a visitor.

use crate::prelude::*;
use crate::url::{cut, query_param, split_host, up_to};

/// Ad click ids, in the order they are looked for; each names its ad platform's channel.
pub const CLICK_IDS: &[(&str, Channel)] = &[
    ("gclid", Channel::PaidSearch),
    ("gbraid", Channel::PaidSearch),
    ("wbraid", Channel::PaidSearch),
    ("dclid", Channel::PaidSearch),
    ("msclkid", Channel::PaidSearch),
    ("yclid", Channel::PaidSearch),
    ("fbclid", Channel::Social),
    ("ttclid", Channel::Social),
    ("twclid", Channel::Social),
    ("li_fat_id", Channel::Social),
];

const SEARCH: &[&str] = &[
    "google.",
    "bing.",
    "duckduckgo.",
    "yahoo.",
    "yandex.",
    "baidu.",
    "ecosia.",
    "search.brave.",
    "startpage.",
    "qwant.",
    "naver.",
];
const SOCIAL: &[&str] = &[
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "reddit.",
    "pinterest.",
    "youtube.",
    "tiktok.",
    "vk.com",
    "threads.net",
    "bsky.app",
    "mastodon.",
];
const MAIL: &[&str] = &[
    "mail.google.",
    "outlook.live.",
    "outlook.office.",
    "mail.yahoo.",
    "mail.proton.",
];

pub use goalpost_protocol::Channel;
use goalpost_protocol::{TouchRef, MAX_TOUCH_FIELD_LEN};

/// One touch: how a visit arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Touch {
    /// The derived channel.
    pub channel: Channel,
    /// `utm_source`, or the referrer's host.
    pub source: String,
    /// `utm_medium`.
    pub medium: String,
    /// `utm_campaign`.
    pub campaign: String,
    /// `utm_term`.
    pub term: String,
    /// `utm_content`.
    pub content: String,
    /// The name of the ad click id present (`gclid`, …), not its value.
    pub click_id: String,
    /// The landing page's path.
    pub landing: String,
}

impl Touch {
    /// The touch of a page view from `url` with `referrer`, or `None` when the referrer is the
    /// site itself (an internal navigation is not a touch). `own` is the page's host.
    pub fn of(url: &str, referrer: &str, own_hosts: &[String]) -> Option<Touch> {
        let base = up_to(url, b"#");
        let (_, query) = cut(base, b'?').unwrap_or((base, ""));
        let (page_host, path) = split_host(up_to(base, b"?"));
        let p = |k: &str| query_param(query, k).unwrap_or_default();
        let (source, medium, campaign) = (
            p("utm_source"),
            p("utm_medium").to_ascii_lowercase(),
            p("utm_campaign"),
        );
        let click = CLICK_IDS
            .iter()
            .find(|(k, _)| query_param(query, k).is_some());
        let (ref_host, _) = split_host(up_to(referrer, b"?#"));
        let strip = |h: &str| h.strip_prefix("www.").unwrap_or(h).to_string();
        let internal = !ref_host.is_empty()
            && (strip(&ref_host) == strip(&page_host)
                || own_hosts.iter().any(|o| strip(o) == strip(&ref_host)));
        let campaign_present =
            !source.is_empty() || !medium.is_empty() || !campaign.is_empty() || click.is_some();
        if internal && !campaign_present {
            return None;
        }
        let is = |list: &[&str]| {
            list.iter().any(|d| {
                ref_host.starts_with(d)
                    || crate::json::find_str(&ref_host, &format_dot(d)).is_some()
            })
        };
        let channel = if let Some((_, ch)) = click {
            *ch
        } else if !medium.is_empty() {
            match medium.as_str() {
                "cpc" | "ppc" | "paid" | "paidsearch" | "paid_search" | "paid-search" | "sem" => {
                    Channel::PaidSearch
                }
                "email" | "e-mail" | "newsletter" => Channel::Email,
                "social" | "social-network" | "social-media" | "sm" | "paid_social"
                | "paidsocial" => Channel::Social,
                "organic" => Channel::OrganicSearch,
                "referral" => Channel::Referral,
                _ => Channel::Other,
            }
        } else if !source.is_empty() || !campaign.is_empty() {
            Channel::Other
        } else if ref_host.is_empty() || internal {
            Channel::Direct
        } else if is(MAIL) {
            Channel::Email
        } else if is(SEARCH) {
            Channel::OrganicSearch
        } else if is(SOCIAL) {
            Channel::Social
        } else {
            Channel::Referral
        };
        Some(
            Touch {
                channel,
                source: if source.is_empty() {
                    strip(&ref_host)
                } else {
                    source
                },
                medium,
                campaign,
                term: p("utm_term"),
                content: p("utm_content"),
                click_id: click.map(|(k, _)| k.to_string()).unwrap_or_default(),
                landing: path,
            }
            .cleaned(),
        )
    }

    /// Whether this touch names a campaign (so it starts a new session).
    pub fn is_campaign(&self) -> bool {
        !self.campaign.is_empty() || !self.click_id.is_empty() || !self.medium.is_empty()
    }

    /// The touch as the protocol writes it.
    pub fn wire(&self) -> TouchRef<'_> {
        TouchRef {
            channel: self.channel,
            source: &self.source,
            medium: &self.medium,
            campaign: &self.campaign,
            term: &self.term,
            content: &self.content,
            click_id: &self.click_id,
            landing: &self.landing,
        }
    }

    /// Appends the touch as a JSON object ([`TouchRef::push_json`]).
    pub fn push_json(&self, o: &mut String, click_id: bool) {
        self.wire().push_json(o, click_id);
    }

    /// Every text field redacted (e-mail addresses, phone numbers) and capped at 200 bytes.
    fn cleaned(mut self) -> Touch {
        for v in [
            &mut self.source,
            &mut self.medium,
            &mut self.campaign,
            &mut self.term,
            &mut self.content,
            &mut self.click_id,
            &mut self.landing,
        ] {
            *v = crate::url::redact(v);
            crate::url::truncate(v, MAX_TOUCH_FIELD_LEN);
        }
        self
    }
}

impl Touch {
    /// A touch back from its JSON (as [`Touch::push_json`] wrote it); `None` if malformed.
    pub fn from_json(j: &crate::Json) -> Option<Touch> {
        let text = |k: &str| match j.get(k) {
            Some(crate::Json::String(s)) if s.len() <= MAX_TOUCH_FIELD_LEN => Some(s.clone()),
            None => Some(String::new()),
            _ => None,
        };
        let channel = match j.get("channel") {
            Some(crate::Json::String(c)) => Channel::from_name(c)?,
            _ => return None,
        };
        Some(
            Touch {
                channel,
                source: text("source")?,
                medium: text("medium")?,
                campaign: text("campaign")?,
                term: text("term")?,
                content: text("content")?,
                click_id: text("click_id")?,
                landing: text("landing")?,
            }
            .cleaned(),
        )
    }
}

/// "google." also matches "www.google." and "news.google.".
fn format_dot(d: &str) -> String {
    let mut s = String::from(".");
    s.push_str(d);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(url: &str, referrer: &str) -> Option<&'static str> {
        Touch::of(url, referrer, &[]).map(|t| t.channel.as_str())
    }

    #[test]
    fn channels() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("https://s.test/", "", Some("direct")),
            ("https://s.test/p", "https://s.test/", None),
            ("https://s.test/p", "https://www.s.test/x", None),
            (
                "https://s.test/",
                "https://www.google.com/",
                Some("organic_search"),
            ),
            (
                "https://s.test/",
                "https://duckduckgo.com/",
                Some("organic_search"),
            ),
            (
                "https://s.test/?gclid=abc",
                "https://www.google.com/",
                Some("paid_search"),
            ),
            (
                "https://s.test/?utm_source=google&utm_medium=cpc",
                "",
                Some("paid_search"),
            ),
            (
                "https://s.test/?utm_source=news&utm_medium=email&utm_campaign=nov",
                "",
                Some("email"),
            ),
            (
                "https://s.test/",
                "https://mail.google.com/mail/u/0/",
                Some("email"),
            ),
            (
                "https://s.test/?fbclid=x",
                "https://l.facebook.com/",
                Some("social"),
            ),
            ("https://s.test/", "https://t.co/abc", Some("social")),
            ("https://s.test/", "https://m.facebook.com/", Some("social")),
            (
                "https://s.test/",
                "https://blog.example/post",
                Some("referral"),
            ),
            (
                "https://s.test/?utm_source=partner&utm_medium=banner",
                "",
                Some("other"),
            ),
            (
                "https://s.test/?utm_campaign=x",
                "https://s.test/",
                Some("other"),
            ),
            ("https://s.test/?utm_medium=CPC", "", Some("paid_search")),
        ];
        for (url, r, want) in cases {
            assert_eq!(channel(url, r), *want, "{url} from {r}");
        }
        assert_eq!(
            Touch::of(
                "https://s.test/",
                "https://pay.test/ok",
                &["pay.test".to_string()]
            ),
            None
        );
    }

    #[test]
    fn touch_fields_and_json() {
        let t = Touch::of("https://s.test/landing?utm_source=news&utm_medium=email&utm_campaign=nov&utm_term=a%40b.co&gclid=zz", "", &[]).unwrap();
        assert_eq!(t.source, "news");
        assert_eq!(t.click_id, "gclid");
        assert_eq!(t.landing, "/landing");
        assert!(t.is_campaign());
        let mut o = String::new();
        t.push_json(&mut o, true);
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(
            v["channel"], "paid_search",
            "a click id wins over the medium"
        );
        assert_eq!(v["term"], "[email]");
        assert_eq!(v["campaign"], "nov");
        assert!(v.get("content").is_none());
        assert_eq!(t.term, "[email]", "redacted when the touch is made");
        let mut o = String::new();
        t.push_json(&mut o, false);
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert!(
            v.get("click_id").is_none(),
            "no click id without ad consent"
        );
        assert_eq!(v["channel"], "paid_search", "the channel stays");
        assert_eq!(v["landing"], "/landing");
        let stored = crate::json::from_serde(serde_json::json!({
            "channel": "referral", "source": "x.test", "content": "call +1 415 555 0100"
        }));
        let back = Touch::from_json(&stored).unwrap();
        assert!(!back.content.contains("555"), "{}", back.content);
        let organic = Touch::of("https://s.test/", "https://www.bing.com/search?q=x", &[]).unwrap();
        assert_eq!(organic.source, "bing.com");
        assert!(!organic.is_campaign());
    }
}
