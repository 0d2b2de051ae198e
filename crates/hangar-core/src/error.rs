//! Errors of the registry's use-cases. Device errors carry the Ztd codes of registration.md; the
//! numbers are part of the contract (the Graph import rows and the partner API report them).

use std::time::Duration;

/// The Autopilot device errors (registration.md, "Device errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZtdError {
    InvalidZtdRequestBody,
    InvalidZtdHardwareHash,
    MissingZtdSerialNumberAndProductKey,
    ZtdDeviceAlreadyAssigned,
    ZtdDeviceIsNotRegistered,
    ZtdDeviceAssignedToOtherTenant,
    ZtdProfileIsNotRegistered,
    ZtdProfileAssignedToOtherTenant,
    ZtdDeviceRegisteredByOtherTenant,
    ZtdDeviceNotFound,
    ZtdDeviceIsNotUnique,
    ZtdDeviceHasNoAssignedProfile,
    /// The same device twice in one import; only the first is processed.
    ZtdDeviceDuplicated,
    /// Transient storage failure; retry.
    StorageError,
}

impl ZtdError {
    pub const ALL: [ZtdError; 14] = [
        ZtdError::InvalidZtdRequestBody,
        ZtdError::InvalidZtdHardwareHash,
        ZtdError::MissingZtdSerialNumberAndProductKey,
        ZtdError::ZtdDeviceAlreadyAssigned,
        ZtdError::ZtdDeviceIsNotRegistered,
        ZtdError::ZtdDeviceAssignedToOtherTenant,
        ZtdError::ZtdProfileIsNotRegistered,
        ZtdError::ZtdProfileAssignedToOtherTenant,
        ZtdError::ZtdDeviceRegisteredByOtherTenant,
        ZtdError::ZtdDeviceNotFound,
        ZtdError::ZtdDeviceIsNotUnique,
        ZtdError::ZtdDeviceHasNoAssignedProfile,
        ZtdError::ZtdDeviceDuplicated,
        ZtdError::StorageError,
    ];

    /// The numeric code (`deviceErrorCode`). The two unnumbered errors use codes outside 801..815
    /// that Hangar reserves for them: 899 for ZtdDeviceDuplicated and 999 for StorageError.
    pub fn code(self) -> i32 {
        match self {
            ZtdError::InvalidZtdRequestBody => 801,
            ZtdError::InvalidZtdHardwareHash => 802,
            ZtdError::MissingZtdSerialNumberAndProductKey => 803,
            ZtdError::ZtdDeviceAlreadyAssigned => 806,
            ZtdError::ZtdDeviceIsNotRegistered => 807,
            ZtdError::ZtdDeviceAssignedToOtherTenant => 808,
            ZtdError::ZtdProfileIsNotRegistered => 809,
            ZtdError::ZtdProfileAssignedToOtherTenant => 810,
            ZtdError::ZtdDeviceRegisteredByOtherTenant => 811,
            ZtdError::ZtdDeviceNotFound => 812,
            ZtdError::ZtdDeviceIsNotUnique => 813,
            ZtdError::ZtdDeviceHasNoAssignedProfile => 815,
            ZtdError::ZtdDeviceDuplicated => 899,
            ZtdError::StorageError => 999,
        }
    }

    /// The name (`deviceErrorName`).
    pub fn name(self) -> &'static str {
        match self {
            ZtdError::InvalidZtdRequestBody => "InvalidZtdRequestBody",
            ZtdError::InvalidZtdHardwareHash => "InvalidZtdHardwareHash",
            ZtdError::MissingZtdSerialNumberAndProductKey => "MissingZtdSerialNumberAndProductKey",
            ZtdError::ZtdDeviceAlreadyAssigned => "ZtdDeviceAlreadyAssigned",
            ZtdError::ZtdDeviceIsNotRegistered => "ZtdDeviceIsNotRegistered",
            ZtdError::ZtdDeviceAssignedToOtherTenant => "ZtdDeviceAssignedToOtherTenant",
            ZtdError::ZtdProfileIsNotRegistered => "ZtdProfileIsNotRegistered",
            ZtdError::ZtdProfileAssignedToOtherTenant => "ZtdProfileAssignedToOtherTenant",
            ZtdError::ZtdDeviceRegisteredByOtherTenant => "ZtdDeviceRegisteredByOtherTenant",
            ZtdError::ZtdDeviceNotFound => "ZtdDeviceNotFound",
            ZtdError::ZtdDeviceIsNotUnique => "ZtdDeviceIsNotUnique",
            ZtdError::ZtdDeviceHasNoAssignedProfile => "ZtdDeviceHasNoAssignedProfile",
            ZtdError::ZtdDeviceDuplicated => "ZtdDeviceDuplicated",
            ZtdError::StorageError => "StorageError",
        }
    }

    pub fn from_code(code: i32) -> Option<ZtdError> {
        ZtdError::ALL.into_iter().find(|e| e.code() == code)
    }

    pub fn from_name(name: &str) -> Option<ZtdError> {
        ZtdError::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl std::fmt::Display for ZtdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{error}: {message}")]
    Device { error: ZtdError, message: String },
    /// Also for another tenant's objects: a caller never learns that they exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many requests: retry after {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("invalid input: {0}")]
    Validation(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl CoreError {
    pub fn device(error: ZtdError, message: impl Into<String>) -> CoreError {
        CoreError::Device {
            error,
            message: message.into(),
        }
    }

    /// The Ztd code when this is a device error (storage failures map to StorageError).
    pub fn ztd(&self) -> Option<ZtdError> {
        match self {
            CoreError::Device { error, .. } => Some(*error),
            CoreError::Store(_) => Some(ZtdError::StorageError),
            _ => None,
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in ZtdError::ALL {
            assert!(seen.insert(e.code()));
            assert_eq!(ZtdError::from_code(e.code()), Some(e));
            assert_eq!(ZtdError::from_name(e.name()), Some(e));
        }
        assert_eq!(ZtdError::ZtdDeviceAssignedToOtherTenant.code(), 808);
    }
}
