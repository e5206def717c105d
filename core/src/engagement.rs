//! Engaged time: how long a page view was visible and focused, and when a goal's threshold is
//! passed. The shell reports each change of state with the time; this books the time and says
//! which threshold was passed and when to look again. Times are milliseconds (`Date.now()`,
//! fractional allowed); thresholds are the goals' seconds.

use crate::prelude::*;

/// Engaged time of the current page view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Engagement {
    /// The goals' thresholds, in ms, ascending.
    marks: Vec<f64>,
    /// Engaged before `since`.
    total: f64,
    /// When the current engaged stretch began (engaged now).
    since: Option<f64>,
}

/// What a change of state asks of the shell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngagementStep {
    /// A threshold was passed: the engaged seconds so far (an `Engaged` interaction).
    pub reached: Option<f64>,
    /// Engaged, with a threshold still ahead: call [`Engagement::changed`] again in this many ms.
    pub wake_in: Option<f64>,
}

impl Engagement {
    /// Engaged time watched for these thresholds (seconds, any order).
    pub fn new(seconds: &[f64]) -> Engagement {
        let mut marks: Vec<f64> = Vec::new();
        for s in seconds {
            marks.push(s * 1000.0);
        }
        crate::goals::sort_by(&mut marks, |a, b| a < b);
        Engagement {
            marks,
            total: 0.0,
            since: None,
        }
    }

    /// Whether any goal counts engaged time (otherwise the shell listens for nothing).
    pub fn watched(&self) -> bool {
        !self.marks.is_empty()
    }

    /// The state at `now`: `engaged` (visible and focused) from now on. Books the time since
    /// the last change (a clock that went back books nothing).
    pub fn changed(&mut self, now: f64, engaged: bool) -> EngagementStep {
        let before = self.total;
        let total = before + self.since.map_or(0.0, |t| (now - t).max(0.0));
        self.total = total;
        self.since = engaged.then_some(now);
        let reached = self
            .marks
            .iter()
            .any(|m| total >= *m && before < *m)
            .then_some(total / 1000.0);
        let next = self.marks.iter().find(|m| **m > total);
        EngagementStep {
            reached,
            wake_in: next.filter(|_| engaged).map(|m| m - total),
        }
    }

    /// A new page view: engaged time counts from nothing again (a stretch under way goes on
    /// from `now`).
    pub fn new_page(&mut self, now: f64) {
        self.total = 0.0;
        if self.since.is_some() {
            self.since = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_counts_only_while_engaged_and_each_threshold_once() {
        let mut e = Engagement::new(&[30.0, 10.0]);
        let step = e.changed(1_000.0, true);
        assert_eq!((step.reached, step.wake_in), (None, Some(10_000.0)));
        // hidden after 4 s: 4 s booked, no timer while hidden
        let step = e.changed(5_000.0, false);
        assert_eq!((step.reached, step.wake_in), (None, None));
        // a minute hidden counts nothing
        let step = e.changed(65_000.0, true);
        assert_eq!(step.wake_in, Some(6_000.0), "10 s less the 4 s booked");
        // the timer comes: 10 s reached, the next mark 20 s on
        let step = e.changed(71_000.0, true);
        assert_eq!(step.reached, Some(10.0));
        assert_eq!(step.wake_in, Some(20_000.0));
        // an extra call does not report it again
        assert_eq!(e.changed(71_500.0, true).reached, None);
        let step = e.changed(91_000.0, true);
        assert_eq!(step.reached, Some(30.0));
        assert_eq!(step.wake_in, None, "no threshold left");
    }

    #[test]
    fn a_new_page_view_starts_from_nothing_and_a_clock_going_back_books_nothing() {
        let mut e = Engagement::new(&[5.0]);
        e.changed(0.0, true);
        assert_eq!(e.changed(4_000.0, true).wake_in, Some(1_000.0));
        e.new_page(4_000.0);
        assert_eq!(
            e.changed(6_000.0, true).wake_in,
            Some(3_000.0),
            "2 s on the new page"
        );
        assert_eq!(
            e.changed(1_000.0, true).reached,
            None,
            "the clock went back"
        );
        assert!(Engagement::new(&[]).changed(1.0, true).wake_in.is_none());
        assert!(!Engagement::new(&[]).watched());
    }
}
