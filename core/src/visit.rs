//! The visit: the session, the visitor's touches, and what the goal rules remember (goals
//! converted this session and by this visitor, funnel progress, once-per-key conversions). Where
//! storage consent allows, it outlives the document: the tracker writes it as JSON
//! ([`Visit::to_json`]) after every change, and the next document of the site, another tab, or
//! this page back from the back-forward cache merges the stored copy in ([`Visit::merge`]).
//!
//! Everything that names a goal is stored by goal **id** and read back against the goals in
//! force: a deploy that adds, removes or reorders goals keeps what still names a goal and drops
//! the rest. Funnel progress is kept only while the funnel has the same number of steps.
//!
//! Bounds: the session's and the visitor's goals are each at most one entry per goal of the
//! config (and the parser reads at most [`MAX_LISTED`] entries of any list, whatever is
//! stored); once-per-key conversions keep the newest [`MAX_KEYS`]. The session part expires
//! after [`SESSION_TIMEOUT`] without activity; the visitor part stays as long as storage is
//! allowed (a denial or an opt-out deletes the whole stored visit).

use crate::attribution::{Channel, Touch};
use crate::goals::{GoalSet, Once};
use crate::ids::{EventId, Rng};
use crate::json::{push_str_literal, push_u64, Json};
use crate::prelude::*;
use crate::time::Millis;

/// A session ends after this long without input (the industry's 30 minutes).
pub const SESSION_TIMEOUT: Millis = Millis(30 * 60 * 1000);

/// Once-per-key conversions remembered per visitor, newest kept: enough for every order of a
/// busy shopper, small enough to store. An older key that comes back is still counted once by
/// the collector (its event id is derived from the key).
pub const MAX_KEYS: usize = 50;

/// At most this many entries of any stored list are read (a hostile or corrupted value costs
/// bounded work).
pub const MAX_LISTED: usize = 256;

/// The session: the id, what started it, and what its goals and funnels have done.
#[derive(Clone, Debug, Default)]
pub(crate) struct Session {
    /// Drawn at the session's first page view.
    pub id: Option<EventId>,
    /// The campaign that started it (a new campaign starts a new session).
    pub campaign: String,
    /// The last activity.
    pub last: Millis,
    pub pages: u32,
    /// Goals (indexes) converted in this session.
    pub converted: Vec<usize>,
    /// Funnels under way.
    pub funnels: Vec<Progress>,
}

/// How far a funnel has come in this session.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progress {
    /// The funnel's goal index.
    pub goal: usize,
    /// The next step expected (0: not started).
    pub next: usize,
    /// When its first step was reached.
    pub started: Millis,
}

/// The visit: session, touches, and the visitor's once-rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Visit {
    pub session: Session,
    /// Goals (indexes) converted by this visitor.
    pub visitor: Vec<usize>,
    /// Event ids of once-per-key conversions and when they converted, oldest first, at most
    /// [`MAX_KEYS`].
    pub keys: Vec<(EventId, Millis)>,
    /// The visitor's first touch and last non-direct touch.
    pub touches: Option<(Touch, Touch)>,
}

impl Visit {
    /// Activity at `now`: a session idle for longer than [`SESSION_TIMEOUT`] ends (its goals
    /// and funnels with it; the visitor's stay).
    pub fn touch(&mut self, now: Millis) {
        let idle = now.0.saturating_sub(self.session.last.0);
        if self.session.pages > 0 && idle > SESSION_TIMEOUT.0 {
            self.session = Session::default();
        }
        self.session.last = now;
    }

    /// Attribution for a page view: a new campaign starts a new session; the first touch is
    /// kept, the last is replaced by any touch that is not direct.
    pub fn attribute(&mut self, url: &str, referrer: &str, hosts: &[String], rng: &mut Rng) {
        let touch = Touch::of(url, referrer, hosts);
        let key = touch.as_ref().filter(|t| t.is_campaign()).map(|t| {
            let mut k = t.source.clone();
            for part in [&t.medium, &t.campaign, &t.click_id] {
                k.push('|');
                k.push_str(part);
            }
            k
        });
        if let Some(key) = key {
            if self.session.id.is_some() && key != self.session.campaign {
                let last = self.session.last;
                self.session = Session {
                    last,
                    ..Session::default()
                };
            }
            self.session.campaign = key;
        }
        if self.session.id.is_none() {
            self.session.id = Some(rng.event_id());
        }
        let landing = || {
            let (_, path) = crate::url::split_host(crate::url::up_to(url, b"?#"));
            Touch {
                channel: Channel::Direct,
                source: String::new(),
                medium: String::new(),
                campaign: String::new(),
                term: String::new(),
                content: String::new(),
                click_id: String::new(),
                landing: path,
            }
        };
        match (&mut self.touches, touch) {
            (None, t) => {
                let t = t.unwrap_or_else(landing);
                self.touches = Some((t.clone(), t));
            }
            (Some((_, last)), Some(t))
                if t.channel != Channel::Direct || last.channel == Channel::Direct =>
            {
                *last = t
            }
            _ => {}
        }
    }

    /// Whether a once-per-key conversion with this id is remembered.
    pub fn has_key(&self, id: EventId) -> bool {
        self.keys.iter().any(|(k, _)| *k == id)
    }

    /// Remembers a once-per-key conversion at `now` (the newest [`MAX_KEYS`] are kept).
    pub fn remember_key(&mut self, id: EventId, now: Millis) {
        self.add_key(id, now);
        self.bound_keys();
    }

    fn add_key(&mut self, id: EventId, at: Millis) {
        match self.keys.iter_mut().find(|(k, _)| *k == id) {
            Some((_, t)) => *t = Millis(t.0.max(at.0)),
            None => self.keys.push((id, at)),
        }
    }

    /// The newest [`MAX_KEYS`] kept: the oldest goes (ties by id), so every tab that saw the
    /// same keys keeps the same ones.
    fn bound_keys(&mut self) {
        while self.keys.len() > MAX_KEYS {
            let mut oldest = 0;
            for (i, (k, at)) in self.keys.iter().enumerate() {
                let (o, ot) = self.keys[oldest];
                if (at.0, k.0, k.1) < (ot.0, o.0, o.1) {
                    oldest = i;
                }
            }
            self.keys.remove(oldest);
        }
    }

    /// The stored form, for the next document: session id, last activity, page count,
    /// campaign, touches, and by goal id the session's and the visitor's converted goals (only
    /// those whose `once` scope needs them), the funnels under way and the once-per-key ids.
    /// `None` before the first page view.
    pub fn to_json(&self, goals: &GoalSet) -> Option<String> {
        let id = self.session.id?;
        let (first, last) = self.touches.as_ref()?;
        let mut o = String::from("{\"v\":1,\"session\":\"");
        id.push_hex(&mut o);
        o.push_str("\",\"at\":");
        push_u64(&mut o, self.session.last.0);
        o.push_str(",\"pages\":");
        push_u64(&mut o, u64::from(self.session.pages));
        o.push_str(",\"campaign\":");
        push_str_literal(&mut o, &self.session.campaign);
        o.push_str(",\"first\":");
        first.push_json(&mut o, true);
        o.push_str(",\"last\":");
        last.push_json(&mut o, true);
        let (session_goals, visitor_goals) = self.scoped(goals);
        o.push_str(",\"goals\":");
        push_ids(&mut o, goals, &session_goals);
        o.push_str(",\"visitor\":");
        push_ids(&mut o, goals, &visitor_goals);
        o.push_str(",\"funnels\":[");
        for (i, p) in self
            .session
            .funnels
            .iter()
            .filter(|p| p.next > 0)
            .enumerate()
        {
            if i > 0 {
                o.push(',');
            }
            o.push('[');
            push_str_literal(&mut o, &goals.goals[p.goal].id);
            for n in [p.next as u64, p.started.0, steps(goals, p.goal) as u64] {
                o.push(',');
                push_u64(&mut o, n);
            }
            o.push(']');
        }
        o.push_str("],\"keys\":[");
        for (i, (k, at)) in self.keys.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("[\"");
            k.push_hex(&mut o);
            o.push_str("\",");
            push_u64(&mut o, at.0);
            o.push(']');
        }
        o.push_str("]}");
        Some(o)
    }

    /// A stored visit (as [`Visit::to_json`] wrote it, parsed), read against the goals in
    /// force: `None` if it is not a stored visit; entries naming goals not in `goals`, or
    /// malformed, are skipped.
    pub fn parse(v: &Json, goals: &GoalSet) -> Option<Visit> {
        let hex = |j: &Json| match j {
            Json::String(s) => EventId::from_hex(s),
            _ => None,
        };
        let num = |j: Option<&Json>| match j {
            Some(Json::Number(n)) if *n >= 0.0 && n.is_finite() => Some(*n as u64),
            _ => None,
        };
        let (Some(id), Some(at), Some(pages), Some(first), Some(last)) = (
            v.get("session").and_then(hex),
            num(v.get("at")),
            num(v.get("pages")),
            v.get("first").and_then(Touch::from_json),
            v.get("last").and_then(Touch::from_json),
        ) else {
            return None;
        };
        let campaign = match v.get("campaign") {
            Some(Json::String(c)) if c.len() <= 1_000 => c.clone(),
            _ => String::new(),
        };
        let list = |k: &str| match v.get(k) {
            Some(Json::Array(items)) => &items[..items.len().min(MAX_LISTED)],
            _ => &[],
        };
        let goal_ids = |k: &str| {
            let mut out = Vec::new();
            for item in list(k) {
                if let Some(g) = goal_index(goals, item) {
                    if !out.contains(&g) {
                        out.push(g);
                    }
                }
            }
            out
        };
        let mut funnels: Vec<Progress> = Vec::new();
        for item in list("funnels") {
            let Json::Array(f) = item else { continue };
            let (Some(goal), Some(next), Some(started), Some(n)) = (
                f.first().and_then(|j| goal_index(goals, j)),
                num(f.get(1)),
                num(f.get(2)),
                num(f.get(3)),
            ) else {
                continue;
            };
            let count = steps(goals, goal) as u64;
            let fresh = !funnels.iter().any(|p| p.goal == goal);
            if fresh && count > 0 && n == count && next > 0 && next < count {
                funnels.push(Progress {
                    goal,
                    next: next as usize,
                    started: Millis(started),
                });
            }
        }
        let mut visit = Visit {
            session: Session {
                id: Some(id),
                campaign,
                last: Millis(at),
                pages: pages.min(100_000) as u32,
                converted: goal_ids("goals"),
                funnels,
            },
            visitor: goal_ids("visitor"),
            keys: Vec::new(),
            touches: Some((first, last)),
        };
        for item in list("keys") {
            let Json::Array(pair) = item else { continue };
            if let (Some(k), Some(at)) = (pair.first().and_then(hex), num(pair.get(1))) {
                visit.add_key(k, Millis(at));
            }
        }
        visit.bound_keys();
        Some(visit)
    }

    /// Merges a stored visit ([`Visit::parse`]) into this one.
    ///
    /// - Before this document's first page view (`mid_page` false) the stored visit is taken
    ///   as it is; the page view then ends its session if it has been idle too long.
    /// - Mid-page (consent allowed storage after the page view; another tab wrote; the page
    ///   came back from the back-forward cache): the visitor's goals and keys are united; the
    ///   stored session continues if it is alive and this page did not start another
    ///   campaign, with the goals of both, each funnel as far as either got, and the page
    ///   counts (the same session: the larger; two sessions joined: the sum).
    ///
    /// Returns whether this visit now holds something the stored one did not (then it must be
    /// written back; otherwise writing it would only echo between tabs).
    pub fn merge(&mut self, now: Millis, stored: Visit, goals: &GoalSet, mid_page: bool) -> bool {
        union(&mut self.visitor, &stored.visitor);
        for (k, at) in &stored.keys {
            self.add_key(*k, *at);
        }
        self.bound_keys();
        if !mid_page {
            self.touches = stored.touches;
            self.session = stored.session;
            return false;
        }
        // this page's touch stays the last one unless it is direct; the first is the stored one
        if let Some((first, last)) = stored.touches.clone() {
            let last = match self.touches.take() {
                Some((_, l)) if l.channel != Channel::Direct => l,
                _ => last,
            };
            self.touches = Some((first, last));
        }
        let s = stored.session.clone();
        let alive = now.0.saturating_sub(s.last.0) <= SESSION_TIMEOUT.0;
        let ours = &mut self.session;
        let ours_alive = now.0.saturating_sub(ours.last.0) <= SESSION_TIMEOUT.0;
        if alive {
            let same = ours.id == s.id;
            if same || !ours_alive || ours.campaign.is_empty() || ours.campaign == s.campaign {
                ours.pages = if same {
                    ours.pages.max(s.pages)
                } else {
                    ours.pages.saturating_add(s.pages).min(100_000)
                };
                ours.id = s.id;
                ours.campaign = s.campaign;
                ours.last = Millis(ours.last.0.max(s.last.0));
                union(&mut ours.converted, &s.converted);
                for p in s.funnels {
                    match ours.funnels.iter_mut().find(|q| q.goal == p.goal) {
                        Some(q) if q.next >= p.next => {}
                        Some(q) => *q = p,
                        None => ours.funnels.push(p),
                    }
                }
            }
        }
        self.adds_to(&stored, goals)
    }

    /// Whether this visit holds something the rules read that `stored` lacks: then it must be
    /// written back. (Touches are not compared: they change with page views, which write the
    /// visit anyway, and two tabs on different campaigns would otherwise echo.)
    fn adds_to(&self, stored: &Visit, goals: &GoalSet) -> bool {
        let (ours, theirs) = (&self.session, &stored.session);
        let (session_goals, visitor_goals) = self.scoped(goals);
        ours.id != theirs.id
            || ours.pages > theirs.pages
            || session_goals.iter().any(|g| !theirs.converted.contains(g))
            || visitor_goals.iter().any(|g| !stored.visitor.contains(g))
            || ours.funnels.iter().any(|p| {
                p.next > 0
                    && !theirs
                        .funnels
                        .iter()
                        .any(|q| q.goal == p.goal && q.next >= p.next)
            })
            || self.keys.iter().any(|(k, _)| !stored.has_key(*k))
    }

    /// The session's goals whose `once` scope is the session, and the visitor's whose scope is
    /// the visitor: what the stored copy keeps.
    fn scoped(&self, goals: &GoalSet) -> (Vec<usize>, Vec<usize>) {
        let pick = |list: &[usize], once: Once| {
            let mut out: Vec<usize> = Vec::new();
            for &g in list {
                if goals.goals.get(g).is_some_and(|goal| goal.once == once) {
                    out.push(g);
                }
            }
            out
        };
        (
            pick(&self.session.converted, Once::Session),
            pick(&self.visitor, Once::Visitor),
        )
    }
}

/// The index of the goal a stored id names, if it is still configured.
fn goal_index(goals: &GoalSet, j: &Json) -> Option<usize> {
    let Json::String(id) = j else { return None };
    goals.goals.iter().position(|g| g.id == *id)
}

/// A funnel goal's step count (0 for any other goal).
fn steps(goals: &GoalSet, goal: usize) -> usize {
    goals
        .goals
        .get(goal)
        .and_then(|g| g.funnel.as_ref())
        .map_or(0, |f| f.steps.len())
}

/// Adds to `set` the entries of `more` it lacks.
fn union(set: &mut Vec<usize>, more: &[usize]) {
    for g in more {
        if !set.contains(g) {
            set.push(*g);
        }
    }
}

/// A JSON array of the goal ids of these indexes.
fn push_ids(o: &mut String, goals: &GoalSet, list: &[usize]) {
    o.push('[');
    for (i, g) in list.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        push_str_literal(o, &goals.goals[*g].id);
    }
    o.push(']');
}

#[cfg(test)]
mod tests;
