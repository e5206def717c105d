//! Event ids and time, as the protocol carries them.

use alloc::string::String;

/// 128 bits, written as 32 lowercase hex digits. Unique per event (random, or derived from a key
/// for a conversion counted once per key): collectors de-duplicate on it.
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

/// Milliseconds since the Unix epoch (the browser's `Date.now()`), or a duration in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + d`, saturating.
    pub fn plus(self, d: Millis) -> Millis {
        Millis(self.0.saturating_add(d.0))
    }
}
