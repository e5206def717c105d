//! The fields a goal's conditions read: of the page, the clicked element, the form, the media
//! element, the scroll position, the custom event. A leaf: the condition compiler and the
//! candidate that answers for a field both use it.

use crate::prelude::*;

/// What a condition reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// The full page URL (before privacy stripping: matching is local).
    Url,
    /// The URL's path.
    Path,
    /// The URL's host name.
    Hostname,
    /// One query parameter's value.
    Query(String),
    /// The fragment, without `#`.
    Hash,
    /// `document.title`.
    Title,
    /// `document.referrer`.
    Referrer,
    /// The clicked element's text (trimmed, capped).
    Text,
    /// The element's (or form's) id.
    Id,
    /// The element's class list, space-separated.
    Classes,
    /// The element's tag name, lowercase.
    Tag,
    /// An attribute of the element.
    Attr(String),
    /// A link's href.
    Href,
    /// The form's name attribute.
    FormName,
    /// The form's action URL.
    FormAction,
    /// The media element's source URL.
    Src,
    /// Media progress or scroll depth, in percent.
    Percent,
    /// Media position, in seconds.
    Seconds,
    /// Scroll depth in pixels.
    Pixels,
    /// A prop of a custom event.
    Prop(String),
    /// Page views so far in this session, this one included.
    PagesInSession,
}

/// Field names as written in a config, for suggestions.
pub const FIELDS: &[&str] = &[
    "url",
    "path",
    "hostname",
    "query",
    "hash",
    "title",
    "referrer",
    "text",
    "id",
    "classes",
    "tag",
    "attr",
    "href",
    "name",
    "action",
    "src",
    "percent",
    "seconds",
    "pixels",
    "props",
    "pagesInSession",
];

impl Field {
    /// The config name.
    pub fn name(&self) -> &'static str {
        match self {
            Field::Url => "url",
            Field::Path => "path",
            Field::Hostname => "hostname",
            Field::Query(_) => "query",
            Field::Hash => "hash",
            Field::Title => "title",
            Field::Referrer => "referrer",
            Field::Text => "text",
            Field::Id => "id",
            Field::Classes => "classes",
            Field::Tag => "tag",
            Field::Attr(_) => "attr",
            Field::Href => "href",
            Field::FormName => "name",
            Field::FormAction => "action",
            Field::Src => "src",
            Field::Percent => "percent",
            Field::Seconds => "seconds",
            Field::Pixels => "pixels",
            Field::Prop(_) => "props",
            Field::PagesInSession => "pagesInSession",
        }
    }
}
