//! market-feed-server: the reference server of [`market_feed`].
//!
//! It wires the library's parts together and serves them: the market status over REST today,
//! and (as the project grows) the WebSocket feed, the REST API, metrics and the dashboard of
//! PROTOCOL.md. It owns no business logic: everything it serves comes from the library.
//!
//! - [`config`]: command-line options and their validation (exit code 2 on bad input);
//! - [`state`]: the state shared by all handlers;
//! - [`http`]: routing and JSON responses;
//! - [`dashboard`]: the built-in live dashboard page, embedded at compile time;
//! - [`server`]: the hyper accept loop and graceful shutdown.
#![warn(missing_docs)]

pub mod config;
pub mod dashboard;
pub mod http;
pub mod server;
pub mod state;
