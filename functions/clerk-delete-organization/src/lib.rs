//! Clerk's Frontend API `DELETE /v1/organizations/{organization_id}`: an `org:admin` deletes an organization
//! whose `admin_delete_enabled` is on (every organization orgmint creates). The organization, its slug claim
//! and memberships go in one transaction and the account's slot of the cap is free again; the answer is
//! `{"response": {"object": "organization", "id", "slug", "deleted": true}, "client"}` (the client without
//! it). Not a member, or already deleted: 404 `resource_not_found`.

use lambda_http::{Body, Request, Response};

use clerk_fapi::{envelope, errors, objects, organization_id, Fapi, Needs, Signed};
use lambda_http::http::StatusCode;
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Org, Store};
use serde_json::json;

pub const ROUTE: &str = "DELETE /v1/organizations/{organization_id}";

/// The endpoint on orgmint's pipeline.
pub type Clerk = DeleteOrganization;

pub struct DeleteOrganization;

impl Operation for DeleteOrganization {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    const IDEMPOTENT: bool = true;
    type Input = String;

    fn parse(req: &Request, _call: &Call) -> Result<String, Response<Body>> {
        Ok(organization_id(req))
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        org_id: String,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        let org = signed.org(&org_id).ok_or_else(|| errors::not_found(call, "organization"))?;
        if objects::organization(org)["admin_delete_enabled"] == false {
            return Err(errors::error(
                call,
                StatusCode::FORBIDDEN,
                "organization_admin_delete_not_enabled",
                "Deletion not enabled",
                "Deleting this organization is not enabled for admins.",
            ));
        }
        let answer = |deleted: &Org| {
            let mut after = signed.without(&deleted.id);
            after.account.org_count = after.account.org_count.saturating_sub(1);
            let gone =
                json!({"object": "organization", "id": deleted.id, "slug": deleted.slug, "deleted": true});
            (StatusCode::OK, envelope(gone, objects::client(&after, call.now_ms)))
        };
        let key = found.idempotency.key.as_ref();
        match lambda::delete_once(store, &signed.account.tenant, &org_id, key, call.now_ms, answer)
            .await
            .map_err(|err| errors::domain_error(call, err))?
        {
            Ok(reply) => Ok(reply),
            // Not found, or (Clerk's orgs hold none) holding orgs.
            Err(_) => Err(errors::not_found(call, "organization")),
        }
    }
}
