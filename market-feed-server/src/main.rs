//! market-feed-server: the reference server.

fn main() {}
