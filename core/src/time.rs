//! Time as an input: the core never reads a clock. [`Millis`] is the protocol's.

pub use goalpost_protocol::Millis;
