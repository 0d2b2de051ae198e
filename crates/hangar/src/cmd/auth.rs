//! Offline credential administration: `hangar app create|list|revoke`, `hangar token
//! create|list|revoke`. They open the database directly, like `hangar tenant`. Token and secret
//! hashes are never printed.

use super::admin::{Backend, Database};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hangar_api::ApiStore;
use hangar_core::authz::{authorize, Principal, TenantScope};
use hangar_core::credentials::{AccessToken, AppRegistration, Role};
use hangar_core::model::Tenant;
use hangar_core::service::Registry;
use hangar_core::CoreError;
use hwhash::json::format_time;
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
        /// Tenant id, primary domain, or display name (e.g. `default`).
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
    /// List a tenant's app registrations, revoked ones included (never their secrets).
    List {
        /// Tenant id, primary domain, or display name (e.g. `default`).
        #[arg(long)]
        tenant: String,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: Database,
    },
    /// Revoke an app registration and every token issued for it; the token endpoint refuses it
    /// from then on.
    Revoke {
        /// The app's client id (see `hangar app list`).
        client_id: String,
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
        /// Tenant id, primary domain, or display name (e.g. `default`).
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
    /// List a tenant's tokens, revoked and expired ones included (never the tokens or their
    /// hashes).
    List {
        /// Tenant id, primary domain, or display name (e.g. `default`).
        #[arg(long)]
        tenant: String,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
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
    let t = resolve_tenant(registry, tenant).await?;
    Ok(authorize(&Principal::system("cli"), t.id)?)
}

/// `--tenant`: a tenant id, a primary domain, or a display name (case-insensitive) that exactly
/// one tenant has. The first start creates the tenant "Default", so `--tenant default` works.
async fn resolve_tenant<S: ApiStore>(registry: &Registry<S>, key: &str) -> anyhow::Result<Tenant> {
    if let Some(t) = registry.find_tenant(key).await? {
        return Ok(t);
    }
    let key = key.trim();
    let tenants = registry.list_tenants(&Principal::system("cli")).await?;
    let mut named = by_display_name(tenants, key);
    match named.len() {
        0 => bail!(
            "no tenant '{key}' (neither an id, a primary domain nor a name): see `hangar tenant list`"
        ),
        1 => Ok(named.remove(0)),
        n => {
            let ids: Vec<String> = named.iter().map(|t| t.id.to_string()).collect();
            bail!(
                "{n} tenants are named '{key}' ({}): use the tenant's id or primary domain (see `hangar tenant list`)",
                ids.join(", ")
            )
        }
    }
}

/// The tenants whose display name is `name`, ignoring case.
fn by_display_name(tenants: Vec<Tenant>, name: &str) -> Vec<Tenant> {
    let name = name.to_lowercase();
    tenants
        .into_iter()
        .filter(|t| !name.is_empty() && t.display_name.trim().to_lowercase() == name)
        .collect()
}

pub fn app(args: AppArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match args.command {
            AppCommand::Create {
                tenant,
                name,
                role,
                json,
                db,
            } => match db.open().await? {
                Backend::Sqlite(s) => {
                    create_app(Registry::new(s), &tenant, &name, role, json).await
                }
                Backend::Postgres(p) => {
                    create_app(Registry::new(p), &tenant, &name, role, json).await
                }
            },
            AppCommand::List { tenant, json, db } => match db.open().await? {
                Backend::Sqlite(s) => list_apps(Registry::new(s), &tenant, json).await,
                Backend::Postgres(p) => list_apps(Registry::new(p), &tenant, json).await,
            },
            AppCommand::Revoke { client_id, db } => match db.open().await? {
                Backend::Sqlite(s) => revoke_app(Registry::new(s), &client_id).await,
                Backend::Postgres(p) => revoke_app(Registry::new(p), &client_id).await,
            },
        }
    })
}

fn opt_time(t: Option<time::OffsetDateTime>) -> Option<String> {
    t.map(format_time)
}

async fn list_apps<S: ApiStore>(
    registry: Registry<S>,
    tenant: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let scope = scope_of(&registry, tenant).await?;
    let apps = registry.list_apps(&scope).await?;
    print_apps(&apps, tenant, json)?;
    Ok(ExitCode::SUCCESS)
}

/// The fields shown of an app: never its secret's hash.
fn print_apps(apps: &[AppRegistration], tenant: &str, json: bool) -> anyhow::Result<()> {
    if json {
        let value: Vec<serde_json::Value> = apps
            .iter()
            .map(|a| {
                serde_json::json!({
                    "clientId": a.client_id,
                    "displayName": a.display_name,
                    "role": a.role.as_str(),
                    "createdDateTime": format_time(a.created),
                    "revokedDateTime": opt_time(a.revoked),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if apps.is_empty() {
        println!(
            "no apps in {tenant}: register one with `hangar app create --tenant {tenant} --name NAME --role reader`"
        );
    } else {
        println!(
            "{:<36}  {:<20}  {:<6}  {:<27}  REVOKED",
            "CLIENT ID", "NAME", "ROLE", "CREATED"
        );
        for a in apps {
            println!(
                "{:<36}  {:<20}  {:<6}  {:<27}  {}",
                a.client_id,
                a.display_name,
                a.role.as_str(),
                format_time(a.created),
                opt_time(a.revoked).unwrap_or_else(|| "-".into())
            );
        }
    }
    Ok(())
}

async fn revoke_app<S: ApiStore>(
    registry: Registry<S>,
    client_id: &str,
) -> anyhow::Result<ExitCode> {
    match registry.revoke_app(client_id).await {
        Ok((app, tokens)) => {
            let s = if tokens == 1 { "" } else { "s" };
            println!(
                "revoked app {} ({}) and {tokens} token{s} issued for it",
                app.client_id, app.display_name
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(CoreError::NotFound { .. }) => bail!(
            "no app with client id '{}': see `hangar app list --tenant T`",
            client_id.trim()
        ),
        Err(CoreError::Conflict(message)) => bail!("cannot revoke: {message}"),
        Err(e) => Err(e.into()),
    }
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
            TokenCommand::List { tenant, json, db } => match db.open().await? {
                Backend::Sqlite(s) => list_tokens(Registry::new(s), &tenant, json).await,
                Backend::Postgres(p) => list_tokens(Registry::new(p), &tenant, json).await,
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

async fn list_tokens<S: ApiStore>(
    registry: Registry<S>,
    tenant: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let scope = scope_of(&registry, tenant).await?;
    let tokens = registry.list_tokens(&scope).await?;
    print_tokens(&tokens, tenant, json)?;
    Ok(ExitCode::SUCCESS)
}

/// The fields shown of a token: never its hash.
fn print_tokens(tokens: &[AccessToken], tenant: &str, json: bool) -> anyhow::Result<()> {
    if json {
        let value: Vec<serde_json::Value> = tokens
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "name": t.name,
                    "role": t.role.as_str(),
                    "createdDateTime": format_time(t.created),
                    "expirationDateTime": opt_time(t.expires),
                    "revokedDateTime": opt_time(t.revoked),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if tokens.is_empty() {
        println!(
            "no tokens in {tenant}: issue one with `hangar token create --tenant {tenant} --role reader`"
        );
    } else {
        println!(
            "{:<36}  {:<40}  {:<6}  {:<27}  {:<27}  REVOKED",
            "ID", "NAME", "ROLE", "CREATED", "EXPIRES"
        );
        for t in tokens {
            println!(
                "{:<36}  {:<40}  {:<6}  {:<27}  {:<27}  {}",
                t.id,
                t.name,
                t.role.as_str(),
                format_time(t.created),
                opt_time(t.expires).unwrap_or_else(|| "never".into()),
                opt_time(t.revoked).unwrap_or_else(|| "-".into())
            );
        }
    }
    Ok(())
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

    #[test]
    fn display_names_match_ignoring_case() {
        let tenant = |name: &str, domain: &str| Tenant {
            id: hangar_core::model::TenantId::new(),
            display_name: name.into(),
            primary_domain: domain.into(),
            created: time::OffsetDateTime::now_utc(),
        };
        let all = vec![
            tenant("Default", "default.onmicrosoft.com"),
            tenant("Contoso", "contoso.onmicrosoft.com"),
            tenant("CONTOSO", "contoso2.onmicrosoft.com"),
        ];
        assert_eq!(by_display_name(all.clone(), "default").len(), 1);
        assert_eq!(by_display_name(all.clone(), "contoso").len(), 2);
        assert!(by_display_name(all.clone(), "fabrikam").is_empty());
        assert!(by_display_name(all, "").is_empty());
    }
}
