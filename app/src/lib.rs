//! # Phase-1 app
//!
//! Everything around the engine that touches the world: configuration read once from the
//! environment ([`config`]), the one clock ([`clock`]), and the stores ([`store`]) — MongoDB
//! and Redis in production, an embedded single-file store on a laptop. The HTTP application
//! joins in a later issue.

#![deny(missing_docs)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod http;
pub mod limits;
pub mod logging;
pub mod serve;
pub mod service;
pub mod store;
