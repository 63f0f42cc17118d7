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
//! - [`server`]: the reference binary's accept loop (connection limits, header timeout,
//!   graceful shutdown) around the router;
//! - [`head_guard`]: JSON bodies for the 400/414/431 answers hyper sends by itself;
//! - [`mod@router`]: the route table, access on the matched route, and [`router::router`], the
//!   whole service as an axum router an application can mount;
//! - [`path`]: canonical request paths and query parameters;
//! - [`request_limits`]: the JSON 414/431 of oversized request heads;
//! - [`api`]: the REST handlers;
//! - [`error`]: [`error::ApiError`], the one JSON error shape;
//! - [`reply`]: JSON and static responses;
//! - [`closing_cache`]: stored closes served from memory;
//! - [`ws`]: the WebSocket endpoint (protocol, flood control, slow consumers, heartbeats);
//! - [`socketio`]: the Socket.IO endpoint `/socket.io/` (Engine.IO long-polling and WebSocket);
//! - [`access`]: client tokens, origins and CORS;
//! - [`metrics`]: the Prometheus exposition;
//! - [`dashboard`]: the built-in page;
//! - [`settings`] and [`stats`]: connection limits and counters;
//! - [`state`]: what the handlers share.
//!
//! Modules depend downwards only: `server` → `router` → handlers (`api`, `socketio` → `ws`,
//! `metrics`, `dashboard`) → `state` → `access`, `settings`, `stats`, `closing_cache`; `error` and
//! `reply` sit below every handler.
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod app;
pub mod calendar_refresh;
pub mod check;
pub mod closing_cache;
mod cluster;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod head_guard;
pub mod metrics;
pub mod path;
pub mod reply;
pub mod request_limits;
pub mod router;
pub mod server;
pub mod settings;
pub mod socketio;
pub mod start_error;
pub mod state;
pub mod stats;
pub mod ws;

pub use router::router;
