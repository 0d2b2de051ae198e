//! API credentials: bearer tokens and app registrations (client id + secret). Hangar issues
//! JWT-shaped tokens (three base64url parts, the payload carries `tid`, `roles` and `exp` for the
//! clients that decode them) but never trusts their content: a token is valid only when the SHA-256
//! of its full text is stored, unexpired and not revoked. App secrets are stored as argon2 hashes.

use crate::authz::{require_system, Principal, SystemScope, TenantScope};
use crate::model::{Tenant, TenantId};
use crate::service::Registry;
use crate::store::{Store, StoreResult};
use crate::{CoreError, CoreResult};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// What a credential may do in its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Read and write.
    Admin,
    /// Read only.
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    pub fn can_write(self) -> bool {
        self == Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored bearer token (never its text: only the SHA-256 of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Public id (a GUID), used to revoke it and in the audit log.
    pub id: String,
    pub tenant_id: TenantId,
    pub role: Role,
    /// Hex SHA-256 of the token text.
    pub token_hash: String,
    /// Who it was issued to (`cli`, `first-start`, `app:<client id>`).
    pub name: String,
    pub created: OffsetDateTime,
    pub expires: Option<OffsetDateTime>,
    pub revoked: Option<OffsetDateTime>,
}

impl AccessToken {
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|e| e > now)
    }
}

/// An app registration: a client id and a secret (argon2 hash stored) for one tenant and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRegistration {
    /// The client id (a GUID).
    pub client_id: String,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub role: Role,
    /// argon2 PHC string.
    pub secret_hash: String,
    pub created: OffsetDateTime,
    pub revoked: Option<OffsetDateTime>,
}

/// Storage of credentials. Lookups by token hash or client id happen before the tenant is known,
/// so they take a [`SystemScope`]; creation is scoped to the tenant.
pub trait CredentialStore: Send + Sync {
    fn insert_token(
        &self,
        scope: &TenantScope,
        token: &AccessToken,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn find_token(
        &self,
        scope: &SystemScope,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<AccessToken>>> + Send;
    /// Revokes the token with this id or this hash; false when there is none (or it was revoked).
    fn revoke_token(
        &self,
        scope: &SystemScope,
        id_or_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn insert_app(
        &self,
        scope: &TenantScope,
        app: &AppRegistration,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn find_app(
        &self,
        scope: &SystemScope,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<AppRegistration>>> + Send;
    /// The scope's tenant's tokens, revoked and expired ones included, oldest first.
    fn list_tokens(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<Vec<AccessToken>>> + Send;
    /// The scope's tenant's app registrations, revoked ones included, oldest first.
    fn list_apps(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<Vec<AppRegistration>>> + Send;
    /// Revokes the app and, in the same transaction, every unrevoked token issued for it (named
    /// `app:<client id>`, in its tenant). `None` when there is no unrevoked app with this client
    /// id; otherwise how many tokens were revoked with it.
    fn revoke_app(
        &self,
        scope: &SystemScope,
        client_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
}

/// The name of the tokens the token endpoint issues for an app.
pub fn app_token_name(client_id: &str) -> String {
    format!("app:{client_id}")
}

/// Hex SHA-256 of a token's text.
pub fn token_hash(token: &str) -> String {
    TokenHash::of(token).as_str().to_string()
}

/// [`token_hash`] on the stack: every request computes one to find its token in the cache.
struct TokenHash([u8; 64]);

impl TokenHash {
    fn of(token: &str) -> TokenHash {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(token.as_bytes());
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        TokenHash(out)
    }

    fn as_str(&self) -> &str {
        // Only hex digits were written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Tokens looked up recently, by hash, so that a request does not read its token from the
/// database each time (see `RegistryConfig::token_cache_ttl`).
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    /// Shared records: a request takes a reference, not a copy of the token's strings.
    entries:
        std::sync::Mutex<std::collections::HashMap<String, (Arc<AccessToken>, std::time::Instant)>>,
}

impl TokenCache {
    /// Tokens in use at once are few; a flood of distinct valid tokens only empties the cache.
    const MAX: usize = 10_000;

    fn get(&self, hash: &str, ttl: Duration) -> Option<Arc<AccessToken>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (record, at) = entries.get(hash)?;
        (at.elapsed() < ttl).then(|| record.clone())
    }

    fn put(&self, hash: String, record: Arc<AccessToken>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        entries.insert(hash, (record, std::time::Instant::now()));
    }

    /// Drops the token with this id or this hash.
    fn forget(&self, id: &str, hash: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|h, (record, _)| h != hash && record.id != id);
    }

    /// Drops every token issued under this name in this tenant.
    fn forget_named(&self, tenant: TenantId, name: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (record, _)| record.tenant_id != tenant || record.name != name);
    }
}

/// A fresh JWT-shaped token: `header.payload.signature` where the signature part is 32 random
/// bytes (the token's entropy). The header says `alg: none`-like `HS256` for clients that insist
/// on decoding; Hangar itself never reads the parts.
fn new_token_text(
    id: &str,
    tenant: TenantId,
    role: Role,
    issued: OffsetDateTime,
    expires: Option<OffsetDateTime>,
) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::json!({"typ": "JWT", "alg": "HS256"});
    // Clients that decode tokens expect an `exp`; a token without expiry says 100 years.
    let exp = expires
        .unwrap_or(issued + time::Duration::days(36_500))
        .unix_timestamp();
    let payload = serde_json::json!({
        "aud": "https://graph.microsoft.com",
        "iss": "hangar",
        "tid": tenant.to_string(),
        "roles": [role.as_str()],
        "jti": id,
        "iat": issued.unix_timestamp(),
        "nbf": issued.unix_timestamp(),
        "exp": exp,
    });
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(payload.to_string()),
        b64.encode(secret)
    )
}

fn random_secret() -> String {
    let mut bytes = [0u8; 30];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_secret(secret: &str) -> CoreResult<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Validation(format!("cannot hash the secret: {e}")))
}

fn verify_secret(secret: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A newly issued token: the text is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub record: AccessToken,
}

/// A newly created app registration: the secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedApp {
    pub app: AppRegistration,
    pub client_secret: String,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub tenant_id: TenantId,
    pub role: Role,
    pub token_id: String,
    pub principal: Principal,
}

/// Why a credential was refused (the API answers 401 for every one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Unknown,
    Expired,
    Revoked,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Unknown => "the access token is not valid",
            AuthFailure::Expired => "the access token has expired",
            AuthFailure::Revoked => "the access token was revoked",
        }
    }
}

impl<S: Store + CredentialStore> Registry<S> {
    fn credentials_scope() -> CoreResult<SystemScope> {
        require_system(&Principal::system("credentials"))
    }

    /// Issues a token for the scope's tenant. `lifetime` `None` never expires.
    pub async fn issue_token(
        &self,
        scope: &TenantScope,
        role: Role,
        name: &str,
        lifetime: Option<Duration>,
    ) -> CoreResult<IssuedToken> {
        let now = self.now();
        let id = uuid::Uuid::new_v4().to_string();
        let expires = lifetime.map(|l| now + l);
        let token = new_token_text(&id, scope.tenant_id(), role, now, expires);
        let record = AccessToken {
            id: id.clone(),
            tenant_id: scope.tenant_id(),
            role,
            token_hash: token_hash(&token),
            name: name.to_string(),
            created: now,
            expires,
            revoked: None,
        };
        self.store().insert_token(scope, &record).await?;
        Ok(IssuedToken { token, record })
    }

    /// Looks a presented bearer token up.
    pub async fn authenticate_token(
        &self,
        token: &str,
    ) -> CoreResult<Result<Authenticated, AuthFailure>> {
        let hash = TokenHash::of(token.trim());
        let hash = hash.as_str();
        let ttl = self.config().token_cache_ttl;
        let record = match self.tokens.get(hash, ttl) {
            Some(record) => record,
            None => {
                let sys = Self::credentials_scope()?;
                let Some(record) = self.store().find_token(&sys, hash).await? else {
                    return Ok(Err(AuthFailure::Unknown));
                };
                let record = Arc::new(record);
                if !ttl.is_zero() {
                    self.tokens.put(hash.to_string(), Arc::clone(&record));
                }
                record
            }
        };
        if record.revoked.is_some() {
            return Ok(Err(AuthFailure::Revoked));
        }
        if !record.is_valid_at(self.now()) {
            return Ok(Err(AuthFailure::Expired));
        }
        let principal = Principal::TenantAdmin {
            tenant_id: record.tenant_id,
            name: format!("{}:{}", record.name, record.role),
        };
        Ok(Ok(Authenticated {
            tenant_id: record.tenant_id,
            role: record.role,
            token_id: record.id.clone(),
            principal,
        }))
    }

    /// Revokes a token given its id or its text.
    pub async fn revoke_token(&self, id_or_token: &str) -> CoreResult<()> {
        let sys = Self::credentials_scope()?;
        let key = id_or_token.trim();
        let now = self.now();
        self.tokens.forget(key, &token_hash(key));
        if self.store().revoke_token(&sys, key, now).await?
            || self
                .store()
                .revoke_token(&sys, &token_hash(key), now)
                .await?
        {
            Ok(())
        } else {
            Err(CoreError::NotFound { what: "token" })
        }
    }

    /// Creates an app registration; the secret is returned once.
    pub async fn create_app(
        &self,
        scope: &TenantScope,
        display_name: &str,
        role: Role,
    ) -> CoreResult<CreatedApp> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(CoreError::Validation("the app needs a name".into()));
        }
        let client_secret = random_secret();
        let app = AppRegistration {
            client_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: scope.tenant_id(),
            display_name: display_name.to_string(),
            role,
            secret_hash: hash_secret(&client_secret)?,
            created: self.now(),
            revoked: None,
        };
        self.store().insert_app(scope, &app).await?;
        Ok(CreatedApp { app, client_secret })
    }

    /// The scope's tenant's tokens (each with its hash, which callers must not show).
    pub async fn list_tokens(&self, scope: &TenantScope) -> CoreResult<Vec<AccessToken>> {
        Ok(self.store().list_tokens(scope).await?)
    }

    /// The scope's tenant's app registrations (each with its secret's hash, which callers must
    /// not show).
    pub async fn list_apps(&self, scope: &TenantScope) -> CoreResult<Vec<AppRegistration>> {
        Ok(self.store().list_apps(scope).await?)
    }

    /// Revokes an app registration and every token issued for it; returns the app (as it was
    /// before) and how many tokens were revoked with it. The token endpoint refuses a revoked app.
    pub async fn revoke_app(&self, client_id: &str) -> CoreResult<(AppRegistration, u64)> {
        let sys = Self::credentials_scope()?;
        let client_id = client_id.trim();
        let Some(app) = self.store().find_app(&sys, client_id).await? else {
            return Err(CoreError::NotFound { what: "app" });
        };
        let Some(tokens) = self.store().revoke_app(&sys, client_id, self.now()).await? else {
            return Err(CoreError::Conflict(format!(
                "the app {client_id} was revoked already"
            )));
        };
        // After the store: a lookup racing the revocation is re-read as revoked.
        self.tokens
            .forget_named(app.tenant_id, &app_token_name(&app.client_id));
        Ok((app, tokens))
    }

    /// The client-credentials grant: a token for the app when the secret matches and the app
    /// belongs to `tenant` (an id or a domain). `None` for any mismatch (callers answer
    /// `invalid_client` without saying which part was wrong).
    pub async fn client_credentials(
        &self,
        tenant: &str,
        client_id: &str,
        client_secret: &str,
        lifetime: Duration,
    ) -> CoreResult<Option<IssuedToken>> {
        let sys = Self::credentials_scope()?;
        let Some(app) = self.store().find_app(&sys, client_id.trim()).await? else {
            return Ok(None);
        };
        if app.revoked.is_some() || !verify_secret(client_secret, &app.secret_hash) {
            return Ok(None);
        }
        let Some(t) = self.find_tenant(tenant).await? else {
            return Ok(None);
        };
        if t.id != app.tenant_id {
            return Ok(None);
        }
        let scope = crate::authz::authorize(sys.principal(), t.id)?;
        let issued = self
            .issue_token(
                &scope,
                app.role,
                &app_token_name(&app.client_id),
                Some(lifetime),
            )
            .await?;
        // The app may have been revoked while its secret was checked; its revocation revoked only
        // the tokens that existed then.
        let still = self.store().find_app(&sys, &app.client_id).await?;
        if still.is_none_or(|a| a.revoked.is_some()) {
            self.store()
                .revoke_token(&sys, &issued.record.id, self.now())
                .await?;
            return Ok(None);
        }
        Ok(Some(issued))
    }

    /// A tenant by id or primary domain (case-insensitive), for the offline commands and the
    /// token endpoint.
    pub async fn find_tenant(&self, id_or_domain: &str) -> CoreResult<Option<Tenant>> {
        let key = id_or_domain.trim();
        let id = TenantId::parse(key);
        let tenants = self.list_tenants(&Principal::system("credentials")).await?;
        Ok(tenants
            .into_iter()
            .find(|t| Some(t.id) == id || t.primary_domain.eq_ignore_ascii_case(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_jwt_shaped_and_hash_stably() {
        let t = new_token_text(
            "x",
            TenantId::new(),
            Role::Reader,
            OffsetDateTime::now_utc(),
            None,
        );
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_eq!(token_hash(&t).len(), 64);
        let payload = t.split('.').nth(1).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(json["roles"][0], "reader");
    }

    #[test]
    fn secrets_verify_only_themselves() {
        let h = hash_secret("s3cret").expect("hash");
        assert!(verify_secret("s3cret", &h));
        assert!(!verify_secret("s3cret!", &h));
        assert!(!verify_secret("s3cret", "not a phc string"));
        assert_eq!(Role::parse("Admin"), Some(Role::Admin));
    }
}
