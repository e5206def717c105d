//! Unique ids for events and batches, from a seeded generator (the shell seeds it from
//! `crypto.getRandomValues`; tests seed it with a constant).

use crate::prelude::*;
pub use goalpost_protocol::EventId;

/// The id of a conversion counted once per key (`"once": {"per": …}`): the same for the
/// same site, goal and key wherever and whenever it is computed (a reload, another tab,
/// another device, a retry), so the collector's exactly-once storage keeps the first and
/// drops every repeat. SipHash-2-4 with 128-bit output over `site \0 goal \0 key`
/// (site and goal ids cannot contain a NUL, so the three parts cannot be confused).
///
/// The hash key is a constant: it separates this use from any other, it is no secret.
/// Anyone can compute an id, as anyone can send any id to a collector; what it adds is
/// that two different keys never share an id by accident (2⁻¹²⁸ per pair), and that the
/// key itself (an order number) cannot be read back from the id.
pub fn derive_id(site: &str, goal: &str, key: &str) -> EventId {
    let mut message = Vec::with_capacity(site.len() + goal.len() + key.len() + 2);
    for (i, part) in [site, goal, key].iter().enumerate() {
        if i > 0 {
            message.push(0);
        }
        message.extend_from_slice(part.as_bytes());
    }
    let (h1, h2) = siphash_128(DERIVE_KEY, &message);
    EventId(h1, h2)
}

/// The SipHash key of [`derive_id`]: "goalpost" and "once-v1", little-endian.
const DERIVE_KEY: (u64, u64) = (
    u64::from_le_bytes(*b"goalpost"),
    u64::from_le_bytes(*b"once-v1\0"),
);

/// SipHash-2-4 with a 128-bit output (Aumasson and Bernstein, "SipHash: a fast short-input
/// PRF", the 128-bit variant of the reference implementation): the two 64-bit halves.
fn siphash_128((k0, k1): (u64, u64), message: &[u8]) -> (u64, u64) {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut words = message.chunks_exact(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        compress(&mut v, u64::from_le_bytes(w), 2);
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = message.len() as u8;
    compress(&mut v, u64::from_le_bytes(last), 2);
    v[2] ^= 0xee;
    sip_rounds(&mut v, 4);
    let h1 = v[0] ^ v[1] ^ v[2] ^ v[3];
    v[1] ^= 0xdd;
    sip_rounds(&mut v, 4);
    (h1, v[0] ^ v[1] ^ v[2] ^ v[3])
}

fn compress(v: &mut [u64; 4], m: u64, rounds: usize) {
    v[3] ^= m;
    sip_rounds(v, rounds);
    v[0] ^= m;
}

fn sip_rounds(v: &mut [u64; 4], rounds: usize) {
    for _ in 0..rounds {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
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

    /// The first vectors of the SipHash reference implementation's `vectors_sip128` (key
    /// 00 01 … 0f, message 00 01 … n-1), as the two little-endian halves.
    #[test]
    fn siphash_128_matches_the_reference_vectors() {
        let key = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let message: Vec<u8> = (0..64).collect();
        let reference = siphasher::sip128::SipHasher24::new_with_keys(key.0, key.1);
        for n in 0..64 {
            use siphasher::sip128::Hasher128;
            let mut h = reference;
            std::hash::Hasher::write(&mut h, &message[..n]);
            let want = h.finish128();
            assert_eq!(
                siphash_128(key, &message[..n]),
                (want.h1, want.h2),
                "length {n}"
            );
        }
        // the published first vector, independently of the crate
        let empty = siphash_128(key, &[]);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&empty.0.to_le_bytes());
        bytes[8..].copy_from_slice(&empty.1.to_le_bytes());
        assert_eq!(
            bytes,
            [
                0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55,
                0x02, 0x93
            ]
        );
    }

    #[test]
    fn derived_ids_are_stable_per_site_goal_and_key_and_differ_otherwise() {
        let a = derive_id("shop", "purchase", "A-1001");
        assert_eq!(a, derive_id("shop", "purchase", "A-1001"));
        for other in [
            derive_id("shop", "purchase", "A-1002"),
            derive_id("shop2", "purchase", "A-1001"),
            derive_id("shop", "lead", "A-1001"),
            // the separator keeps the parts apart
            derive_id("shop", "purchaseA", "-1001"),
            derive_id("shop", "purchase", "A-1001 "),
        ] {
            assert_ne!(a, other);
        }
        let ids: HashSet<EventId> = (0..10_000)
            .map(|i| derive_id("shop", "purchase", &i.to_string()))
            .collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn different_seeds_give_different_streams() {
        assert_ne!(Rng::new(&[1]).next_u64(), Rng::new(&[2]).next_u64());
        assert_eq!(Rng::new(&[7, 7]).next_u64(), Rng::new(&[7, 7]).next_u64());
    }
}
