//! Goals compiled for matching: each trigger has its own index, so an input is only
//! compared with the goals that can match it.

use crate::error::{join_index, join_key, ConfigError, ErrorKind};

/// Macro conversions are the business outcomes (purchase, lead, paid sign-up); micro
/// conversions the steps towards them (add to cart, newsletter). Default: micro.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// What makes a goal fire.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// A click on an element matching the CSS selector, or inside one.
    Click {
        /// Matched by the browser (`Element.closest`).
        selector: String,
    },
    /// Page code called `track(event)`.
    Custom {
        /// The event name; defaults to the goal id.
        event: String,
    },
}

/// One goal.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// Unique id, sent with its conversions.
    pub id: String,
    /// A human label for reports.
    pub label: Option<String>,
    /// Macro or micro.
    pub kind: GoalKind,
    /// What fires it.
    pub trigger: Trigger,
    /// Its position in the config's `goals` array (for error paths).
    pub index: usize,
}

/// The compiled goals.
#[derive(Clone, Debug, Default)]
pub struct GoalSet {
    goals: Vec<Goal>,
    /// Distinct click selectors; the shell tests each against a clicked element.
    selectors: Vec<String>,
    /// For each selector, the goals that use it.
    by_selector: Vec<Vec<usize>>,
    /// Custom event names with their goal, sorted by name.
    custom: Vec<(String, usize)>,
}

impl GoalSet {
    /// Compiles goals into their indexes.
    pub fn new(goals: Vec<Goal>) -> GoalSet {
        let mut set = GoalSet {
            goals,
            ..GoalSet::default()
        };
        for (gi, goal) in set.goals.iter().enumerate() {
            match &goal.trigger {
                Trigger::Click { selector } => {
                    match set.selectors.iter().position(|s| s == selector) {
                        Some(si) => set.by_selector[si].push(gi),
                        None => {
                            set.selectors.push(selector.clone());
                            set.by_selector.push(vec![gi]);
                        }
                    }
                }
                Trigger::Custom { event } => set.custom.push((event.clone(), gi)),
            }
        }
        set.custom.sort_by(|a, b| a.0.cmp(&b.0));
        set
    }

    /// All goals, in config order.
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    /// The distinct click selectors, indexed as [`GoalSet::on_click`] expects.
    pub fn selectors(&self) -> &[String] {
        &self.selectors
    }

    /// The goals fired by a click whose target is inside elements matching the selectors
    /// at `hits` (indexes into [`GoalSet::selectors`]).
    pub fn on_click<'a>(&'a self, hits: &'a [u32]) -> impl Iterator<Item = &'a Goal> + 'a {
        hits.iter()
            .filter_map(|h| self.by_selector.get(*h as usize))
            .flatten()
            .map(|gi| &self.goals[*gi])
    }

    /// The goals fired by the custom event `name`.
    pub fn on_custom<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Goal> + 'a {
        let start = self.custom.partition_point(|(n, _)| n.as_str() < name);
        let end = start + self.custom[start..].partition_point(|(n, _)| n.as_str() == name);
        self.custom[start..end]
            .iter()
            .map(|(_, gi)| &self.goals[*gi])
    }

    /// Disables every goal that uses the selector at `index`, which the browser rejected
    /// as invalid CSS, and returns one error per goal.
    pub fn reject_selector(&mut self, index: usize) -> Vec<ConfigError> {
        let Some(goals) = self.by_selector.get_mut(index) else {
            return Vec::new();
        };
        let disabled = std::mem::take(goals);
        disabled
            .into_iter()
            .map(|gi| {
                let path = join_key(
                    &join_key(&join_index("goals", self.goals[gi].index), "match"),
                    "selector",
                );
                ConfigError::new(&path, ErrorKind::Invalid("is not a valid CSS selector"))
            })
            .collect()
    }
}
