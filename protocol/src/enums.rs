//! The protocol's closed sets of names, one enum each, with their wire names.

/// What an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum EventType {
    /// A page was viewed.
    PageView,
    /// A goal was reached.
    Conversion,
    /// A step of a funnel was reached.
    FunnelStep,
}

impl EventType {
    /// The wire name: "page_view", "conversion" or "funnel_step".
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::Conversion => "conversion",
            EventType::FunnelStep => "funnel_step",
        }
    }
}

/// Macro conversions are the business outcomes (purchase, lead, paid sign-up); micro
/// conversions the steps towards them (add to cart, newsletter). Default: micro.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum GoalKind {
    /// A business outcome.
    Macro,
    /// A step towards one.
    Micro,
}

impl GoalKind {
    /// The wire name: "macro" or "micro".
    pub fn as_str(self) -> &'static str {
        match self {
            GoalKind::Macro => "macro",
            GoalKind::Micro => "micro",
        }
    }
}

/// The consent an event was collected under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum ConsentStamp {
    /// Explicitly granted.
    Granted,
    /// `implied` mode, no choice yet.
    Implied,
    /// Without identifiers (no session, first or last touch).
    Anonymous,
    /// Collected before a choice in `required` mode, sent after the grant.
    Pending,
}

impl ConsentStamp {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStamp::Granted => "granted",
            ConsentStamp::Implied => "implied",
            ConsentStamp::Anonymous => "anonymous",
            ConsentStamp::Pending => "pending",
        }
    }
}

/// The marketing channel of a touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Channel {
    /// No referrer, no campaign.
    Direct,
    /// A search engine, unpaid.
    OrganicSearch,
    /// A search ad (click id or a paid medium).
    PaidSearch,
    /// A social network (referrer, medium, or a social ad click id).
    Social,
    /// An e-mail (medium or a webmail referrer).
    Email,
    /// Another site.
    Referral,
    /// A campaign whose medium says nothing known.
    Other,
}

impl Channel {
    /// Every channel, in wire order.
    pub const ALL: [Channel; 7] = [
        Channel::Direct,
        Channel::OrganicSearch,
        Channel::PaidSearch,
        Channel::Social,
        Channel::Email,
        Channel::Referral,
        Channel::Other,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::Social => "social",
            Channel::Email => "email",
            Channel::Referral => "referral",
            Channel::Other => "other",
        }
    }

    /// The channel with this wire name.
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}
