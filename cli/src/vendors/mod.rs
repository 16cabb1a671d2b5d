//! `orgmint tenant create`: the options every vendor shares, and one small module per vendor that says
//! what its tenant, credentials and calling instructions look like.

pub mod calcom;
pub mod clerk;
pub mod datadog;
pub mod devin;

use clap::Args;

use crate::CliError;
use orgmint::{clock, NewCredential, Store, Tenant, TenantRef, Vendor};
use serde_json::{json, Map, Value};

/// Requests per minute per credential without `--rate-limit` (wire.md).
pub const DEFAULT_RATE_LIMIT: u32 = 120;

#[derive(Args, Debug, Clone)]
pub struct TenantOptions {
    #[arg(long)]
    pub vendor: Vendor,
    /// How many organizations the scope may hold (0 allows none).
    #[arg(long, default_value_t = 100)]
    pub cap: u32,
    /// The tenant's display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A credential that authenticates but may not create organizations.
    #[arg(long)]
    pub restricted: bool,
    /// Requests per minute per credential (0 = off); default 120, and 500 for a Cal.com OAuth client.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// The admin credential expires this many seconds from now (default: never; Clerk: the session
    /// token's lifetime, default 3600).
    #[arg(long, allow_negative_numbers = true)]
    pub key_ttl: Option<i64>,
    /// Datadog: the parent organization lacks the multi-organization feature.
    #[arg(long)]
    pub no_multi_org: bool,
    /// Cal.com: the platform plan (FREE … ENTERPRISE).
    #[arg(long)]
    pub plan: Option<String>,
    /// Datadog, Cal.com: the orgs this tenant creates may create orgs of their own (by default they inherit
    /// its cap and rate limit and cannot create, so that its cap bounds everything it can create).
    #[arg(long)]
    pub nested: bool,
    /// Clerk: a browser origin the instance allows (CORS with credentials); repeatable.
    #[arg(long)]
    pub origin: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

/// What a vendor module hands back: the items to store, and how a client calls the API as the tenant.
#[derive(Clone)]
pub struct Provisioned {
    pub tenant: Tenant,
    pub credentials: Vec<NewCredential>,
    /// The tenant id as users see it (`tenant` in the output).
    pub public_id: String,
    pub path: String,
    pub headers: Map<String, Value>,
    /// Vendor-specific fields added to the JSON output.
    pub extra: Map<String, Value>,
    /// A body that creates an organization, for the printed curl line, and its content type.
    pub sample_body: String,
    pub content_type: &'static str,
    /// More ready-to-paste lines for people (e.g. the vendor's own client against the local API).
    pub more_lines: Vec<String>,
}

impl TenantOptions {
    /// The defaults of `orgmint tenant create --vendor VENDOR`.
    pub fn new(vendor: Vendor) -> Self {
        TenantOptions {
            vendor,
            cap: 100,
            name: None,
            restricted: false,
            rate_limit: None,
            key_ttl: None,
            no_multi_org: false,
            plan: None,
            nested: false,
            origin: Vec::new(),
            json: false,
        }
    }

    /// Requests per minute of the tenant's credentials: `--rate-limit`, else `default`.
    pub fn rate_limit_or(&self, default: u32) -> u32 {
        self.rate_limit.unwrap_or(default)
    }

    pub fn expires_s(&self, now_ms: i64) -> Option<i64> {
        self.key_ttl.map(|ttl| now_ms.div_euclid(1_000) + ttl)
    }
}

/// The path of a route (`POST /v1/organizations` → `/v1/organizations`), as the function crates name it.
pub fn route_path(route: &str) -> &str {
    route.split_once(' ').map_or(route, |(_, path)| path)
}

/// The scope id the store keys a tenant by: the public id; for Clerk the account of `user` (default: the
/// instance's first user) within the instance, `<instance>/<user>`.
pub async fn scope_id(
    store: &Store,
    vendor: Vendor,
    tenant: &str,
    user: Option<&str>,
) -> Result<String, CliError> {
    if vendor != Vendor::Clerk {
        return Ok(tenant.to_owned());
    }
    let user = match user {
        Some(user) => user.to_owned(),
        None => store
            .tenant(&TenantRef::new(vendor, tenant))
            .await?
            .and_then(|instance| instance.attributes.get(clerk::ATTR_FIRST_USER).cloned())
            .ok_or_else(|| format!("no clerk instance '{tenant}'"))?,
    };
    Ok(clerk::account_scope(tenant, &user))
}

/// Builds the vendor's tenant and credentials and stores them, all or nothing.
pub async fn provision(store: &Store, options: &TenantOptions) -> Result<Provisioned, CliError> {
    let now_ms = clock::now_ms();
    let provisioned = match options.vendor {
        Vendor::Calcom => calcom::provision(options, now_ms)?,
        Vendor::Datadog => datadog::provision(options, now_ms)?,
        Vendor::Devin => devin::provision(options, now_ms)?,
        Vendor::Clerk => {
            let (provisioned, instance) = clerk::provision(options, now_ms)?;
            clerk::store_instance(store, &instance).await?;
            return Ok(provisioned);
        }
    };
    store.create_tenant(&provisioned.tenant, &provisioned.credentials).await?;
    Ok(provisioned)
}

pub async fn create_tenant(store: &Store, options: &TenantOptions) -> Result<(), CliError> {
    let provisioned = provision(store, options).await?;

    let mut out = json!({
        "vendor": options.vendor.as_str(),
        "tenant": provisioned.public_id,
        "cap": options.cap,
        "method": "POST",
        "path": provisioned.path,
        "headers": provisioned.headers,
    });
    if options.restricted {
        out["restricted"] = Value::Bool(true);
    }
    for (key, value) in &provisioned.extra {
        out[key] = value.clone();
    }
    if options.json {
        println!("{out}");
    } else {
        println!(
            "{} tenant {} (cap {}{})",
            options.vendor,
            provisioned.public_id,
            options.cap,
            if options.restricted { ", restricted" } else { "" }
        );
        println!("{}", curl_line(&provisioned));
        for line in &provisioned.more_lines {
            println!("{line}");
        }
        for line in lifecycle_lines(options.vendor, &provisioned) {
            println!("{line}");
        }
    }
    Ok(())
}

/// A ready-to-paste request against the local API (`ORGMINT_API_PORT`, default 9000).
fn curl_line(p: &Provisioned) -> String {
    request_line(p, "POST", &p.path, Some((p.content_type, &p.sample_body)))
}

/// `curl` of `method path` with the tenant's headers and, when given, a body of its content type.
fn request_line(p: &Provisioned, method: &str, path: &str, body: Option<(&str, &str)>) -> String {
    let port = std::env::var("ORGMINT_API_PORT").unwrap_or_else(|_| "9000".to_owned());
    // Quoted: a path with a query (Clerk's `?_is_native=1&…`) holds `&`.
    let mut line = format!("curl -sS -X {method} 'http://127.0.0.1:{port}{path}'");
    for (name, value) in &p.headers {
        line.push_str(&format!(" -H '{name}: {}'", value.as_str().unwrap_or_default()));
    }
    if let Some((content_type, body)) = body {
        line.push_str(&format!(" -H 'content-type: {content_type}' -d '{body}'"));
    }
    line
}

/// The organization's lifecycle beside the create, ready to paste: the list, then one organization's read,
/// update and delete, `<id>` standing for the id the create answered with. The delete comes last.
fn lifecycle_lines(vendor: Vendor, p: &Provisioned) -> Vec<String> {
    let (path, query) =
        p.path.split_once('?').map_or((p.path.as_str(), String::new()), |(p, q)| (p, format!("?{q}")));
    let one = format!("{path}/<id>{query}");
    let json = |body| Some(("application/json", body));
    let (list, get, update, delete) = match vendor {
        Vendor::Calcom => (p.path.clone(), true, ("PATCH", json(r#"{"name":"Renamed"}"#)), true),
        Vendor::Clerk => (
            format!("/v1/me/organization_memberships{query}"),
            true,
            ("PATCH", Some(("application/x-www-form-urlencoded", "name=Renamed"))),
            true,
        ),
        Vendor::Datadog => (p.path.clone(), true, ("PUT", json(r#"{"name":"Renamed"}"#)), false),
        Vendor::Devin => (p.path.clone(), false, ("PATCH", json(r#"{"display_name":"Renamed"}"#)), true),
    };
    let mut lines = vec![
        "# its organizations' lifecycle (<id>: the id the create answered with):".to_owned(),
        request_line(p, "GET", &list, None),
    ];
    if get {
        lines.push(request_line(p, "GET", &one, None));
    }
    lines.push(request_line(p, update.0, &one, update.1));
    match delete {
        true => lines.push(request_line(p, "DELETE", &one, None)),
        false => lines.push(format!(
            "# Datadog has no delete; operators: orgmint org delete --vendor {vendor} --tenant {} --org <id>",
            p.public_id
        )),
    }
    lines
}
