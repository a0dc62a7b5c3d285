//! # Phase-1 app
//!
//! Everything around the engine that touches the world: configuration read once from the
//! environment ([`config`]), the one clock ([`clock`]), the stores ([`store`]) — MongoDB
//! and Redis in production, an embedded single-file store on a laptop — the sign-in
//! primitives ([`auth`]), rate-limit classes ([`limits`]), JSON logs ([`logging`]), the HTTP
//! application ([`http`]) and the services behind it ([`service`]), and the self-inflicted
//! waits a request's latency is judged without ([`waits`]).

#![deny(missing_docs)]

pub mod auth;
pub mod canary;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod flags;
pub mod http;
pub mod limits;
pub mod logging;
pub mod serve;
pub mod service;
pub mod store;
pub mod waits;
