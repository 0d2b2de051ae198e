//! Hangar's domain: no HTTP, no SQL.

pub mod authz;
pub mod credentials;
pub mod csv;
pub mod error;
pub mod model;
pub mod service;
pub mod store;

pub use error::{CoreError, CoreResult, ZtdError};
