//! A Datadog parent organization with the multi-organization feature, and one admin's API key and
//! application key (`DD-API-KEY`, `DD-APPLICATION-KEY`).

use orgmint::model::NESTED;
use orgmint::{ids, secrets, Credential, NewCredential, Tenant, TenantRef, Vendor};
use serde_json::{json, Map};

use datadog_create_child_org::{
    ADMIN_ROLE, API_KEY, API_KEY_HEADER, APPLICATION_KEY, APPLICATION_KEY_HEADER, MULTI_ORG, ORG_MANAGEMENT,
    ROUTE,
};

use super::{route_path, Provisioned, TenantOptions, DEFAULT_RATE_LIMIT};

pub fn provision(options: &TenantOptions, now_ms: i64) -> Result<Provisioned, String> {
    let public_id = ids::random_hex(12);
    let tenant_ref = TenantRef::new(Vendor::Datadog, &public_id);
    let name = options.name.clone().unwrap_or_else(|| "Demo Parent Org".into());
    let mut tenant = Tenant::new(tenant_ref.clone(), name, options.cap, now_ms);
    tenant.rate_limit = options.rate_limit_or(DEFAULT_RATE_LIMIT);
    if !options.no_multi_org {
        tenant.features.push(MULTI_ORG.to_owned());
    }
    if options.nested {
        tenant.features.push(NESTED.to_owned());
    }
    let handle = format!("admin-{}@example.com", ids::random_hex(8));
    let (api_key, app_key) = (ids::random_hex(32), ids::random_hex(40));
    let credential = |kind: &str, permissions: Vec<String>, expires_s| Credential {
        tenant: tenant_ref.clone(),
        kind: kind.to_owned(),
        principal: handle.clone(),
        role: if options.restricted { "st" } else { ADMIN_ROLE }.to_owned(),
        permissions,
        plan: None,
        features: tenant.features.clone(),
        expires_s,
        rate_limit: options.rate_limit_or(DEFAULT_RATE_LIMIT),
        cap: options.cap,
        public_id: None,
        created_ms: now_ms,
    };
    // A restricted tenant's user authenticates but lacks `org_management`.
    let permissions = if options.restricted { Vec::new() } else { vec![ORG_MANAGEMENT.to_owned()] };
    let credentials = vec![
        NewCredential {
            digest: secrets::digest(&api_key),
            credential: credential(API_KEY, Vec::new(), None),
        },
        NewCredential {
            digest: secrets::digest(&app_key),
            credential: credential(APPLICATION_KEY, permissions, options.expires_s(now_ms)),
        },
    ];
    let mut headers = Map::new();
    headers.insert(API_KEY_HEADER.to_owned(), json!(api_key));
    headers.insert(APPLICATION_KEY_HEADER.to_owned(), json!(app_key));
    Ok(Provisioned {
        tenant,
        credentials,
        public_id,
        path: route_path(ROUTE).to_owned(),
        headers,
        extra: Map::new(),
        sample_body:
            r#"{"name":"New child org","billing":{"type":"parent_billing"},"subscription":{"type":"pro"}}"#
                .to_owned(),
        content_type: "application/json",
        more_lines: Vec::new(),
    })
}
