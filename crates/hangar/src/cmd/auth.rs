//! Offline credential administration: `hangar app create`, `hangar token create|revoke`. They open
//! the database directly, like `hangar tenant`.

use super::admin::{Backend, Database};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hangar_api::ApiStore;
use hangar_core::authz::{authorize, Principal, TenantScope};
use hangar_core::credentials::Role;
use hangar_core::service::Registry;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct AppArgs {
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an app (client id + secret) for the OAuth2 client-credentials grant. The secret is
    /// printed once and stored only as an argon2 hash.
    Create {
        /// Tenant id or primary domain.
        #[arg(long)]
        tenant: String,
        /// A name for the app, e.g. "intune-sync".
        #[arg(long)]
        name: String,
        /// admin (read/write) or reader (read only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a bearer token (printed once; stored only as its SHA-256).
    Create {
        /// Tenant id or primary domain.
        #[arg(long)]
        tenant: String,
        /// admin (read/write) or reader (read only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Lifetime: 30d, 12h, 90m, 3600s, or `never`.
        #[arg(long, default_value = "never", value_parser = parse_lifetime)]
        expires: Lifetime,
        /// Who the token is for (shown in the audit log).
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        db: Database,
    },
    /// Revoke a token, given its id or the token itself.
    Revoke {
        id_or_token: String,
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Debug, Clone, Copy)]
struct Lifetime(Option<Duration>);

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("'{s}' is not a role: use admin or reader"))
}

fn parse_lifetime(s: &str) -> Result<Lifetime, String> {
    if s.trim().eq_ignore_ascii_case("never") {
        return Ok(Lifetime(None));
    }
    crate::duration::parse(s).map(|d| Lifetime(Some(d)))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn scope_of<S: ApiStore>(
    registry: &Registry<S>,
    tenant: &str,
) -> anyhow::Result<TenantScope> {
    let Some(t) = registry.find_tenant(tenant).await? else {
        bail!("no tenant '{tenant}': see `hangar tenant list`");
    };
    Ok(authorize(&Principal::system("cli"), t.id)?)
}

pub fn app(args: AppArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let AppCommand::Create {
            tenant,
            name,
            role,
            json,
            db,
        } = args.command;
        match db.open().await? {
            Backend::Sqlite(s) => create_app(Registry::new(s), &tenant, &name, role, json).await,
            Backend::Postgres(p) => create_app(Registry::new(p), &tenant, &name, role, json).await,
        }
    })
}

async fn create_app<S: ApiStore>(
    registry: Registry<S>,
    tenant: &str,
    name: &str,
    role: Role,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let scope = scope_of(&registry, tenant).await?;
    let created = registry.create_app(&scope, name, role).await?;
    let domain = registry
        .get_tenant(&scope)
        .await
        .map(|t| t.primary_domain)
        .unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tenantId": scope.tenant_id().to_string(),
                "tenantDomain": domain,
                "clientId": created.app.client_id,
                "clientSecret": created.client_secret,
                "role": role.as_str(),
            }))?
        );
    } else {
        println!("tenant:        {} ({domain})", scope.tenant_id());
        println!("client id:     {}", created.app.client_id);
        println!("client secret: {}", created.client_secret);
        println!("role:          {role}");
        eprintln!("the secret is shown only now; store it safely");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match args.command {
            TokenCommand::Create {
                tenant,
                role,
                expires,
                name,
                db,
            } => match db.open().await? {
                Backend::Sqlite(s) => {
                    create_token(Registry::new(s), &tenant, role, expires, &name).await
                }
                Backend::Postgres(p) => {
                    create_token(Registry::new(p), &tenant, role, expires, &name).await
                }
            },
            TokenCommand::Revoke { id_or_token, db } => {
                match db.open().await? {
                    Backend::Sqlite(s) => Registry::new(s).revoke_token(&id_or_token).await,
                    Backend::Postgres(p) => Registry::new(p).revoke_token(&id_or_token).await,
                }
                .map_err(|e| {
                    anyhow::anyhow!("cannot revoke: {e} (give the token's id or the token itself)")
                })?;
                eprintln!("revoked");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn create_token<S: ApiStore>(
    registry: Registry<S>,
    tenant: &str,
    role: Role,
    expires: Lifetime,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let scope = scope_of(&registry, tenant).await?;
    let issued = registry.issue_token(&scope, role, name, expires.0).await?;
    println!("{}", issued.token);
    let until = issued
        .record
        .expires
        .map_or_else(|| "never".to_string(), hwhash::json::format_time);
    eprintln!(
        "token id {} ({role}, expires {until}); revoke with `hangar token revoke {}`",
        issued.record.id, issued.record.id
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(
            parse_lifetime("30d").ok().and_then(|l| l.0),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            parse_lifetime("90m").ok().and_then(|l| l.0),
            Some(Duration::from_secs(5400))
        );
        assert!(parse_lifetime("never").is_ok_and(|l| l.0.is_none()));
        assert!(parse_lifetime("3x").is_err());
        assert!(parse_lifetime("0s").is_err());
    }
}
