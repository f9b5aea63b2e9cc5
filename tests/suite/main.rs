//! The integration tests, one binary with a module per topic (one link instead of one per file).
//!
//! `common` holds the shared helpers: an in-process server, the built binary run as a child, and
//! readers with timeouts. Each other module tests one topic end to end.

mod common;

mod bench;
mod cli;
mod connect;
#[cfg(unix)]
mod connect_tty;
mod demo;
mod docs;
mod faults;
mod first_use;
mod limits;
mod plain;
mod plain_paths;
mod recipes;
mod schedule_paused;
mod server_tcp;
mod timeline;
mod tls;
mod trace;
mod udp;
mod unix;
