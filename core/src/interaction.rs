//! The plain event types the browser shell feeds in, and the [`Candidate`] every rule reads.
//! The shell fills these from DOM events; tests build them by hand.

use crate::prelude::*;
use alloc::borrow::Cow;

use crate::field::Field;
use crate::url::{after_last, cut, query_param, split_host, up_to};
use goalpost_protocol::Prop;

/// Something the visitor did on a page.
#[derive(Clone, Debug, PartialEq)]
pub enum Interaction {
    /// A click (primary, middle or modified).
    Click(Element),
    /// A form was submitted (and passed the browser's validation).
    Submit(Form),
    /// A video or audio element played.
    Media(Media),
    /// The page was scrolled to this depth (the shell reports the thresholds the goals use).
    Scroll {
        /// Percent of the page's height reached.
        percent: f64,
        /// Pixels from the top reached by the bottom of the viewport.
        pixels: f64,
    },
    /// An element watched for visibility was visible long enough.
    Visible {
        /// The index in [`crate::GoalSet::watches`].
        watch: u32,
    },
    /// The page has been visible and focused for this long in total.
    Engaged {
        /// Seconds of engagement.
        seconds: f64,
    },
    /// Page code called `track(name, props)`.
    Custom {
        /// The event name.
        name: String,
        /// Flat props.
        props: Vec<(String, Prop)>,
    },
}

/// A clicked element: the nearest link or button around the click target (or the target).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Element {
    /// Indexes of the click selectors the target is inside of.
    pub hits: Vec<u32>,
    /// Lowercase tag name.
    pub tag: String,
    /// The id attribute.
    pub id: String,
    /// The class list, space-separated.
    pub classes: String,
    /// Visible text, trimmed and capped (empty unless a goal reads it).
    pub text: String,
    /// A link's absolute href (empty when not a link).
    pub href: String,
    /// The link has a `download` attribute.
    pub download: bool,
    /// The attributes the goals ask about (name, value).
    pub attrs: Vec<(String, String)>,
}

/// A submitted form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    /// Indexes of the form selectors the form matches.
    pub hits: Vec<u32>,
    /// The id attribute.
    pub id: String,
    /// The name attribute.
    pub name: String,
    /// The absolute action URL.
    pub action: String,
    /// The attributes the goals ask about.
    pub attrs: Vec<(String, String)>,
}

/// What a media element did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// Playback started.
    Start,
    /// A progress threshold was reached.
    Progress,
    /// Playback reached the end.
    Complete,
}

/// A media element's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    /// Indexes of the media selectors the element matches.
    pub hits: Vec<u32>,
    /// The current source URL.
    pub src: String,
    /// What happened.
    pub event: MediaEvent,
    /// Percent played (0 for live streams).
    pub percent: f64,
    /// Seconds played.
    pub seconds: f64,
}

/// The page an interaction happened on, split once per page view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageFields {
    /// The full URL without the fragment.
    pub url: String,
    /// Host name, lowercase.
    pub hostname: String,
    /// Path (starts with `/`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// The fragment, without `#`.
    pub hash: String,
    /// `document.title`.
    pub title: String,
    /// `document.referrer`.
    pub referrer: String,
}

impl PageFields {
    /// Splits `href` into its parts.
    pub fn new(href: &str, title: &str, referrer: &str) -> PageFields {
        let (url, hash) = cut(href, b'#').unwrap_or((href, ""));
        let (base, query) = cut(url, b'?').unwrap_or((url, ""));
        let (hostname, path) = split_host(base);
        PageFields {
            url: url.to_string(),
            hostname,
            path,
            query: query.to_string(),
            hash: hash.to_string(),
            title: title.to_string(),
            referrer: referrer.to_string(),
        }
    }
}

/// A value read from a candidate: text or number.
pub enum Value<'a> {
    /// Text.
    Text(Cow<'a, str>),
    /// A number.
    Number(f64),
}

impl Value<'_> {
    /// As text (numbers in their shortest form).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Text(t) => Cow::Borrowed(t),
            Value::Number(n) => {
                let mut s = String::new();
                crate::json::push_f64(&mut s, *n);
                Cow::Owned(s)
            }
        }
    }

    /// As a number (text is parsed; blank or unparsable text has none).
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Text(t) => crate::json::parse_number(t),
        }
    }
}

/// Everything a rule can read about one interaction: normalised once, read by every rule.
pub struct Candidate<'a> {
    /// The page.
    pub page: &'a PageFields,
    /// What happened (`None` for the page view itself).
    pub interaction: Option<&'a Interaction>,
    /// Page views in this session so far, this one included.
    pub pages_in_session: u32,
}

impl<'a> Candidate<'a> {
    /// The value of `field`, if this candidate has one.
    pub fn value(&self, field: &Field) -> Option<Value<'a>> {
        let page = self.page;
        let text = |s: &'a str| Some(Value::Text(Cow::Borrowed(s)));
        let nonempty = |s: &'a str| if s.is_empty() { None } else { text(s) };
        let i = self.interaction;
        match field {
            Field::Url => text(&page.url),
            Field::Path => text(&page.path),
            Field::Hostname => text(&page.hostname),
            Field::Query(name) => {
                query_param(&page.query, name).map(|v| Value::Text(Cow::Owned(v)))
            }
            Field::Hash => nonempty(&page.hash),
            Field::Title => text(&page.title),
            Field::Referrer => nonempty(&page.referrer),
            Field::PagesInSession => Some(Value::Number(f64::from(self.pages_in_session))),
            Field::Text => match i {
                Some(Interaction::Click(e)) => text(&e.text),
                _ => None,
            },
            Field::Id => match i {
                Some(Interaction::Click(e)) => nonempty(&e.id),
                Some(Interaction::Submit(f)) => nonempty(&f.id),
                _ => None,
            },
            Field::Classes => match i {
                Some(Interaction::Click(e)) => text(&e.classes),
                _ => None,
            },
            Field::Tag => match i {
                Some(Interaction::Click(e)) => text(&e.tag),
                _ => None,
            },
            Field::Href => match i {
                Some(Interaction::Click(e)) => nonempty(&e.href),
                _ => None,
            },
            Field::Attr(name) => {
                let attrs = match i {
                    Some(Interaction::Click(e)) => &e.attrs,
                    Some(Interaction::Submit(f)) => &f.attrs,
                    _ => return None,
                };
                attrs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| Value::Text(Cow::Borrowed(v.as_str())))
            }
            Field::FormName => match i {
                Some(Interaction::Submit(f)) => nonempty(&f.name),
                _ => None,
            },
            Field::FormAction => match i {
                Some(Interaction::Submit(f)) => nonempty(&f.action),
                _ => None,
            },
            Field::Src => match i {
                Some(Interaction::Media(m)) => nonempty(&m.src),
                _ => None,
            },
            Field::Percent => match i {
                Some(Interaction::Media(m)) => Some(Value::Number(m.percent)),
                Some(Interaction::Scroll { percent, .. }) => Some(Value::Number(*percent)),
                _ => None,
            },
            Field::Seconds => match i {
                Some(Interaction::Media(m)) => Some(Value::Number(m.seconds)),
                Some(Interaction::Engaged { seconds }) => Some(Value::Number(*seconds)),
                _ => None,
            },
            Field::Pixels => match i {
                Some(Interaction::Scroll { pixels, .. }) => Some(Value::Number(*pixels)),
                _ => None,
            },
            Field::Prop(name) => match i {
                Some(Interaction::Custom { props, .. }) => {
                    props.iter().find(|(k, _)| k == name).map(|(_, v)| match v {
                        Prop::Str(s) => Value::Text(Cow::Borrowed(s.as_str())),
                        Prop::Num(n) => Value::Number(*n),
                        Prop::Bool(b) => {
                            Value::Text(Cow::Borrowed(if *b { "true" } else { "false" }))
                        }
                    })
                }
                _ => None,
            },
        }
    }
}

/// Kinds of link, as a bit set: a link can be several at once (an outbound PDF).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkKinds(pub u8);

impl LinkKinds {
    /// To another host than the site's own.
    pub const OUTBOUND: LinkKinds = LinkKinds(1);
    /// `tel:`
    pub const TEL: LinkKinds = LinkKinds(2);
    /// `mailto:`
    pub const MAILTO: LinkKinds = LinkKinds(4);
    /// A messenger (see [`MESSENGERS`]).
    pub const MESSENGER: LinkKinds = LinkKinds(8);
    /// A file download (by extension or `download` attribute).
    pub const DOWNLOAD: LinkKinds = LinkKinds(16);
    /// The names, in bit order, as written in a config.
    pub const NAMES: &'static [&'static str] =
        &["outbound", "tel", "mailto", "messenger", "download"];

    /// Whether any kind is in both sets.
    pub fn intersects(self, other: LinkKinds) -> bool {
        self.0 & other.0 != 0
    }

    /// The set with `other` added.
    pub fn with(self, other: LinkKinds) -> LinkKinds {
        LinkKinds(self.0 | other.0)
    }
}

/// Messenger links, by scheme (`viber:`) or host (`wa.me`). Extend with the config's
/// `links.messengers`.
pub const MESSENGERS: &[&str] = &[
    "wa.me",
    "api.whatsapp.com",
    "web.whatsapp.com",
    "whatsapp:",
    "t.me",
    "telegram.me",
    "tg:",
    "viber:",
    "m.me",
    "signal.me",
    "sgnl:",
    "skype:",
    "line.me",
    "line:",
];

/// The network of a messenger link, by the scheme or host it uses (`other` for one a site added).
pub fn network(href: &str) -> &'static str {
    let lower = href.trim().to_ascii_lowercase();
    let (host, _) = split_host(up_to(&lower, b"?#"));
    let is = |m: &str| {
        if m.ends_with(':') {
            lower.starts_with(m)
        } else {
            host == m || host.strip_suffix(m).is_some_and(|h| h.ends_with('.'))
        }
    };
    for (names, network) in [
        (
            &["wa.me", "api.whatsapp.com", "web.whatsapp.com", "whatsapp:"][..],
            "whatsapp",
        ),
        (&["t.me", "telegram.me", "tg:"][..], "telegram"),
        (&["viber:"][..], "viber"),
        (&["m.me"][..], "messenger"),
        (&["signal.me", "sgnl:"][..], "signal"),
        (&["skype:"][..], "skype"),
        (&["line.me", "line:"][..], "line"),
    ] {
        if names.iter().any(|m| is(m)) {
            return network;
        }
    }
    "other"
}

/// File extensions counted as downloads by default (GA4's list).
pub const DOWNLOAD_EXTENSIONS: &[&str] = &[
    "pdf", "xls", "xlsx", "doc", "docx", "txt", "rtf", "csv", "exe", "key", "pps", "ppt", "pptx",
    "7z", "pkg", "rar", "gz", "zip", "avi", "mov", "mp4", "mpg", "mpeg", "wmv", "mid", "midi",
    "mp3", "wav", "wma",
];

/// The lowercase extension of a URL's path (query and fragment ignored), if any.
pub fn extension(href: &str) -> Option<String> {
    let (_, path) = split_host(up_to(href, b"?#"));
    let file = after_last(&path, b'/');
    let ext = after_last(file, b'.');
    if ext.len() == file.len() {
        return None; // no dot
    }
    (!ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Classifies a link: tel, mailto and messenger links are those classes only; web links to
/// another host are outbound; downloads can also be outbound. `own_hosts` are the site's hosts (the page's host always counts; a
/// leading `www.` is ignored on both sides); `messengers` are schemes (`viber:`) or hosts.
pub fn classify_link(
    href: &str,
    page_host: &str,
    own_hosts: &[String],
    messengers: &[String],
    download: bool,
) -> LinkKinds {
    let lower = href.trim().to_ascii_lowercase();
    let mut kinds = LinkKinds::default();
    if download || extension(&lower).is_some_and(|e| DOWNLOAD_EXTENSIONS.contains(&e.as_str())) {
        kinds = kinds.with(LinkKinds::DOWNLOAD);
    }
    if lower.starts_with("tel:") {
        return kinds.with(LinkKinds::TEL);
    }
    if lower.starts_with("mailto:") {
        return kinds.with(LinkKinds::MAILTO);
    }
    let (host, _) = split_host(up_to(&lower, b"?#"));
    let is_messenger = messengers.iter().any(|m| {
        if m.ends_with(':') {
            lower.starts_with(m.as_str())
        } else {
            host == *m
                || host
                    .strip_suffix(m.as_str())
                    .is_some_and(|p| p.ends_with('.'))
        }
    });
    if is_messenger {
        kinds = kinds.with(LinkKinds::MESSENGER);
    }
    let web = lower.starts_with("http://") || lower.starts_with("https://");
    let strip = |h: &str| h.strip_prefix("www.").unwrap_or(h).to_string();
    let own = strip(page_host) == strip(&host)
        || own_hosts
            .iter()
            .any(|o| strip(&o.to_ascii_lowercase()) == strip(&host));
    // a messenger link is its own class, not also outbound (one click, one goal type)
    if web && !host.is_empty() && !own && !is_messenger {
        kinds = kinds.with(LinkKinds::OUTBOUND);
    }
    kinds
}
