//! Datadog's `POST /api/v1/org`: create a child organization, Datadog's v1 dialect (`datadog_api`) over
//! orgmint's capped create. The child is a tenant of its own: its keys work at once and it creates children
//! under its own cap.

mod validate;

use std::future::Future;

use datadog_api::{all_errors, DatadogApi};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{with_code, Call};
use orgmint::pipeline::{self, Authenticated, Minted, Mints, Operation};
use orgmint::{
    ids, secrets, Credential, Member, NewCredential, NewOrg, Org, RateWindow, Store, TenantRef, Vendor,
};
use serde_json::json;

pub use datadog_api::{
    ADMIN_ROLE, API_KEY, API_KEY_HEADER, API_KEY_PARAM, APPLICATION_KEY, APPLICATION_KEY_HEADER,
    APPLICATION_KEY_PARAM, MULTI_ORG, ORG_MANAGEMENT,
};
pub use validate::{name as checked_name, validate, OrganizationCreateBody};

pub const ROUTE: &str = "POST /api/v1/org";

/// The endpoint on orgmint's pipeline.
pub type Datadog = Create;

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Create>(store, req).await
}

/// `POST /api/v1/org`.
pub struct Create;

impl Operation for Create {
    type Dialect = DatadogApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: bool = true;
    const IDEMPOTENT: bool = true;
    type Input = OrganizationCreateBody;

    /// A parent without the multi-organization feature creates no child.
    fn authorize(_call: &Call, owner: &Credential) -> Result<(), Response<Body>> {
        if !owner.has_feature(MULTI_ORG) {
            return Err(datadog_api::errors(StatusCode::FORBIDDEN, "Forbidden"));
        }
        Ok(())
    }

    fn parse(req: &Request, _call: &Call) -> Result<OrganizationCreateBody, Response<Body>> {
        let bytes = datadog_api::json_body(req)?;
        validate(bytes)
            .map_err(|problems| with_code(all_errors(StatusCode::BAD_REQUEST, &problems), "invalid"))
    }

    fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        input: OrganizationCreateBody,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        pipeline::create_org::<Self>(store, call, found, input)
    }
}

impl Mints for Create {
    fn mint(
        call: &Call,
        owner: &Credential,
        input: &OrganizationCreateBody,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let public_id = ids::random_hex(12);
        let api_key = ids::random_hex(32);
        let app_key = ids::random_hex(40);
        let handle = owner.principal.clone();
        let org = json!({
            "billing": {"type": input.billing_type},
            "created": orgmint::clock::rfc3339(call.now_ms),
            "description": "",
            "name": input.name,
            "public_id": public_id,
            "settings": {
                "private_widget_share": false,
                "saml": {"enabled": false},
                "saml_autocreate_access_role": "st",
                "saml_autocreate_users_domains": {"domains": [], "enabled": false},
                "saml_can_be_enabled": false,
                "saml_idp_endpoint": "",
                "saml_idp_initiated_login": {"enabled": false},
                "saml_idp_metadata_uploaded": false,
                "saml_login_url": "",
                "saml_strict_mode": {"enabled": false},
            },
            "subscription": {"type": input.subscription_type},
            "trial": input.subscription_type == "trial",
        });
        let created = json!({
            "api_key": {
                "created": orgmint::clock::sql_datetime(call.now_ms),
                "created_by": handle,
                "key": api_key,
                "name": "Default",
            },
            "application_key": {"hash": app_key, "name": "Default", "owner": handle},
            "org": org,
            "user": {
                "access_role": ADMIN_ROLE,
                "disabled": false,
                "email": handle,
                "handle": handle,
                "icon": "",
                "name": handle,
                "verified": true,
            },
        });

        // The creator administers the child with the same rights; it inherits the parent's cap and rate
        // limit, and the multi-organization feature only when the parent's tenant nests (Datadog enables it
        // per account): without it a child creates nothing, and the parent's cap bounds everything.
        let child = TenantRef::new(Vendor::Datadog, &public_id);
        let mut child_tenant = owner.child_tenant(child.clone(), &input.name, call.now_ms);
        if !owner.nests() {
            child_tenant.features.retain(|f| f != MULTI_ORG);
        }
        let key = |kind: &str, permissions: Vec<String>| Credential {
            tenant: child.clone(),
            kind: kind.to_owned(),
            principal: handle.clone(),
            role: ADMIN_ROLE.to_owned(),
            permissions,
            plan: None,
            features: child_tenant.features.clone(),
            expires_s: None,
            rate_limit: child_tenant.rate_limit,
            cap: child_tenant.cap,
            public_id: None,
            created_ms: call.now_ms,
        };
        let new = NewOrg {
            tenant: owner.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: public_id.clone(),
                name: input.name.clone(),
                slug: None,
                created_ms: call.now_ms,
                doc: created["org"].to_string(),
            },
            members: vec![Member { principal: handle.clone(), role: ADMIN_ROLE.to_owned() }],
            credentials: vec![
                NewCredential { digest: secrets::digest(&api_key), credential: key(API_KEY, Vec::new()) },
                NewCredential {
                    digest: secrets::digest(&app_key),
                    credential: key(APPLICATION_KEY, vec![ORG_MANAGEMENT.to_owned()]),
                },
            ],
            child_tenant: Some(child_tenant.clone()),
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer: created }
    }
}
