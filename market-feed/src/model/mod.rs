//! The data model shared by every part: instrument keys, topics and quotes.
//!
//! These types are the wire contract of docs/protocol.md §1 in Rust form: a [`Quote`] serializes to
//! exactly the JSON object clients receive, so the hub can serialize a batch once and send the
//! same bytes to everybody.

mod key;
mod message;
mod quote;
mod topic;

pub use key::{InstrumentKey, KeyError};
pub use message::ServerMessage;
pub use quote::{Quote, round2};
pub use topic::{Topic, TopicError};
