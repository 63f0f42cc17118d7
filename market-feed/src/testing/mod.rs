//! Test support for users of the library and for its own tests (cargo feature `testing`).
//!
//! - [`FakeUpstox`]: a real HTTP server on `127.0.0.1` that answers the Upstox market-quote
//!   endpoints in their documented formats, with scripted failures and a record of every
//!   request, for testing anything built on
//!   [`UpstoxSource`](crate::source::upstox::UpstoxSource) without an Upstox account; it also
//!   serves the market-holiday list (`/v2/market/holidays`, [`FakeUpstox::set_holidays`]).
//!   It also serves the daily instrument file (`NSE.json.gz`), settable per test ([`FileReply`]).
//! - [`CountingStore`]: a memory store that counts its closing-price reads.
//! - `MockPriceSource` (in [`crate::source`]): a `mockall` double of
//!   [`PriceSource`](crate::source::PriceSource).

mod counting_store;
mod fake_upstox;

pub use counting_store::CountingStore;

pub use fake_upstox::{
    FakeFeed, FakeInstrument, FakeReply, FakeUpstox, FeedSubscription, FileReply, FileRequest,
    HolidayReply, RecordedRequest, UnknownKeys, holiday_closed, special_session,
};
