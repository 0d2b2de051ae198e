//! Bearer-token authentication and the limit on failed attempts per client address.

use crate::error::{ApiError, ApiResult};
use crate::{ApiStore, AppState};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use hangar_core::authz::{authorize, TenantScope};
use hangar_core::credentials::Role;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The authenticated caller of a Graph request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub scope: TenantScope,
    pub role: Role,
}

impl Caller {
    /// Refuses readers (403).
    pub fn writable(&self) -> ApiResult<&TenantScope> {
        if self.role.can_write() {
            Ok(&self.scope)
        } else {
            Err(ApiError::forbidden(
                "this token is read-only (role reader); writing needs an admin token",
            ))
        }
    }
}

/// Failed authentications per client address in a sliding window.
#[derive(Debug)]
pub struct FailedAuthLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl FailedAuthLimiter {
    pub fn new(limit: usize, window: Duration) -> FailedAuthLimiter {
        FailedAuthLimiter {
            limit: limit.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// When the address is over the limit: how long until it may try again.
    pub fn blocked(&self, addr: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(&addr)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.limit {
            q.front().map(|t| {
                self.window
                    .saturating_sub(now.duration_since(*t))
                    .max(Duration::from_secs(1))
            })
        } else {
            None
        }
    }

    pub fn record_failure(&self, addr: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the map small: forget addresses whose failures all expired.
        if map.len() > 10_000 {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let q = map.entry(addr).or_default();
        q.push_back(now);
        while q.len() > self.limit {
            q.pop_front();
        }
    }
}

pub fn client_addr(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Checks the rate limit of failed attempts for this address.
pub fn check_not_blocked<S: ApiStore>(state: &AppState<S>, addr: IpAddr) -> ApiResult<()> {
    match state.auth_limiter.blocked(addr) {
        Some(wait) => Err(ApiError::too_many_requests(
            format!(
                "too many failed authentication attempts from this address; retry after {} seconds",
                wait.as_secs().max(1)
            ),
            wait,
        )),
        None => Ok(()),
    }
}

impl<S: ApiStore> FromRequestParts<AppState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let addr = client_addr(parts);
        check_not_blocked(state, addr)?;
        let fail = |message: &str| {
            state.auth_limiter.record_failure(addr);
            ApiError::unauthorized(message)
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(fail("an Authorization: Bearer <token> header is required"));
        };
        let value = value.to_str().unwrap_or_default().trim();
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                t.trim()
            }
            _ => return Err(fail("the Authorization header must be 'Bearer <token>'")),
        };
        match state.registry.authenticate_token(token).await? {
            Ok(who) => {
                let scope = authorize(&who.principal, who.tenant_id)?;
                tracing::debug!(token = %who.token_id, tenant = %who.tenant_id, role = %who.role, "authenticated");
                Ok(Caller {
                    scope,
                    role: who.role,
                })
            }
            Err(failure) => Err(fail(failure.message())),
        }
    }
}
