//! `orgmint`: operators provision the table, tenants and credentials with it; scripts and tests bootstrap
//! with it. With `--json` a command prints exactly one JSON object on stdout; logs go to stderr.

use orgmint_cli::{explain, vendors, CliError};

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use orgmint::{Store, TenantRef, Vendor};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "orgmint", about = "orgmint's admin CLI: the table and tenants", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Tenants: the scopes caps apply to, with their admin credentials.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// A tenant's organizations: list them, delete one (as the vendor's DELETE would; for Datadog, whose API
    /// has none, the only way).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Clerk: session tokens for an instance's users.
    Clerk {
        #[command(subcommand)]
        command: ClerkCommand,
    },
    /// The vendors orgmint serves, one a line (with --json: each with its function and route).
    Vendors {
        #[arg(long)]
        json: bool,
    },
    /// Scan the table and report every broken invariant (counter ≠ orgs, orphans, an org over its cap);
    /// exits non-zero when any is.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// The tenant's organizations, in id order: `{"orgs": [{"id", "name", "slug"}]}`.
    List(ShowOptions),
    /// Delete one organization with what belongs to it (slug claim, memberships, the credentials its create
    /// minted, its own empty scope); its slot of the cap is free again. Prints the tenant's new `org_count`.
    Delete {
        #[command(flatten)]
        scope: ShowOptions,
        /// The organization, as the vendor's API shows its id.
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the table if it is missing (idempotent), with its key schema and TTL attribute.
    Create {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ClerkCommand {
    /// Create the local session-token signing key file if it is missing (make dev and make test; in AWS
    /// the key is KMS's), and print its key id.
    SigningKey {
        /// The PKCS#8 PEM file (what `ORGMINT_CLERK_SIGNING_KEY` names for the functions).
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Sign a user of an instance in on a new client (a new user when --user is absent): its client token.
    Session(SessionOptions),
}

#[derive(Args)]
struct SessionOptions {
    /// The instance (`tenant` of `orgmint tenant create --vendor clerk`).
    #[arg(long)]
    tenant: String,
    /// An existing user of the instance; absent: a new user (and account) is created.
    #[arg(long)]
    user: Option<String>,
    /// Seconds the session lasts; negative makes an already expired session.
    #[arg(long, default_value_t = vendors::clerk::DEFAULT_TTL_S, allow_negative_numbers = true)]
    ttl: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with a fresh admin credential; prints how to call the API as it.
    Create(vendors::TenantOptions),
    /// Show a tenant's cap, its counter and the organizations actually stored.
    Show(ShowOptions),
}

#[derive(Args)]
struct ShowOptions {
    #[arg(long)]
    vendor: Vendor,
    #[arg(long)]
    tenant: String,
    /// Clerk: the user whose account to show (default: the user the tenant was created with).
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    json: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = Store::from_env().await;
    let result = match cli.command {
        Command::Table { command: TableCommand::Create { json } } => table_create(&store, json).await,
        Command::Tenant { command: TenantCommand::Create(options) } => {
            vendors::create_tenant(&store, &options).await
        }
        Command::Tenant { command: TenantCommand::Show(options) } => tenant_show(&store, &options).await,
        Command::Org { command: OrgCommand::List(options) } => org_list(&store, &options).await,
        Command::Org { command: OrgCommand::Delete { scope, org } } => org_delete(&store, &scope, &org).await,
        Command::Clerk { command: ClerkCommand::Session(options) } => clerk_session(&store, &options).await,
        Command::Clerk { command: ClerkCommand::SigningKey { file, json } } => clerk_signing_key(&file, json),
        Command::Verify { json } => verify(&store, json).await,
        Command::Vendors { json } => {
            vendors(json);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (endpoint, explicit) = store.endpoint();
            eprintln!("orgmint: {}", explain(&err, &endpoint, explicit));
            ExitCode::FAILURE
        }
    }
}

async fn table_create(store: &Store, as_json: bool) -> Result<(), CliError> {
    let created = store.create_table().await?;
    let table = store.table();
    print(
        as_json,
        &json!({"table": table, "created": created}),
        &if created { format!("created table {table}") } else { format!("table {table} already exists") },
    );
    Ok(())
}

async fn tenant_show(store: &Store, options: &ShowOptions) -> Result<(), CliError> {
    let scope = vendors::scope_id(store, options.vendor, &options.tenant, options.user.as_deref()).await?;
    let tenant_ref = TenantRef::new(options.vendor, scope.clone());
    let tenant = store
        .tenant(&tenant_ref)
        .await?
        .ok_or_else(|| format!("no {} tenant '{}'", options.vendor, options.tenant))?;
    let orgs = store.count_orgs(&tenant_ref).await?;
    let mut out = json!({
        "vendor": options.vendor.as_str(),
        "tenant": options.tenant,
        "name": tenant.name,
        "cap": tenant.cap,
        "org_count": tenant.org_count,
        "orgs": orgs,
    });
    if let Some((_, user)) = scope.split_once('/').filter(|_| options.vendor == Vendor::Clerk) {
        out["user_id"] = Value::from(user);
    }
    let text = format!(
        "{} tenant {} ({}): {} of {} organizations (counter {})",
        options.vendor, options.tenant, tenant.name, orgs, tenant.cap, tenant.org_count
    );
    print(options.json, &out, &text);
    Ok(())
}

async fn org_list(store: &Store, options: &ShowOptions) -> Result<(), CliError> {
    let scope = vendors::scope_id(store, options.vendor, &options.tenant, options.user.as_deref()).await?;
    let tenant_ref = TenantRef::new(options.vendor, scope);
    store
        .tenant(&tenant_ref)
        .await?
        .ok_or_else(|| format!("no {} tenant '{}'", options.vendor, options.tenant))?;
    let orgs = store.orgs(&tenant_ref).await?;
    let listed: Vec<Value> =
        orgs.iter().map(|o| json!({"id": o.id, "name": o.name, "slug": o.slug})).collect();
    let text: Vec<String> =
        orgs.iter().map(|o| format!("{}\t{}\t{}", o.id, o.name, o.slug.as_deref().unwrap_or("-"))).collect();
    print(options.json, &json!({"orgs": listed}), &text.join("\n"));
    Ok(())
}

async fn org_delete(store: &Store, options: &ShowOptions, org: &str) -> Result<(), CliError> {
    use orgmint::store::Deleted;
    let scope = vendors::scope_id(store, options.vendor, &options.tenant, options.user.as_deref()).await?;
    let tenant_ref = TenantRef::new(options.vendor, scope);
    match store.delete_org_scanning(&tenant_ref, org).await? {
        Deleted::Deleted { org_count, .. } => {
            let out = json!({"vendor": options.vendor.as_str(), "tenant": options.tenant, "deleted": org, "org_count": org_count});
            let text = format!("deleted {org}; {} tenant {} now holds {org_count}", options.vendor, options.tenant);
            print(options.json, &out, &text);
            Ok(())
        }
        // The operators' delete sends no idempotency key: no twin.
        Deleted::NotFound | Deleted::Twin(_) => Err(format!("no organization '{org}' in {} tenant '{}'", options.vendor, options.tenant).into()),
        Deleted::HasOrgs => {
            Err(format!("organization '{org}' holds organizations of its own: delete those first (orgmint org list --vendor {} --tenant {org})", options.vendor).into())
        }
    }
}

fn clerk_signing_key(file: &std::path::Path, json: bool) -> Result<(), CliError> {
    use clerk_fapi::signer::LocalSigner;
    let created = !file.exists();
    if created {
        let pem = LocalSigner::generate_pem().map_err(|e| e.0)?;
        orgmint_cli::write_private(file, &pem)?;
    }
    let pem = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let signer = LocalSigner::from_pem(&pem).map_err(|e| format!("{}: {}", file.display(), e.0))?;
    let out = json!({"file": file.display().to_string(), "kid": signer.kid(), "created": created});
    let text =
        format!("{} key {} ({})", if created { "created" } else { "kept" }, signer.kid(), file.display());
    print(json, &out, &text);
    Ok(())
}

async fn clerk_session(store: &Store, options: &SessionOptions) -> Result<(), CliError> {
    let out = vendors::clerk::session(store, &options.tenant, options.user.as_deref(), options.ttl).await?;
    let text = format!(
        "user {}\nAuthorization: {}",
        out["user_id"].as_str().unwrap_or_default(),
        out["headers"]["Authorization"].as_str().unwrap_or_default()
    );
    print(options.json, &out, &text);
    Ok(())
}

async fn verify(store: &Store, as_json: bool) -> Result<(), CliError> {
    let inventory = store.inventory().await?;
    let violations = orgmint::verify::violations(&inventory);
    let out = json!({
        "ok": violations.is_empty(),
        "tenants": inventory.tenants.len(),
        "orgs": inventory.orgs.len(),
        "violations": violations,
    });
    let mut text = format!("{} tenants, {} orgs: ", inventory.tenants.len(), inventory.orgs.len());
    text.push_str(if violations.is_empty() { "every invariant holds" } else { "invariants broken:" });
    for v in &violations {
        text.push_str(&format!("\n  {v}"));
    }
    print(as_json, &out, &text);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("{} invariant(s) broken", violations.len()).into())
    }
}

/// The registry's vendors: what scripts iterate over instead of a list of their own.
fn vendors(as_json: bool) {
    use orgmint_cli::registry::FUNCTIONS;
    let all: Vec<Value> = FUNCTIONS
        .iter()
        .map(|f| json!({"vendor": f.vendor.as_str(), "function": f.name, "route": f.route}))
        .collect();
    let text: Vec<&str> = FUNCTIONS.iter().map(|f| f.vendor.as_str()).collect();
    print(as_json, &json!({ "vendors": all }), &text.join("\n"));
}

/// One JSON object on stdout with `--json`, human text otherwise.
fn print(as_json: bool, value: &Value, text: &str) {
    if as_json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}
