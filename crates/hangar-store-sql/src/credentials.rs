//! The SQL of [`hangar_core::credentials::CredentialStore`], shared by both backends like
//! [`crate::impl_store!`]. Tables: `access_tokens` (SHA-256 of each token, never its text) and
//! `app_registrations` (argon2 hash of each secret); see the backends' `0100_credentials.sql`.

/// Implements `CredentialStore` for `$store` (same requirements as [`crate::impl_store!`]).
#[macro_export]
macro_rules! impl_credential_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::__core::authz::{SystemScope, TenantScope};
            use $crate::__core::credentials::{AccessToken, AppRegistration, CredentialStore, Role};
            use $crate::__core::model::{from_micros, to_micros, TenantId};
            use $crate::__core::store::StoreResult;
            use $crate::__sqlx as sqlx;
            use $crate::__time::OffsetDateTime;
            use $crate::{corrupt, from_opt_micros, map_err, opt_micros, ReadKind, ReadRows, Sql};
            use sqlx::Row;

            type DbRow = <$db as sqlx::Database>::Row;

            fn text(r: &DbRow, c: &str) -> StoreResult<String> {
                r.try_get::<String, _>(c).map_err(map_err)
            }

            fn tenant_of(r: &DbRow) -> StoreResult<TenantId> {
                let v = text(r, "tenant_id")?;
                TenantId::parse(&v).ok_or_else(|| corrupt("tenant_id", &v))
            }

            fn role_of(r: &DbRow) -> StoreResult<Role> {
                let v = text(r, "role")?;
                Role::parse(&v).ok_or_else(|| corrupt("role", &v))
            }

            fn app_from_row(r: &DbRow) -> StoreResult<AppRegistration> {
                Ok(AppRegistration {
                    client_id: text(r, "client_id")?,
                    tenant_id: tenant_of(r)?,
                    display_name: text(r, "display_name")?,
                    role: role_of(r)?,
                    secret_hash: text(r, "secret_hash")?,
                    created: from_micros(r.try_get::<i64, _>("created").map_err(map_err)?),
                    revoked: from_opt_micros(r.try_get::<Option<i64>, _>("revoked").map_err(map_err)?),
                })
            }

            impl CredentialStore for $store {
                async fn insert_token(&self, scope: &TenantScope, t: &AccessToken) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO access_tokens (id, tenant_id, role, token_hash, name, created, expires, revoked) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&t.id)
                    .bind(scope.tenant_id().to_string())
                    .bind(t.role.as_str())
                    .bind(&t.token_hash)
                    .bind(&t.name)
                    .bind(to_micros(t.created))
                    .bind(opt_micros(t.expires))
                    .bind(opt_micros(t.revoked))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn find_token(&self, _scope: &SystemScope, token_hash: &str) -> StoreResult<Option<AccessToken>> {
                    let mut sql = Sql::new(concat!("SELECT ", $crate::token_columns!(), " FROM access_tokens WHERE token_hash = "));
                    sql.bind(token_hash);
                    $crate::single(self.read_rows(ReadKind::ByKey, sql, $crate::token_from_cols).await?)
                }

                async fn revoke_token(&self, _scope: &SystemScope, id_or_hash: &str, now: OffsetDateTime) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE access_tokens SET revoked = $1 WHERE (id = $2 OR token_hash = $2) AND revoked IS NULL",
                    )
                    .bind(to_micros(now))
                    .bind(id_or_hash)
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_app(&self, scope: &TenantScope, a: &AppRegistration) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO app_registrations (client_id, tenant_id, display_name, role, secret_hash, created, revoked) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&a.client_id)
                    .bind(scope.tenant_id().to_string())
                    .bind(&a.display_name)
                    .bind(a.role.as_str())
                    .bind(&a.secret_hash)
                    .bind(to_micros(a.created))
                    .bind(opt_micros(a.revoked))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn find_app(&self, _scope: &SystemScope, client_id: &str) -> StoreResult<Option<AppRegistration>> {
                    let row = sqlx::query(
                        "SELECT client_id, tenant_id, display_name, role, secret_hash, created, revoked FROM app_registrations \
                         WHERE client_id = $1",
                    )
                    .bind(client_id)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_err)?;
                    row.as_ref().map(app_from_row).transpose()
                }

                async fn list_tokens(&self, scope: &TenantScope) -> StoreResult<Vec<AccessToken>> {
                    let mut sql = Sql::new(concat!("SELECT ", $crate::token_columns!(), " FROM access_tokens WHERE tenant_id = "));
                    sql.bind(scope.tenant_id().to_string()).push(" ORDER BY created, id");
                    self.read_rows(ReadKind::Range, sql, $crate::token_from_cols).await
                }

                async fn list_apps(&self, scope: &TenantScope) -> StoreResult<Vec<AppRegistration>> {
                    let rows = sqlx::query(
                        "SELECT client_id, tenant_id, display_name, role, secret_hash, created, revoked FROM app_registrations \
                         WHERE tenant_id = $1 ORDER BY created, client_id",
                    )
                    .bind(scope.tenant_id().to_string())
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter().map(app_from_row).collect()
                }

                async fn revoke_app(&self, _scope: &SystemScope, client_id: &str, now: OffsetDateTime) -> StoreResult<Option<u64>> {
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    let app = sqlx::query(
                        "UPDATE app_registrations SET revoked = $1 WHERE client_id = $2 AND revoked IS NULL RETURNING tenant_id",
                    )
                    .bind(to_micros(now))
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let Some(app) = app else {
                        return Ok(None);
                    };
                    let tokens = sqlx::query(
                        "UPDATE access_tokens SET revoked = $1 WHERE tenant_id = $2 AND name = $3 AND revoked IS NULL",
                    )
                    .bind(to_micros(now))
                    .bind(text(&app, "tenant_id")?)
                    .bind($crate::__core::credentials::app_token_name(client_id))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(Some(tokens.rows_affected()))
                }
            }
        };
    };
}
