//! Delivery policies, each a named type with documented defaults.

use crate::time::Millis;

/// When queued events are sent.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchPolicy {
    /// Send once this many events are queued. Default 20: one request per 20 interactions
    /// keeps request counts at a tenth of one-request-per-event trackers at most. It says when
    /// a batch is due (sent on the next `Tick`, after the task that queued the event), not how
    /// large a request is: a fetch takes what is queued up to `max_bytes`, so events that piled
    /// up while a send was out go in one request. A page-hide beacon carries at most this many.
    pub max_events: usize,
    /// Send at most this long after the first queued event. Default 2,000 ms: short enough
    /// that a report sees a conversion within seconds, long enough to batch a burst.
    pub max_delay: Millis,
    /// The largest body, in bytes. Default 16 KiB: a quarter of the 64 KiB that Chromium
    /// shares among all in-flight keepalive fetches and beacons of a page.
    pub max_bytes: usize,
    /// Send a macro conversion (purchase, lead) at once instead of waiting. Default true.
    pub macro_now: bool,
    /// The most unsent events kept in storage; the oldest are dropped (and counted) first.
    /// Default 1,000.
    pub max_stored: usize,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        BatchPolicy {
            max_events: 20,
            max_delay: Millis(2_000),
            max_bytes: 16 * 1024,
            macro_now: true,
            max_stored: 1_000,
        }
    }
}

/// How failed sends are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// The first delay. Default 1,000 ms.
    pub base: Millis,
    /// The longest delay. Default 60,000 ms: a collector that is down is asked once a minute.
    pub cap: Millis,
    /// Failed attempts after which a batch is given up and counted as dropped. Default 10
    /// (about 6 minutes of trying). Attempts while the browser is offline do not count.
    pub max_attempts: u32,
    /// The longest `Retry-After` honoured. Default 600,000 ms: a collector asking for more is
    /// asked again after 10 minutes.
    pub retry_after_cap: Millis,
    /// How long a fetch may take before it is aborted and counted as a network error.
    /// Default 15,000 ms. The collector may have stored a batch whose answer timed out; the
    /// retry carries the same ids and is de-duplicated.
    pub timeout: Millis,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Millis(1_000),
            cap: Millis(60_000),
            max_attempts: 10,
            retry_after_cap: Millis(600_000),
            timeout: Millis(15_000),
        }
    }
}

/// What the answer to a send means for its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Stored (2xx), or handed to the browser's beacon queue.
    Delivered,
    /// Worth trying again later: network error, 408, 429, 5xx, a refused beacon.
    Retry,
    /// Refused for good (other 4xx): dropped and counted.
    Drop,
}

/// The result of one send, as the shell saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    /// The collector answered with this HTTP status.
    Http(u16),
    /// No answer: offline, refused, reset, timed out.
    NetworkError,
    /// `navigator.sendBeacon` returned this.
    Beacon(bool),
    /// 429 or 503 with a `Retry-After` (converted to milliseconds by the shell).
    Throttled {
        /// The HTTP status.
        status: u16,
        /// How long the collector asked to wait.
        retry_after: Millis,
    },
}

impl RetryPolicy {
    /// What a status means.
    pub fn verdict(&self, status: SendStatus) -> Verdict {
        match status {
            SendStatus::Http(200..=299) | SendStatus::Beacon(true) => Verdict::Delivered,
            SendStatus::Http(408 | 429) | SendStatus::Http(500..=599) => Verdict::Retry,
            SendStatus::NetworkError | SendStatus::Beacon(false) | SendStatus::Throttled { .. } => {
                Verdict::Retry
            }
            SendStatus::Http(_) => Verdict::Drop,
        }
    }

    /// The wait after a failure: the backoff, or the collector's `Retry-After` (capped) when it
    /// is longer.
    pub fn wait(&self, attempt: u32, random: u64, status: SendStatus) -> Millis {
        let backoff = self.delay(attempt, random);
        match status {
            SendStatus::Throttled { retry_after, .. } => {
                backoff.max(retry_after.min(self.retry_after_cap))
            }
            _ => backoff,
        }
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failures, 1-based): exponential
    /// from `base`, capped, then scaled by a jitter of 50–100 % from `random`.
    pub fn delay(&self, attempt: u32, random: u64) -> Millis {
        let exp = self
            .base
            .0
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        let d = exp.min(self.cap.0);
        Millis(d / 2 + (random % (d / 2 + 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let p = RetryPolicy::default();
        let cases = [
            (SendStatus::Http(200), Verdict::Delivered),
            (SendStatus::Http(204), Verdict::Delivered),
            (SendStatus::Beacon(true), Verdict::Delivered),
            (SendStatus::Http(408), Verdict::Retry),
            (SendStatus::Http(429), Verdict::Retry),
            (SendStatus::Http(500), Verdict::Retry),
            (SendStatus::Http(503), Verdict::Retry),
            (SendStatus::NetworkError, Verdict::Retry),
            (SendStatus::Beacon(false), Verdict::Retry),
            (SendStatus::Http(400), Verdict::Drop),
            (SendStatus::Http(413), Verdict::Drop),
            (SendStatus::Http(302), Verdict::Drop),
        ];
        for (s, v) in cases {
            assert_eq!(p.verdict(s), v, "{s:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let p = RetryPolicy::default();
        let throttled = |ms| SendStatus::Throttled {
            status: 429,
            retry_after: Millis(ms),
        };
        assert_eq!(p.wait(1, 0, throttled(30_000)), Millis(30_000));
        assert_eq!(p.wait(1, 0, throttled(5_000_000)), Millis(600_000));
        assert_eq!(
            p.wait(1, 0, throttled(10)),
            Millis(500),
            "never sooner than the backoff"
        );
        assert_eq!(p.verdict(throttled(1)), Verdict::Retry);
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        let p = RetryPolicy::default();
        for attempt in 1..=12 {
            let full = (1000u64 << (attempt - 1)).min(60_000);
            for r in [0, 1, 499, 12345, u64::MAX] {
                let d = p.delay(attempt, r).0;
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d} not in {full}/2..={full}"
                );
            }
        }
        assert_eq!(p.delay(1, 0), Millis(500));
        assert!(p.delay(40, u64::MAX).0 <= 60_000);
    }
}
