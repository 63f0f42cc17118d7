//! market-feed-server: the reference server of [`market_feed`].
//!
//! It wires the library's parts together and serves them exactly as `docs/protocol.md` describes: the
//! WebSocket feed (`/ws`), the REST API, health checks, Prometheus metrics and the live
//! dashboard. It owns no business logic: everything it serves comes from the library.
//!
//! - [`config`]: options, environment and config file (exit code 2 on bad input);
//! - [`app`]: building the parts from the configuration and the shutdown order;
//! - [`start_error`]: why the server could not start (exit codes 1 and 2);
//! - [`calendar_refresh`]: the broker's holiday list and the calendar's coverage warnings;
//! - [`check`]: `market-feed-server check`, a configuration checked without serving;
//! - [`server`]: the hyper accept loop and graceful shutdown;
//! - [`http`]: routing, JSON responses, CORS;
//! - [`head_guard`]: JSON bodies for the 414/431 answers hyper sends by itself;
//! - [`route`]: resolving a path into the route it serves (and whether it is guarded);
//! - [`api`]: the REST handlers;
//! - [`closing_cache`]: stored closes served from memory;
//! - [`ws`]: the WebSocket endpoint (protocol, flood control, slow consumers, heartbeats);
//! - [`access`]: client tokens and origins;
//! - [`metrics`]: the Prometheus exposition;
//! - [`dashboard`]: the built-in page;
//! - [`state`]: what the handlers share.
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod app;
pub mod calendar_refresh;
pub mod check;
pub mod closing_cache;
pub mod config;
pub mod dashboard;
pub mod head_guard;
pub mod http;
pub mod metrics;
pub mod route;
pub mod server;
pub mod start_error;
pub mod state;
pub mod ws;
