//! Hangar's domain: no HTTP, no SQL.

pub mod csv;
