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
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Addresses in `failures`: while none failed, a request reads this instead of taking the
    /// lock that every request on every thread would otherwise take.
    tracked: AtomicUsize,
}

impl FailedAuthLimiter {
    pub fn new(limit: usize, window: Duration) -> FailedAuthLimiter {
        FailedAuthLimiter {
            limit: limit.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
            tracked: AtomicUsize::new(0),
        }
    }

    /// When the address is over the limit: how long until it may try again.
    pub fn blocked(&self, addr: IpAddr) -> Option<Duration> {
        if self.tracked.load(Ordering::Acquire) == 0 {
            return None;
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(&addr)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.is_empty() {
            map.remove(&addr);
            self.tracked.store(map.len(), Ordering::Release);
            return None;
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
        self.tracked.store(map.len(), Ordering::Release);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_at_the_limit_and_forgotten_when_its_failures_expire() {
        let limiter = FailedAuthLimiter::new(2, Duration::from_millis(200));
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert_eq!(limiter.blocked(a), None);
        limiter.record_failure(a);
        assert_eq!(limiter.blocked(a), None, "one failure is under the limit");
        limiter.record_failure(a);
        assert!(limiter.blocked(a).is_some(), "two failures reach the limit");
        assert_eq!(limiter.blocked(b), None, "another address is not blocked");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(limiter.blocked(a), None, "the failures expired");
        assert_eq!(limiter.tracked.load(Ordering::Acquire), 0);
        limiter.record_failure(b);
        limiter.record_failure(b);
        assert!(
            limiter.blocked(b).is_some(),
            "failures count again after the map emptied"
        );
    }
}
