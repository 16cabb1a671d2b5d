//! Clerk's Frontend API `PATCH /v1/organizations/{organization_id}`: an `org:admin` renames an organization
//! and/or changes its slug (form or JSON; the same rules as the create's). The org is written back on
//! condition it did not change since it was read; a new slug's claim is taken in the instance and the old one
//! released in the same transaction (422 `form_identifier_exists` when taken). Answers `{"response":
//! <organization>, "client"}`; not a member: 404 `resource_not_found`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use clerk_create_organization::{checked_name, checked_slug, ParamError};
use clerk_fapi::{envelope, errors, objects, organization_id, param, params, Fapi, Needs, Signed};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::store::{OrgChange, Updated};
use orgmint::{Org, Store};
use serde_json::json;

pub const ROUTE: &str = "PATCH /v1/organizations/{organization_id}";

/// The endpoint on orgmint's pipeline.
pub type Clerk = UpdateOrganization;

pub struct UpdateOrganization;

/// The update: each field `None` when not sent; an empty slug keeps the slug.
pub struct Changes {
    pub org_id: String,
    pub name: Option<String>,
    pub slug: Option<String>,
}

impl Operation for UpdateOrganization {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    const IDEMPOTENT: bool = true;
    type Input = Changes;

    fn parse(req: &Request, call: &Call) -> Result<Changes, Response<Body>> {
        let params = params(req, call)?;
        let mut problems: Vec<ParamError> = Vec::new();
        let name =
            param(&params, "name").and_then(|name| checked_name(name).map_err(|p| problems.push(p)).ok());
        let slug = param(&params, "slug")
            .and_then(|slug| checked_slug(slug).map_err(|p| problems.push(p)).ok())
            .flatten();
        if let Some(first) = problems.first() {
            let code = first.code;
            let entries = problems.iter().map(ParamError::to_json).collect();
            return Err(errors::errors(call, StatusCode::UNPROCESSABLE_ENTITY, entries, code));
        }
        Ok(Changes { org_id: organization_id(req), name, slug })
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        changes: Changes,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        if signed.org(&changes.org_id).is_none() {
            return Err(errors::not_found(call, "organization"));
        }
        let change = |org: &Org| {
            let mut doc = objects::organization(org);
            let name = changes.name.clone().unwrap_or_else(|| org.name.clone());
            let slug = changes.slug.clone().or_else(|| org.slug.clone());
            doc["name"] = json!(name);
            doc["slug"] = json!(slug);
            doc["updated_at"] = json!(call.now_ms);
            OrgChange { name, slug, doc: doc.to_string() }
        };
        let answer = |org: &Org| {
            let mut after = signed.without(&org.id);
            after.orgs.push(org.clone());
            (StatusCode::OK, envelope(objects::organization(org), objects::client(&after, call.now_ms)))
        };
        let scopes = (&signed.account.tenant, &signed.instance.tenant, changes.org_id.as_str());
        let key = found.idempotency.key.as_ref();
        match lambda::update_once(store, scopes, change, key, call.now_ms, answer)
            .await
            .map_err(|err| errors::domain_error(call, err))?
        {
            Ok(reply) => Ok(reply),
            Err(Updated::SlugTaken) => Err(errors::slug_taken(call)),
            Err(_) => Err(errors::not_found(call, "organization")),
        }
    }
}
