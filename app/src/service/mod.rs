//! Services: the work behind the handlers, callable from HTTP, cron and the worker alike.

pub mod audit;
pub mod fixtures;
pub mod flags;
pub mod runs;
pub mod sessions;
pub mod shards;
pub mod users;
pub mod worker;
