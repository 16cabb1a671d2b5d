//! Clerk's Frontend API `POST /v1/organizations`: the signed-in user creates an organization and becomes
//! its `org:admin`; the answer is `{"response": <organization>, "client": <client>}`, the client already
//! showing the new membership (clerk-js refreshes its state from it).
//!
//! Two round trips: the client, instance, rate window and `Idempotency-Key` record in one `BatchGetItem`
//! while one `Query` reads the account with its organizations (the memberships the answer's client lists),
//! then one `TransactWriteItems`.

mod validate;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use std::future::Future;

use clerk_fapi::objects::{self, DEFAULT_ORG_IMAGE};
use clerk_fapi::{errors, Fapi, Needs, Signed};
use clerk_fapi::{ADMIN_ROLE, ATTR_MAX_MEMBERSHIPS, DEFAULT_MAX_MEMBERSHIPS, ORGANIZATIONS};
use orgmint::lambda::{self, BodyProblem, Call};
use orgmint::pipeline::{self, Authenticated, Minted, Mints, Operation};
use orgmint::{ids, Error, Member, NewOrg, Org, RateWindow, Store};
use serde_json::json;

pub use validate::{
    carries_url_or_html, checked_name, checked_slug, derived_slug, validate, CreateOrganization, Invalid,
    ParamError,
};

pub const ROUTE: &str = "POST /v1/organizations";
/// Derived slugs that are taken get a random suffix; this many tries in all.
const SLUG_ATTEMPTS: u32 = 4;

/// The endpoint on orgmint's pipeline.
pub type Clerk = Create;

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Create>(store, req).await
}

/// `POST /v1/organizations`.
pub struct Create;

impl Operation for Create {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    const IDEMPOTENT: bool = true;
    type Input = CreateOrganization;

    fn authorize(call: &Call, signed: &Signed) -> Result<(), Response<Body>> {
        if !signed.instance.features.iter().any(|f| f == ORGANIZATIONS) {
            return Err(errors::not_enabled(call));
        }
        Ok(())
    }

    fn parse(req: &Request, call: &Call) -> Result<CreateOrganization, Response<Body>> {
        let (bytes, kind) = lambda::body(req, true).map_err(|problem| match problem {
            BodyProblem::TooLarge => errors::body_too_large(call),
            BodyProblem::UnsupportedType(_) => errors::body_invalid(call),
        })?;
        validate(bytes, kind).map_err(|invalid| match invalid {
            Invalid::Body => errors::body_invalid(call),
            Invalid::Params(problems) => errors::errors(
                call,
                StatusCode::UNPROCESSABLE_ENTITY,
                problems.iter().map(ParamError::to_json).collect(),
                problems.first().map_or("invalid", |p| p.code),
            ),
        })
    }

    fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        input: CreateOrganization,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        pipeline::create_org::<Self>(store, call, found, input)
    }
}

impl Mints for Create {
    /// The slug as sent; else derived from the name, and from the second attempt on (a derived slug that
    /// was taken) with a random suffix.
    fn mint(
        call: &Call,
        signed: &Signed,
        input: &CreateOrganization,
        rate: &RateWindow,
        attempt: u32,
    ) -> Minted {
        let org_id = format!("org_{}", ids::random_from(ids::BASE62, 27));
        let max_memberships = signed
            .instance
            .attributes
            .get(ATTR_MAX_MEMBERSHIPS)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(DEFAULT_MAX_MEMBERSHIPS);
        let base = input.slug.clone().or_else(|| derived_slug(&input.name));
        let slug = match (attempt, base) {
            (1, Some(base)) => base,
            (1, None) => format!("org-{}", suffix()),
            (_, base) => format!("{}-{}", base.as_deref().unwrap_or("org"), suffix()),
        };
        let organization = json!({
            "object": "organization",
            "id": org_id,
            "name": input.name,
            "slug": slug,
            "image_url": DEFAULT_ORG_IMAGE,
            "has_image": false,
            "members_count": 1,
            "pending_invitations_count": 0,
            "max_allowed_memberships": max_memberships,
            "admin_delete_enabled": true,
            "self_serve_sso_enabled": false,
            "public_metadata": {},
            "created_at": call.now_ms,
            "updated_at": call.now_ms,
        });
        let org = Org {
            id: org_id,
            name: input.name.clone(),
            slug: Some(slug),
            created_ms: call.now_ms,
            doc: organization.to_string(),
        };
        // The client as it is once the transaction commits: one more org, one more membership.
        let mut after = signed.clone();
        after.account.org_count += 1;
        after.orgs.push(org.clone());
        let answer = json!({"response": organization, "client": objects::client(&after, call.now_ms)});
        let new = NewOrg {
            tenant: signed.account.tenant.clone(),
            slug_scope: Some(signed.instance.tenant.clone()),
            org,
            members: vec![Member { principal: signed.user_id().to_owned(), role: ADMIN_ROLE.to_owned() }],
            credentials: Vec::new(),
            child_tenant: None,
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer }
    }

    /// A derived slug that is taken gets a random suffix (nothing was written), up to `SLUG_ATTEMPTS`
    /// tries; a fresh id that exists is drawn again once.
    fn retry(err: &Error, attempt: u32, input: &CreateOrganization) -> bool {
        match err {
            Error::SlugTaken { .. } => input.slug.is_none() && attempt < SLUG_ATTEMPTS,
            Error::IdCollision => attempt < 2,
            _ => false,
        }
    }
}

/// Six random base36 characters.
fn suffix() -> String {
    ids::random_from(ids::BASE36, 6)
}
