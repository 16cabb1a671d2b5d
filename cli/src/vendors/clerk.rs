//! A Clerk instance (with or without the organizations feature), its users, and their clients.
//!
//! The instance is a tenant item holding what the functions need to verify a client token: the issuer,
//! the RSA public key (PEM), the allowed browser origins, `max_allowed_memberships` and the per-account cap.
//! Each user account is a tenant of its own, `<instance id>/<user id>`, with the instance's cap: the cap
//! applies per account. The instance's private key (PKCS#8 PEM), which signs client tokens, is a tenant
//! secret in a partition no function reads. Signing a user in makes a client (browser or device) with one
//! active session, and its client token: what FAPI authenticates every request by.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use orgmint::{clock, ids, ClientSession, Store, Tenant, TenantRef, Vendor};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Provisioned, TenantOptions, DEFAULT_RATE_LIMIT};
use crate::CliError;

/// The name of the instance's private signing key among its tenant secrets.
pub const SIGNING_KEY: &str = "signing_key";
/// The instance's feature and the attributes the functions read, from the functions' own crate.
pub use clerk_fapi::{ATTR_ISSUER, ATTR_MAX_MEMBERSHIPS, ATTR_ORIGINS, ATTR_PUBLIC_KEY, ORGANIZATIONS};
/// The attribute naming the user an instance was created with (the CLI's own: no function reads it).
pub const ATTR_FIRST_USER: &str = "first_user";
/// Sessions last this long unless `--ttl` (or `--key-ttl` at `tenant create`) says otherwise.
pub const DEFAULT_TTL_S: i64 = 3600;
/// A client (browser or device) outlives its sessions: its token lasts this long (a year), and an
/// expired session leaves a signed-out client, as in Clerk.
pub const CLIENT_TTL_S: i64 = 365 * 24 * 3600;
/// The Frontend API's host as publishable keys encode it: `ORGMINT_CLERK_FAPI_HOST`, else the local API
/// (`127.0.0.1:<ORGMINT_API_PORT or 9000>`; clerk-js wants a host with a '.').
pub const FAPI_HOST_ENV: &str = "ORGMINT_CLERK_FAPI_HOST";

/// The issuer (`iss`) of an instance's client and session tokens: its Frontend API URL.
pub fn issuer(instance_id: &str) -> String {
    format!("{ISSUER_PREFIX}{instance_id}")
}
pub const ISSUER_PREFIX: &str = "https://clerk.orgmint.local/";

/// The claims of a client token (see `clerk_fapi::client_token`).
#[derive(Debug, Clone, Serialize)]
pub struct ClientClaims {
    pub iss: String,
    pub id: String,
    pub sub: String,
    pub rotating_token: String,
    pub iat: i64,
    pub exp: i64,
}

pub use crate::jwt::{generate_key, sign_rs256 as sign};

pub fn new_user_id() -> String {
    format!("user_{}", ids::random_from(ids::BASE62, 27))
}

/// The tenant id of a user's account: the cap's scope.
pub fn account_scope(instance_id: &str, user_id: &str) -> String {
    format!("{instance_id}/{user_id}")
}

/// `pk_test_` + standard base64 of `<host>$`, as Clerk's publishable keys encode the FAPI host.
pub fn publishable_key(host: &str) -> String {
    format!("pk_test_{}", STANDARD.encode(format!("{host}$")))
}

/// The FAPI host publishable keys name (see [`FAPI_HOST_ENV`]).
pub fn fapi_host() -> String {
    std::env::var(FAPI_HOST_ENV).unwrap_or_else(|_| {
        format!("127.0.0.1:{}", std::env::var("ORGMINT_API_PORT").unwrap_or_else(|_| "9000".into()))
    })
}

/// The tenant item of one user account of `instance`: the instance's cap and rate limit.
pub fn account(instance: &Tenant, user_id: &str, now_ms: i64) -> Tenant {
    let scope = TenantRef::new(Vendor::Clerk, account_scope(&instance.tenant.id, user_id));
    let mut account = Tenant::new(scope, user_id, instance.cap, now_ms);
    account.rate_limit = instance.rate_limit;
    account
}

/// A client signed in as `user_id`, its session lasting `ttl_s` from `now_ms` (over when negative), and
/// its client token signed with the instance's key.
pub fn sign_in(
    instance_id: &str,
    private_pem: &str,
    user_id: &str,
    now_ms: i64,
    ttl_s: i64,
) -> Result<(ClientSession, String), CliError> {
    let client = ClientSession {
        vendor: Vendor::Clerk,
        client_id: format!("client_{}", ids::random_from(ids::BASE62, 27)),
        instance: instance_id.to_owned(),
        user_id: user_id.to_owned(),
        session_id: format!("sess_{}", ids::random_from(ids::BASE62, 27)),
        status: ClientSession::ACTIVE.to_owned(),
        expires_ms: now_ms + ttl_s * 1_000,
        active_org: None,
        created_ms: now_ms,
        updated_ms: now_ms,
    };
    let now_s = now_ms.div_euclid(1_000);
    let claims = ClientClaims {
        iss: issuer(instance_id),
        id: client.client_id.clone(),
        sub: user_id.to_owned(),
        rotating_token: ids::random_from(ids::BASE36, 20),
        iat: now_s,
        exp: now_s + CLIENT_TTL_S,
    };
    let token = sign(private_pem, instance_id, &claims)?;
    Ok((client, token))
}

/// How a signed-in client calls: its session, token, path and headers (native clerk-js's way).
pub fn calling(client: &ClientSession, token: &str) -> (String, Map<String, Value>, Map<String, Value>) {
    let path = format!(
        "{}?_is_native=1&_clerk_session_id={}",
        super::route_path(clerk_create_organization::ROUTE),
        client.session_id
    );
    let mut headers = Map::new();
    headers.insert("Authorization".to_owned(), json!(token));
    let mut extra = Map::new();
    extra.insert("user_id".to_owned(), json!(client.user_id));
    extra.insert("session_id".to_owned(), json!(client.session_id));
    extra.insert("client_token".to_owned(), json!(token));
    extra.insert("publishable_key".to_owned(), json!(publishable_key(&fapi_host())));
    (path, headers, extra)
}

/// What `make dev` prints beside the curl line: the publishable key, and clerk-js itself (headless in Node,
/// as Expo runs it) against the local API with this client's token.
pub fn clerk_js_lines(token: &str) -> Vec<String> {
    let key = publishable_key(&fapi_host());
    let port = std::env::var("ORGMINT_API_PORT").unwrap_or_else(|_| "9000".into());
    vec![
        format!("  publishable key {key} (clerk-js: new Clerk(key, {{ proxyUrl: 'http://127.0.0.1:{port}' }}))"),
        format!(
            "  clerk-js: ORGMINT_URL=http://127.0.0.1:{port} CLERK_PUBLISHABLE_KEY={key} CLERK_CLIENT_TOKEN={token} \
             NODE_PATH=.tools/node_modules node tests/clients/clerk_client.mjs flow"
        ),
    ]
}

/// The instance's tenant item and signing key, its first user's account, and that user's client.
/// Storing them is [`store_instance`]'s job.
pub struct Instance {
    pub tenant: Tenant,
    pub private_pem: String,
    pub first_user: Tenant,
    pub client: ClientSession,
    pub token: String,
}

pub fn provision(options: &TenantOptions, now_ms: i64) -> Result<(Provisioned, Instance), CliError> {
    let instance_id = format!("ins_{}", ids::random_from(ids::BASE62, 27));
    let user_id = new_user_id();
    let (private_pem, public_pem) = generate_key()?;
    let mut tenant = Tenant::new(
        TenantRef::new(Vendor::Clerk, &instance_id),
        options.name.clone().unwrap_or_else(|| "Demo Instance".into()),
        options.cap,
        now_ms,
    );
    tenant.rate_limit = options.rate_limit_or(DEFAULT_RATE_LIMIT);
    if !options.restricted {
        tenant.features = vec![ORGANIZATIONS.to_owned()];
    }
    tenant.attributes.insert(ATTR_ISSUER.to_owned(), issuer(&instance_id));
    tenant.attributes.insert(ATTR_PUBLIC_KEY.to_owned(), public_pem);
    tenant.attributes.insert(ATTR_FIRST_USER.to_owned(), user_id.clone());
    for origin in &options.origin {
        if origin.is_empty() || origin.contains(char::is_whitespace) {
            return Err(format!("--origin '{origin}' is not an origin (scheme://host[:port])").into());
        }
    }
    if !options.origin.is_empty() {
        tenant.attributes.insert(ATTR_ORIGINS.to_owned(), options.origin.join(" "));
    }
    let max_memberships = clerk_fapi::DEFAULT_MAX_MEMBERSHIPS.to_string();
    tenant.attributes.insert(ATTR_MAX_MEMBERSHIPS.to_owned(), max_memberships);
    let first_user = account(&tenant, &user_id, now_ms);
    let ttl = options.key_ttl.unwrap_or(DEFAULT_TTL_S);
    let (client, token) = sign_in(&instance_id, &private_pem, &user_id, now_ms, ttl)?;
    let (path, headers, extra) = calling(&client, &token);
    let provisioned = Provisioned {
        tenant: tenant.clone(),
        credentials: Vec::new(),
        public_id: instance_id,
        path,
        headers,
        extra,
        sample_body: "name=Acme%20Inc".to_owned(),
        content_type: "application/x-www-form-urlencoded",
        more_lines: clerk_js_lines(&token),
    };
    Ok((provisioned, Instance { tenant, private_pem, first_user, client, token }))
}

/// Stores the instance with its signing key (one transaction), its first user's account, that user's
/// client, and the instance's origins.
pub async fn store_instance(store: &Store, instance: &Instance) -> Result<(), CliError> {
    store.create_tenant_with_secrets(&instance.tenant, &[], &[(SIGNING_KEY, &instance.private_pem)]).await?;
    store.create_tenant(&instance.first_user, &[]).await?;
    store.create_client_session(&instance.client).await?;
    if let Some(origins) = instance.tenant.attributes.get(ATTR_ORIGINS) {
        for origin in origins.split_ascii_whitespace() {
            store.allow_origin(Vendor::Clerk, origin).await?;
        }
    }
    Ok(())
}

/// Signs a user of the instance in on a new client (a new user, whose account is created, when `user` is
/// `None`): what `orgmint clerk session` prints.
pub async fn session(
    store: &Store,
    instance_id: &str,
    user: Option<&str>,
    ttl_s: i64,
) -> Result<Value, CliError> {
    let instance_ref = TenantRef::new(Vendor::Clerk, instance_id);
    let instance = store
        .tenant(&instance_ref)
        .await?
        .filter(|t| t.attributes.contains_key(ATTR_PUBLIC_KEY))
        .ok_or_else(|| format!("no clerk instance '{instance_id}'"))?;
    let private_pem = store
        .tenant_secret(&instance_ref, SIGNING_KEY)
        .await?
        .ok_or_else(|| format!("clerk instance '{instance_id}' has no signing key"))?;
    let now_ms = clock::now_ms();
    let user_id = match user {
        Some(user_id) => {
            let scope = TenantRef::new(Vendor::Clerk, account_scope(instance_id, user_id));
            store
                .tenant(&scope)
                .await?
                .ok_or_else(|| format!("no user '{user_id}' in clerk instance '{instance_id}'"))?;
            user_id.to_owned()
        }
        None => {
            let user_id = new_user_id();
            store.create_tenant(&account(&instance, &user_id, now_ms), &[]).await?;
            user_id
        }
    };
    let (client, token) = sign_in(instance_id, &private_pem, &user_id, now_ms, ttl_s)?;
    store.create_client_session(&client).await?;
    let (path, headers, extra) = calling(&client, &token);
    let mut out = json!({"path": path, "headers": headers});
    for (key, value) in extra {
        out[key] = value;
    }
    Ok(out)
}
