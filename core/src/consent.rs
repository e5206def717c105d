//! Consent: the visitor's choices per purpose, the site's mode, and what may be collected.
//!
//! | mode | before a choice | after a grant | after a denial |
//! |---|---|---|---|
//! | `anonymous` (default) | sent without identifiers (no session, no touches), nothing stored | full | nothing sent, queue dropped, storage cleared |
//! | `required` | page views and interactions held in memory, unmatched (bounded), or dropped (`beforeGrant`); nothing sent or stored | full; the held inputs are handled | nothing sent, held and queued events dropped, storage cleared |
//! | `implied` | full | full | nothing sent, queue dropped, storage cleared |
//!
//! The default is `anonymous`: a site that adds goalpost without a consent tool measures its
//! conversions without identifying anyone or storing anything, and gets full attribution as
//! soon as its consent tool grants.

use crate::prelude::*;
use goalpost_protocol::ConsentStamp;

/// The site's consent mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Opt-in: nothing before a grant.
    Required,
    /// Cookieless until a grant: conversions without identifiers.
    Anonymous,
    /// Opt-out: everything until a denial.
    Implied,
}

/// One purpose's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// Not answered yet.
    #[default]
    Unknown,
    /// Granted.
    Granted,
    /// Denied.
    Denied,
}

/// A change to the choices; `None` leaves a purpose as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsentUpdate {
    /// Measurement.
    pub analytics: Option<bool>,
    /// Ad attribution: click ids, forwarding conversions to ad platforms (`dataLayer`).
    pub ads: Option<bool>,
    /// Storing anything in the browser.
    pub storage: Option<bool>,
}

impl ConsentUpdate {
    /// Every purpose granted (`true`) or denied.
    pub fn all(granted: bool) -> ConsentUpdate {
        ConsentUpdate {
            analytics: Some(granted),
            ads: Some(granted),
            storage: Some(granted),
        }
    }

    /// `consent('granted' | 'denied')`.
    pub fn from_word(word: &str) -> Option<ConsentUpdate> {
        granted(word).map(ConsentUpdate::all)
    }

    /// `consent({…})`: goalpost's purposes (`analytics`, `ads`, `storage`) or Google Consent
    /// Mode's keys, each read by `get` as granted (`true` or `'granted'`) or denied.
    /// `analytics_storage` → analytics, and storage unless given; `ad_storage`,
    /// `ad_user_data`, `ad_personalization` → ads, granted only if every one given is. `None`
    /// when nothing known is given.
    pub fn from_signals(get: impl Fn(&str) -> Option<bool>) -> Option<ConsentUpdate> {
        let mut u = ConsentUpdate {
            analytics: get("analytics"),
            ads: get("ads"),
            storage: get("storage"),
        };
        if let Some(a) = get("analytics_storage") {
            u.analytics = Some(a);
            u.storage = u.storage.or(Some(a));
        }
        let mut ad: Option<bool> = None;
        for k in ["ad_storage", "ad_user_data", "ad_personalization"] {
            if let Some(g) = get(k) {
                ad = Some(g && ad.unwrap_or(true));
            }
        }
        if ad.is_some() {
            u.ads = ad;
        }
        (u != ConsentUpdate::default()).then_some(u)
    }

    /// A TCF answer: `gdpr_applies`, then purposes 1 (store), 7 (measure ads), 8 (measure
    /// content), 9 (market research). Purpose 1 → storage; 7, 8 or 9 → analytics; 7 → ads.
    /// `None` where GDPR does not apply (an answer all the same: it ends a wait).
    pub fn from_tcf(gdpr_applies: bool, p1: bool, p7: bool, p8: bool, p9: bool) -> Option<Self> {
        gdpr_applies.then_some(ConsentUpdate {
            analytics: Some(p7 || p8 || p9),
            ads: Some(p7),
            storage: Some(p1),
        })
    }

    /// What the browser says at start: the visitor's own opt-out, Global Privacy Control and
    /// Do Not Track, as the site's policy reads them.
    pub fn from_browser(
        opted_out: bool,
        gpc: bool,
        dnt: bool,
        policy: &ConsentPolicy,
    ) -> Vec<Self> {
        let mut out = Vec::new();
        if opted_out {
            out.push(ConsentUpdate::all(false));
        }
        match (gpc, policy.gpc) {
            (true, Gpc::Ads) => out.push(ConsentUpdate {
                ads: Some(false),
                ..ConsentUpdate::default()
            }),
            (true, Gpc::All) => out.push(ConsentUpdate::all(false)),
            _ => {}
        }
        if dnt && policy.dnt {
            out.push(ConsentUpdate::all(false));
        }
        out
    }
}

/// The choice a word says: `'granted'` (true) or `'denied'` (false), as goalpost's API and
/// Google Consent Mode write it.
pub fn granted(word: &str) -> Option<bool> {
    match word {
        "granted" => Some(true),
        "denied" => Some(false),
        _ => None,
    }
}

/// How an event may be collected right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// With identifiers (session, touches).
    Full,
    /// Without identifiers.
    Anonymous,
    /// Kept in memory until a choice.
    Hold,
    /// Not at all.
    Refuse,
}

/// What the site configured (`consent` in the config).
#[derive(Clone, Debug, PartialEq)]
pub struct ConsentPolicy {
    /// Default `Anonymous` (see the module docs for why).
    pub mode: Mode,
    /// `required` mode: hold events until a choice (true, default) or drop them.
    pub hold: bool,
    /// The most events held before a choice; the oldest go first. Default 500.
    pub max_held: usize,
    /// Global Privacy Control: `ads` (default) denies ad purposes, `all` denies everything,
    /// `off` ignores it.
    pub gpc: Gpc,
    /// Treat Do Not Track as a denial of everything. Default false.
    pub dnt: bool,
    /// Read an IAB TCF v2.2 consent tool (`__tcfapi`). Default true.
    pub tcf: bool,
    /// Read Google Consent Mode commands in `window.dataLayer`. Default true.
    pub google: bool,
    /// How long to wait for a consent tool (TCF) to answer before sending anything. Default
    /// 500 ms, as Google's tags do.
    pub wait: crate::Millis,
}

/// What Global Privacy Control denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gpc {
    /// Ignored.
    Off,
    /// Ad purposes (the default: GPC is a "do not sell or share" signal).
    Ads,
    /// Everything.
    All,
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        ConsentPolicy {
            mode: Mode::Anonymous,
            hold: true,
            max_held: 500,
            gpc: Gpc::Ads,
            dnt: false,
            tcf: true,
            google: true,
            wait: crate::Millis(500),
        }
    }
}

/// The visitor's choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consent {
    /// Measurement.
    pub analytics: Choice,
    /// Ad attribution.
    pub ads: Choice,
    /// Browser storage.
    pub storage: Choice,
}

impl Consent {
    /// Applies an update.
    pub fn apply(&mut self, u: ConsentUpdate) {
        let set = |c: &mut Choice, v: Option<bool>| {
            if let Some(v) = v {
                *c = if v { Choice::Granted } else { Choice::Denied };
            }
        };
        set(&mut self.analytics, u.analytics);
        set(&mut self.ads, u.ads);
        set(&mut self.storage, u.storage);
    }

    /// How events may be collected now.
    pub fn collect(&self, mode: Mode, hold: bool) -> Collect {
        match (self.analytics, mode) {
            (Choice::Denied, _) => Collect::Refuse,
            (Choice::Granted, _) | (Choice::Unknown, Mode::Implied) => Collect::Full,
            (Choice::Unknown, Mode::Anonymous) => Collect::Anonymous,
            (Choice::Unknown, Mode::Required) if hold => Collect::Hold,
            (Choice::Unknown, Mode::Required) => Collect::Refuse,
        }
    }

    /// Whether a purpose is allowed under `mode` (implied mode allows what is not denied).
    pub fn allows(choice: Choice, mode: Mode) -> bool {
        choice == Choice::Granted || (choice == Choice::Unknown && mode == Mode::Implied)
    }

    /// The stamp events carry: the state they were collected under. `pending`: collected
    /// before a choice in `required` mode, sent only after a grant.
    pub fn stamp(&self, collect: Collect) -> ConsentStamp {
        match (collect, self.analytics) {
            (Collect::Anonymous, _) => ConsentStamp::Anonymous,
            (Collect::Hold, _) => ConsentStamp::Pending,
            (_, Choice::Granted) => ConsentStamp::Granted,
            _ => ConsentStamp::Implied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Choice::*;

    #[test]
    fn every_mode_and_choice() {
        let cases = [
            (Mode::Anonymous, Unknown, true, Collect::Anonymous),
            (Mode::Anonymous, Granted, true, Collect::Full),
            (Mode::Anonymous, Denied, true, Collect::Refuse),
            (Mode::Required, Unknown, true, Collect::Hold),
            (Mode::Required, Unknown, false, Collect::Refuse),
            (Mode::Required, Granted, true, Collect::Full),
            (Mode::Required, Denied, true, Collect::Refuse),
            (Mode::Implied, Unknown, true, Collect::Full),
            (Mode::Implied, Granted, true, Collect::Full),
            (Mode::Implied, Denied, true, Collect::Refuse),
        ];
        for (mode, analytics, hold, want) in cases {
            let c = Consent {
                analytics,
                ..Consent::default()
            };
            assert_eq!(
                c.collect(mode, hold),
                want,
                "{mode:?} {analytics:?} hold={hold}"
            );
        }
    }

    #[test]
    fn updates_are_per_purpose() {
        let mut c = Consent::default();
        c.apply(ConsentUpdate {
            ads: Some(false),
            ..ConsentUpdate::default()
        });
        assert_eq!((c.analytics, c.ads, c.storage), (Unknown, Denied, Unknown));
        c.apply(ConsentUpdate::all(true));
        assert_eq!((c.analytics, c.ads, c.storage), (Granted, Granted, Granted));
        c.apply(ConsentUpdate {
            analytics: Some(false),
            ..ConsentUpdate::default()
        });
        assert_eq!((c.analytics, c.ads), (Denied, Granted));
        assert!(Consent::allows(Unknown, Mode::Implied));
        assert!(!Consent::allows(Unknown, Mode::Anonymous));
        assert!(!Consent::allows(Denied, Mode::Implied));
        assert_eq!(c.stamp(Collect::Full), ConsentStamp::Implied);
    }

    #[test]
    fn signals_map_to_purposes() {
        let from = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ConsentUpdate::from_signals(|k| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| granted(v))
            })
        };
        let u = |a: Option<bool>, ads: Option<bool>, s: Option<bool>| ConsentUpdate {
            analytics: a,
            ads,
            storage: s,
        };
        assert_eq!(
            from(&[("analytics", "granted")]),
            Some(u(Some(true), None, None))
        );
        assert_eq!(
            from(&[("analytics_storage", "granted")]),
            Some(u(Some(true), None, Some(true))),
            "Consent Mode's analytics_storage covers storage unless it is given"
        );
        assert_eq!(
            from(&[("analytics_storage", "granted"), ("storage", "denied")]),
            Some(u(Some(true), None, Some(false)))
        );
        assert_eq!(
            from(&[("ad_storage", "granted"), ("ad_user_data", "denied")]),
            Some(u(None, Some(false), None)),
            "ads granted only if every ad signal given is"
        );
        assert_eq!(
            from(&[
                ("ads", "denied"),
                ("ad_storage", "granted"),
                ("ad_personalization", "granted")
            ]),
            Some(u(None, Some(true), None)),
            "the ad signals replace ads"
        );
        assert_eq!(from(&[("unknown", "granted")]), None);
        assert_eq!(
            ConsentUpdate::from_word("granted"),
            Some(ConsentUpdate::all(true))
        );
        assert_eq!(ConsentUpdate::from_word("yes"), None);
    }

    #[test]
    fn tcf_and_browser_signals() {
        assert_eq!(ConsentUpdate::from_tcf(false, true, true, true, true), None);
        assert_eq!(
            ConsentUpdate::from_tcf(true, true, false, true, false),
            Some(ConsentUpdate {
                analytics: Some(true),
                ads: Some(false),
                storage: Some(true)
            })
        );
        let p = ConsentPolicy::default();
        assert_eq!(
            ConsentUpdate::from_browser(false, false, true, &p),
            Vec::new(),
            "DNT is off by default"
        );
        assert_eq!(
            ConsentUpdate::from_browser(false, true, false, &p),
            [ConsentUpdate {
                ads: Some(false),
                ..ConsentUpdate::default()
            }],
            "GPC denies ads by default"
        );
        let strict = ConsentPolicy {
            gpc: Gpc::All,
            dnt: true,
            ..ConsentPolicy::default()
        };
        assert_eq!(
            ConsentUpdate::from_browser(true, true, true, &strict),
            [ConsentUpdate::all(false); 3]
        );
        let off = ConsentPolicy {
            gpc: Gpc::Off,
            ..ConsentPolicy::default()
        };
        assert!(ConsentUpdate::from_browser(false, true, false, &off).is_empty());
    }
}
