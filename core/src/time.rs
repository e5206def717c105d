//! Time as an input: the core never reads a clock.

/// Milliseconds since the Unix epoch (the browser's `Date.now()`), or a duration in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + d`, saturating.
    pub fn plus(self, d: Millis) -> Millis {
        Millis(self.0.saturating_add(d.0))
    }
}
