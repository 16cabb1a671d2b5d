//! A Cal.com platform manager organization (numeric id, a platform plan) with one user's API key
//! (`Authorization: Bearer cal_…`) and the organization's platform OAuth client (`x-cal-client-id` +
//! `x-cal-secret-key`). `--restricted` makes that user a MEMBER (no `organization.create`), on plan SCALE
//! unless `--plan` says otherwise; the OAuth client then acts with the same restricted rights.

use orgmint::model::NESTED;
use orgmint::{ids, secrets, Credential, NewCredential, Tenant, TenantRef, Vendor};
use serde_json::{json, Map};

pub use calcom_api::PLANS;
use calcom_api::{
    oauth_client_mark, API_KEY, API_KEY_PREFIX, CLIENT_ID_HEADER, MEMBER, OAUTH_CLIENT, OAUTH_CLIENT_ID,
    OAUTH_CLIENT_RATE_LIMIT, ORGANIZATION_CREATE, OWNER, SECRET_KEY_HEADER,
};
use calcom_create_managed_organization::ROUTE;

use super::{route_path, Provisioned, TenantOptions, DEFAULT_RATE_LIMIT};

/// The plan of a tenant made without `--plan`: the lowest that may create managed organizations.
pub const DEFAULT_PLAN: &str = calcom_api::MINIMUM_PLAN;

pub fn provision(options: &TenantOptions, now_ms: i64) -> Result<Provisioned, String> {
    let plan = match options.plan.as_deref() {
        None => DEFAULT_PLAN.to_owned(),
        Some(plan) if PLANS.contains(&plan.to_ascii_uppercase().as_str()) => plan.to_ascii_uppercase(),
        Some(other) => return Err(format!("unknown plan '{other}' (expected one of {})", PLANS.join(", "))),
    };
    let org_id = ids::random_int4_id().to_string();
    let tenant_ref = TenantRef::new(Vendor::Calcom, &org_id);
    let name = options.name.clone().unwrap_or_else(|| "Demo Platform Org".into());
    let mut tenant = Tenant::new(tenant_ref.clone(), name, options.cap, now_ms);
    tenant.rate_limit = options.rate_limit_or(DEFAULT_RATE_LIMIT);
    tenant.plan = Some(plan.clone());
    if options.nested {
        tenant.features.push(NESTED.to_owned());
    }
    let user_id = ids::random_int4_id().to_string();
    let (role, permissions) =
        if options.restricted { (MEMBER, Vec::new()) } else { (OWNER, vec![ORGANIZATION_CREATE.to_owned()]) };
    let credential = |kind: &str, expires_s, public_id: Option<String>| Credential {
        tenant: tenant_ref.clone(),
        kind: kind.to_owned(),
        principal: user_id.clone(),
        role: role.to_owned(),
        permissions: permissions.clone(),
        plan: Some(plan.clone()),
        features: tenant.features.clone(),
        expires_s,
        rate_limit: if public_id.is_some() {
            options.rate_limit_or(OAUTH_CLIENT_RATE_LIMIT)
        } else {
            options.rate_limit_or(DEFAULT_RATE_LIMIT)
        },
        cap: options.cap,
        public_id,
        created_ms: now_ms,
    };
    let api_key = secrets::mint(API_KEY_PREFIX, 32);
    // Cal.com's client ids look like cuids: 25 lowercase alphanumerics.
    let client_id = ids::random_from(ids::BASE36, 25);
    let client_secret = ids::random_hex(64);
    let credentials = vec![
        NewCredential {
            digest: secrets::digest(&api_key),
            credential: credential(API_KEY, options.expires_s(now_ms), None),
        },
        NewCredential {
            digest: secrets::digest(&client_secret),
            credential: credential(OAUTH_CLIENT, None, Some(client_id.clone())),
        },
        // That the client id exists: "wrong secret" and "no such client" are different 401s.
        NewCredential {
            digest: secrets::digest(&oauth_client_mark(&client_id)),
            credential: credential(OAUTH_CLIENT_ID, None, Some(client_id.clone())),
        },
    ];
    let mut headers = Map::new();
    headers.insert("Authorization".to_owned(), json!(format!("Bearer {api_key}")));
    let mut extra = Map::new();
    extra.insert(
        "platform_headers".to_owned(),
        json!({CLIENT_ID_HEADER: client_id, SECRET_KEY_HEADER: client_secret}),
    );
    extra.insert("plan".to_owned(), json!(plan));
    extra.insert("user_id".to_owned(), json!(user_id));
    Ok(Provisioned {
        tenant,
        credentials,
        path: route_path(ROUTE).replace("{orgId}", &org_id),
        public_id: org_id,
        headers,
        extra,
        sample_body: r#"{"name":"Acme Managed Org","metadata":{"tier":"gold"}}"#.to_owned(),
        content_type: "application/json",
        more_lines: Vec::new(),
    })
}
