//! Cal.com's `POST /v2/organizations/{orgId}/organizations`: create a managed organization, in Cal.com's API
//! v2 dialect (`calcom-api`) over orgmint's capped create. The managed organization is a tenant of its own
//! with the manager's cap and rate limit; it manages organizations of its own only when the manager's
//! tenant nests.
//!
//! Checks run in Cal.com's order (guards before pipes): authentication (401) → the org guard, role or
//! PBAC permission `organization.create`, platform plan (403) → body (413/400) → one transaction (the cap's
//! 403 wins over a duplicate slug's 409).

mod slugify;
mod validate;

use calcom_api::{CalcomApi, Caller, Ctx, Needs, API_KEY, API_KEY_PREFIX, OWNER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::pipeline::{self, Authenticated, Minted, Mints, Operation};
use orgmint::{
    ids, secrets, Credential, Error, Member, NewCredential, NewOrg, Org, RateWindow, Store, TenantRef, Vendor,
};
use serde_json::{json, Value};

pub use calcom_api::{
    oauth_client_mark, ADMIN, CLIENT_ID_HEADER, MEMBER, MINIMUM_PLAN, OAUTH_CLIENT, OAUTH_CLIENT_ID,
    ORGANIZATION_CREATE, PLANS, SECRET_KEY_HEADER,
};
pub use slugify::slugify;
pub use validate::{
    effective_slug, validate, CreateOrganizationInput, Invalid, BOTH_EXPIRY_OPTIONS, METADATA_MESSAGE,
};

pub const ROUTE: &str = "POST /v2/organizations/{orgId}/organizations";

/// The endpoint on orgmint's pipeline.
pub type Calcom = Create;

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Create>(store, req).await
}

pub struct Create;

impl Operation for Create {
    type Dialect = CalcomApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { permission: ORGANIZATION_CREATE, managed_org: false };
    const IDEMPOTENT: bool = true;
    type Input = CreateOrganizationInput;

    fn parse(req: &Request, ctx: &Ctx) -> Result<CreateOrganizationInput, Response<Body>> {
        calcom_api::validated(req, ctx, validate)
    }

    async fn act(
        store: &Store,
        ctx: &Ctx,
        found: &Authenticated<Caller>,
        input: CreateOrganizationInput,
    ) -> Result<Response<Body>, Response<Body>> {
        pipeline::create_org::<Self>(store, ctx, found, input).await
    }
}

impl Mints for Create {
    /// The id is drawn without reading the table: the transaction proves it unique (the child tenant's key
    /// `TENANT#calcom#<id>` is global and put with `attribute_not_exists`). 31 random bits collide among
    /// tens of thousands of organizations: the pipeline mints again, up to three times in all.
    fn mint(
        ctx: &Ctx,
        caller: &Caller,
        input: &CreateOrganizationInput,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let caller = &caller.credential;
        let ttl_s = input.api_key_ttl_s();
        let now_s = ctx.now_ms.div_euclid(1_000);
        let id = u64::from(ids::random_int4_id());
        let slug = effective_slug(input, id);
        let api_key = secrets::mint(API_KEY_PREFIX, 32);
        // `metadata` only when some was stored, as Cal.com's output class leaves it out.
        let mut org = json!({"id": id, "name": input.name, "slug": slug});
        if let Some(metadata) = &input.metadata {
            org["metadata"] = Value::Object(metadata.clone());
        }
        // The managed org inherits the manager's cap and rate limit; it has a platform subscription of its
        // own (and so may manage orgs) only when the manager's tenant nests: a tenant's cap then bounds
        // everything it can create.
        let child_ref = TenantRef::new(Vendor::Calcom, id.to_string());
        let mut child = caller.child_tenant(child_ref.clone(), &input.name, ctx.now_ms);
        if !caller.nests() {
            child.plan = None;
        }
        let key = Credential {
            tenant: child_ref,
            kind: API_KEY.to_owned(),
            principal: caller.principal.clone(),
            role: OWNER.to_owned(),
            permissions: vec![ORGANIZATION_CREATE.to_owned()],
            plan: child.plan.clone(),
            features: child.features.clone(),
            expires_s: ttl_s.map(|ttl| now_s.saturating_add(ttl)),
            rate_limit: child.rate_limit,
            cap: child.cap,
            public_id: None,
            created_ms: ctx.now_ms,
        };
        let new = NewOrg {
            tenant: caller.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: id.to_string(),
                name: input.name.clone(),
                slug: Some(slug),
                created_ms: ctx.now_ms,
                doc: org.to_string(),
            },
            members: vec![Member { principal: caller.principal.clone(), role: OWNER.to_owned() }],
            credentials: vec![NewCredential { digest: secrets::digest(&api_key), credential: key }],
            child_tenant: Some(child),
            rate: Some(rate.clone()),
            idempotency: None,
        };
        let mut data = org;
        data["apiKey"] = Value::from(api_key);
        Minted { new, status: StatusCode::CREATED, answer: json!({"status": "success", "data": data}) }
    }

    fn retry(err: &Error, attempt: u32, _input: &CreateOrganizationInput) -> bool {
        matches!(err, Error::IdCollision) && attempt < 3
    }
}
