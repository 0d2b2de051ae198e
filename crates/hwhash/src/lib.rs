//! The Windows Autopilot hardware hash ("4K hardware hash"): decode, validate, build and collect.
//!
//! A hash is 3000 bytes (4000 base64 characters): `"OA"`, the length of the records, typed records,
//! a `CS` trailer with the SHA-256 of everything before it, and zero padding. [`decode`] turns the
//! text into a [`HardwareHash`] that keeps every byte, so [`HardwareHash::to_bytes`] gives the
//! original back exactly; [`validate`] says what is wrong with a hash in words a person can act on;
//! [`Builder`] makes valid synthetic hashes; [`collect`] reads this Linux machine's.
//!
//! This crate knows nothing of Hangar.

mod decode;
mod encode;
mod enums;
mod identity;
pub mod json;
mod model;
mod validate;

pub use decode::{
    base64_to_bytes, decode, decode_bytes, inspect, inspect_bytes, DecodeError, Inspection,
};
pub use encode::{Builder, EncodeError};
pub use enums::*;
pub use identity::{DeviceTuple, IdentityKeys};
pub use json::Report;
pub use model::*;
/// Re-exported so callers of [`validate_at`] need not depend on `time` themselves.
pub use time::OffsetDateTime;
pub use validate::{check, validate, validate_at, validate_bytes_at, Finding, Level, Validation};

#[cfg(target_os = "linux")]
pub mod collect;
