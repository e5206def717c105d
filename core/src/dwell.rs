//! `visible` goals' time in view: an element counts for a watch once it has been in view (at
//! the watch's ratio) for the watch's time without interruption. The shell reports each
//! intersection change with the time and performs the timer; this keeps what is waiting and
//! says what is due. Generic over the shell's element handle (a DOM element; a number in tests).

use crate::goals::Watch;
use crate::prelude::*;

/// Elements in view for a watch, waiting for their time.
#[derive(Clone, Debug)]
pub struct Dwell<E> {
    /// (element, watch, when its time is up, ms)
    pending: Vec<(E, u32, f64)>,
}

impl<E> Default for Dwell<E> {
    fn default() -> Self {
        Dwell {
            pending: Vec::new(),
        }
    }
}

/// Whether an intersection counts as in view for `watch`: intersecting, at its ratio or more
/// (a hair of tolerance: browsers report 0.4999… for a half-visible element).
pub fn in_view(watch: &Watch, intersecting: bool, ratio: f64) -> bool {
    intersecting && ratio + 1e-6 >= watch.ratio
}

impl<E: PartialEq> Dwell<E> {
    /// `el`'s intersection for `watch` changed at `now`: in view (and not yet counted) it waits
    /// `ms`; out of view it stops waiting (the time starts over when it comes back).
    pub fn changed(&mut self, el: E, watch: u32, in_view: bool, now: f64, ms: f64) {
        self.pending.retain(|(p, w, _)| !(*w == watch && *p == el));
        if in_view {
            self.pending.push((el, watch, now + ms));
        }
    }

    /// The elements whose time is up at `now` (no longer waiting), and how long until the
    /// next one's, if any waits.
    pub fn due(&mut self, now: f64) -> (Vec<(E, u32)>, Option<f64>) {
        let mut due = Vec::new();
        let mut keep = Vec::new();
        for (e, w, t) in self.pending.drain(..) {
            if t > now {
                keep.push((e, w, t));
            } else {
                due.push((e, w));
            }
        }
        self.pending = keep;
        let next = self
            .pending
            .iter()
            .map(|(_, _, t)| *t)
            .fold(f64::INFINITY, f64::min);
        (due, next.is_finite().then_some(next - now))
    }

    /// Nothing waits any more (a new page view, or the shutdown).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Millis;

    #[test]
    fn an_element_counts_after_its_time_in_view_without_interruption() {
        let mut d: Dwell<u32> = Dwell::default();
        d.changed(7, 0, true, 1_000.0, 300.0);
        d.changed(8, 1, true, 1_100.0, 5_000.0);
        assert_eq!(d.due(1_200.0), (vec![], Some(100.0)), "the earliest first");
        // 7 leaves view before its time: it starts over when it comes back
        d.changed(7, 0, false, 1_250.0, 300.0);
        assert_eq!(d.due(1_300.0), (vec![], Some(4_800.0)));
        d.changed(7, 0, true, 2_000.0, 300.0);
        assert_eq!(d.due(2_299.0).0, vec![]);
        assert_eq!(d.due(2_300.0), (vec![(7, 0)], Some(3_800.0)));
        assert_eq!(d.due(2_301.0).0, vec![], "reported once");
        assert_eq!(d.due(6_100.0), (vec![(8, 1)], None));
        // the same element for two watches waits for each
        d.changed(9, 0, true, 0.0, 0.0);
        d.changed(9, 1, true, 0.0, 10.0);
        assert_eq!(d.due(0.0).0, vec![(9, 0)]);
        d.clear();
        assert_eq!(d.due(100.0), (vec![], None));
    }

    #[test]
    fn in_view_means_intersecting_at_the_watch_ratio() {
        let w = Watch {
            selector: "#x".into(),
            ratio: 0.5,
            ms: Millis(0),
        };
        assert!(in_view(&w, true, 0.5));
        assert!(in_view(&w, true, 0.499_999_9), "rounding in the browser");
        assert!(!in_view(&w, true, 0.4));
        assert!(!in_view(&w, false, 1.0));
    }
}
