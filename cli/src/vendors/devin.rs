//! A Devin enterprise with one admin's personal API key (`apk_user_…`).

use orgmint::{ids, secrets, Credential, NewCredential, Tenant, TenantRef, Vendor};
use serde_json::{json, Map};

use devin_create_enterprise_organization::{API_KEY, API_KEY_PREFIX, ENTERPRISE_ADMIN, ROUTE};

use super::{route_path, Provisioned, TenantOptions, DEFAULT_RATE_LIMIT};

pub fn provision(options: &TenantOptions, now_ms: i64) -> Result<Provisioned, String> {
    let id = format!("ent-{}", ids::random_hex(16));
    let tenant_ref = TenantRef::new(Vendor::Devin, &id);
    let mut tenant = Tenant::new(
        tenant_ref.clone(),
        options.name.clone().unwrap_or_else(|| "Demo Enterprise".into()),
        options.cap,
        now_ms,
    );
    tenant.rate_limit = options.rate_limit_or(DEFAULT_RATE_LIMIT);
    let key = secrets::mint(API_KEY_PREFIX, 40);
    let credential = Credential {
        tenant: tenant_ref,
        kind: API_KEY.to_owned(),
        principal: format!("user-{}", ids::random_hex(24)),
        role: if options.restricted { "member" } else { ENTERPRISE_ADMIN }.to_owned(),
        permissions: Vec::new(),
        plan: None,
        features: Vec::new(),
        expires_s: options.expires_s(now_ms),
        rate_limit: options.rate_limit_or(DEFAULT_RATE_LIMIT),
        cap: options.cap,
        public_id: None,
        created_ms: now_ms,
    };
    let mut headers = Map::new();
    headers.insert("Authorization".to_owned(), json!(format!("Bearer {key}")));
    Ok(Provisioned {
        tenant,
        credentials: vec![NewCredential { digest: secrets::digest(&key), credential }],
        public_id: id,
        path: route_path(ROUTE).to_owned(),
        headers,
        extra: Map::new(),
        sample_body: r#"{"display_name":"Acme Research","acu_limit":500}"#.to_owned(),
        content_type: "application/json",
        more_lines: Vec::new(),
    })
}
