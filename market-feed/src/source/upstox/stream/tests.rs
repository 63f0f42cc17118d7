//! Tests of the Upstox stream client against the fake feed.
