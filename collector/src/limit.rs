//! Abuse limits on intake: a token bucket per client on `/collect` (and sign-in), and the
//! client address the limits and the loopback rule use.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The client address of a request, as the router's middleware records it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The peer's address, or the last address of `header` (set by a proxy in front of the
    /// collector; `--client-ip-header`) when configured and present. Without a peer address
    /// (a server that records none), `0.0.0.0`: never loopback.
    pub fn of(peer: Option<SocketAddr>, header: Option<&str>, headers: &HeaderMap) -> ClientIp {
        let forwarded = header.and_then(|h| {
            headers
                .get(h)?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        });
        ClientIp(
            forwarded
                .or(peer.map(|p| p.ip()))
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
        )
    }
}

/// The bucket a client draws from: its IPv4 address, or its IPv6 /64 (one client's network).
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Per-client token buckets: `per_second` requests on average, bursts of `burst`.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl RateLimit {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> RateLimit {
        RateLimit {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` if the client may send now, else how long until it may.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        // forget idle clients now and then, so the table stays as large as the active set
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&bucket(client))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_with_a_wait_and_clients_apart() {
        let rl = RateLimit::new(NonZeroU32::new(1).unwrap(), NonZeroU32::new(3).unwrap());
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert!(rl.check(a).is_ok());
        }
        let wait = rl.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            rl.check("203.0.113.8".parse().unwrap()).is_ok(),
            "another client"
        );
        // one IPv6 /64 is one client
        let b1: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b2: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..3 {
            assert!(rl.check(b1).is_ok());
        }
        assert!(rl.check(b2).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn the_forwarded_address_is_used_only_when_configured() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.9".parse().unwrap(),
        );
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        assert_eq!(ClientIp::of(peer, None, &h).0.to_string(), "127.0.0.1");
        assert_eq!(
            ClientIp::of(peer, Some("x-forwarded-for"), &h)
                .0
                .to_string(),
            "203.0.113.9",
            "the address the proxy itself saw"
        );
        assert_eq!(ClientIp::of(None, None, &h).0.to_string(), "0.0.0.0");
    }
}
