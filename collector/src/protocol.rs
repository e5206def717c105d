//! Beacon protocol v1 as the collector reads it: the `goalpost-protocol` crate's wire types
//! and validator (the tracker writes with the same crate's encoder), re-exported here.

pub use goalpost_protocol::wire::*;
pub use goalpost_protocol::{
    valid_name as valid_site, Channel, ConsentStamp, EventType, GoalKind,
    MAX_BATCH_EVENTS as MAX_EVENTS, MAX_BODY,
};
