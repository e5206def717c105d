//! Unique ids for events and batches, from a seeded generator (the shell seeds it from
//! `crypto.getRandomValues`; tests seed it with a constant).

use crate::prelude::*;
/// 128 random bits, written as 32 lowercase hex digits. Unique per event: the collector
/// de-duplicates on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId(pub u64, pub u64);

impl EventId {
    /// Appends the 32 hex digits.
    pub fn push_hex(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for word in [self.0, self.1] {
            for shift in (0..16).rev() {
                out.push(HEX[((word >> (shift * 4)) & 15) as usize] as char);
            }
        }
    }

    /// An id back from its 32 hex digits.
    pub fn from_hex(s: &str) -> Option<EventId> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = |r: &str| u64::from_str_radix(r, 16).ok();
        Some(EventId(n(s.get(..16)?)?, n(s.get(16..)?)?))
    }

    /// The 32 hex digits.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(32);
        self.push_hex(&mut s);
        s
    }
}

/// SplitMix64: tiny, fast, and good enough for ids once seeded with real entropy.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from seed words.
    pub fn new(seed: &[u32]) -> Rng {
        let mut s = 0x853c_49e6_748f_ea9b_u64;
        for w in seed {
            s = (s ^ u64::from(*w))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        Rng(s)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fresh event id.
    pub fn event_id(&mut self) -> EventId {
        EventId(self.next_u64(), self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let mut rng = Rng::new(&[1, 2, 3, 4]);
        let ids: HashSet<String> = (0..10_000).map(|_| rng.event_id().hex()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids
            .iter()
            .all(|i| i.len() == 32 && i.bytes().all(|b| b.is_ascii_hexdigit())));
        assert_eq!(EventId(0xab, 1).hex(), "00000000000000ab0000000000000001");
        let id = rng.event_id();
        assert_eq!(EventId::from_hex(&id.hex()), Some(id));
        assert_eq!(EventId::from_hex("abc"), None);
        assert_eq!(EventId::from_hex(&"g".repeat(32)), None);
    }

    #[test]
    fn different_seeds_give_different_streams() {
        assert_ne!(Rng::new(&[1]).next_u64(), Rng::new(&[2]).next_u64());
        assert_eq!(Rng::new(&[7, 7]).next_u64(), Rng::new(&[7, 7]).next_u64());
    }
}
