//! The production layer over HTTP (issue 6), on the backend of this run (SQLite or PostgreSQL):
//! request ids and the access log, security headers, CORS, rate limits (in process and over a
//! real socket, where the client address and trusted proxies matter), request timeouts, caught
//! panics, and a hostile-input battery that must only ever get 4xx JSON answers and must leave
//! the database as it was.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test: failures should panic.

mod capture;
mod common;
mod cors;
mod hostile_input;
mod rate_limits;
mod request_ids;
mod security_headers;
mod timeouts;
