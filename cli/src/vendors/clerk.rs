//! A Clerk instance (with or without the organizations feature) and its users' session tokens.
//!
//! The instance is a tenant item holding what the function needs to verify a session: the issuer, the
//! RSA public key (PEM), the per-account cap and `max_allowed_memberships`. Each user account is a tenant
//! of its own, `<instance id>/<user id>`, with the instance's cap: the cap applies per account. The
//! instance's private signing key (PKCS#8 PEM) is stored as a tenant secret, in a partition the function
//! never reads; `orgmint clerk session` reads it to mint tokens.

use orgmint::{clock, ids, Store, Tenant, TenantRef, Vendor};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Provisioned, TenantOptions, DEFAULT_RATE_LIMIT};
use crate::CliError;

/// The name of the instance's private signing key among its tenant secrets.
pub const SIGNING_KEY: &str = "signing_key";
/// The instance's feature and the attributes the function reads, from the function itself.
pub use clerk_create_organization::{ATTR_ISSUER, ATTR_MAX_MEMBERSHIPS, ATTR_PUBLIC_KEY, ORGANIZATIONS};
/// The attribute naming the user an instance was created with (the CLI's own: no function reads it).
pub const ATTR_FIRST_USER: &str = "first_user";
/// Session tokens live this long unless `--ttl` says otherwise.
pub const DEFAULT_TTL_S: i64 = 3600;

/// The issuer (`iss`) of an instance's session tokens: its Frontend API URL.
pub fn issuer(instance_id: &str) -> String {
    format!("{ISSUER_PREFIX}{instance_id}")
}
pub const ISSUER_PREFIX: &str = "https://clerk.orgmint.local/";

/// The claims of a Clerk session token.
#[derive(Debug, Clone, Serialize)]
pub struct SessionClaims {
    pub iss: String,
    pub sub: String,
    pub sid: String,
    pub azp: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl SessionClaims {
    /// Claims for `user_id`'s new session at `instance_id`, valid `ttl_s` seconds from `now_s` (already
    /// expired when negative).
    pub fn new(instance_id: &str, user_id: &str, now_s: i64, ttl_s: i64) -> Self {
        let exp = now_s + ttl_s;
        let iat = now_s.min(exp);
        SessionClaims {
            iss: issuer(instance_id),
            sub: user_id.to_owned(),
            sid: format!("sess_{}", ids::random_from(ids::BASE62, 27)),
            azp: "http://localhost:3000".to_owned(),
            iat,
            // Clerk backdates nbf by 10 s against clock skew.
            nbf: iat - 10,
            exp,
        }
    }
}

pub use crate::jwt::{generate_key, sign_rs256 as sign};

pub fn new_user_id() -> String {
    format!("user_{}", ids::random_from(ids::BASE62, 27))
}

/// The tenant id of a user's account: the cap's scope.
pub fn account_scope(instance_id: &str, user_id: &str) -> String {
    format!("{instance_id}/{user_id}")
}

/// The tenant item of one user account of `instance`: the instance's cap and rate limit.
pub fn account(instance: &Tenant, user_id: &str, now_ms: i64) -> Tenant {
    let scope = TenantRef::new(Vendor::Clerk, account_scope(&instance.tenant.id, user_id));
    let mut account = Tenant::new(scope, user_id, instance.cap, now_ms);
    account.rate_limit = instance.rate_limit;
    account
}

/// The instance's tenant item and signing key, and its first user's account. Storing them is
/// [`store_instance`]'s job (three items, one transaction each: instance with its secret, then the user).
pub struct Instance {
    pub tenant: Tenant,
    pub private_pem: String,
    pub first_user: Tenant,
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
    let max_memberships = clerk_create_organization::DEFAULT_MAX_MEMBERSHIPS.to_string();
    tenant.attributes.insert(ATTR_MAX_MEMBERSHIPS.to_owned(), max_memberships);
    let first_user = account(&tenant, &user_id, now_ms);
    let ttl = options.key_ttl.unwrap_or(DEFAULT_TTL_S);
    let claims = SessionClaims::new(&instance_id, &user_id, now_ms.div_euclid(1_000), ttl);
    let token = sign(&private_pem, &instance_id, &claims)?;
    let mut headers = Map::new();
    headers.insert("Authorization".to_owned(), json!(format!("Bearer {token}")));
    let mut extra = Map::new();
    extra.insert("user_id".to_owned(), json!(user_id));
    let provisioned = Provisioned {
        tenant: tenant.clone(),
        credentials: Vec::new(),
        public_id: instance_id,
        path: super::route_path(clerk_create_organization::ROUTE).to_owned(),
        headers,
        extra,
        sample_body: "name=Acme%20Inc".to_owned(),
        content_type: "application/x-www-form-urlencoded",
    };
    Ok((provisioned, Instance { tenant, private_pem, first_user, token }))
}

/// Stores the instance with its signing key (one transaction), then its first user's account.
pub async fn store_instance(store: &Store, instance: &Instance) -> Result<(), CliError> {
    store.create_tenant_with_secrets(&instance.tenant, &[], &[(SIGNING_KEY, &instance.private_pem)]).await?;
    store.create_tenant(&instance.first_user, &[]).await?;
    Ok(())
}

/// A session token for a user of the instance (a new user, whose account is created, when `user` is
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
    let claims = SessionClaims::new(instance_id, &user_id, now_ms.div_euclid(1_000), ttl_s);
    let token = sign(&private_pem, instance_id, &claims)?;
    Ok(json!({
        "user_id": user_id,
        "session_id": claims.sid,
        "headers": {"Authorization": format!("Bearer {token}")},
    }))
}
