//! Services: the work behind the handlers, callable from HTTP, cron and the worker alike.

pub mod audit;
pub mod canary;
pub mod documents;
pub mod events;
pub mod fixtures;
pub mod flags;
pub mod metrics;
pub mod notifications;
pub mod report;
pub mod runs;
pub mod sessions;
pub mod shards;
pub mod synthetic;
pub mod users;
pub mod worker;
