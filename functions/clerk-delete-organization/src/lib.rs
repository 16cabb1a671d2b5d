//! Clerk's Frontend API `DELETE /v1/organizations/{organization_id}`: an `org:admin` deletes an organization
//! whose `admin_delete_enabled` is on (every organization orgmint creates). The organization, its slug claim
//! and memberships go in one transaction and the account's slot of the cap is free again; the answer is
//! `{"response": {"object": "organization", "id", "slug", "deleted": true}, "client"}` (the client without
//! it). Not a member, or already deleted: 404 `resource_not_found`.

use lambda_http::{Body, Request, Response};

use clerk_fapi::{enveloped, errors, objects, organization_id, Fapi, FapiEndpoint, Needs, Signed};
use orgmint::lambda::Call;
use orgmint::pipeline::Authenticated;
use orgmint::store::Deleted;
use orgmint::Store;
use serde_json::json;

pub const ROUTE: &str = "DELETE /v1/organizations/{organization_id}";

/// The endpoint on orgmint's pipeline.
pub type Clerk = Fapi<DeleteOrganization>;

pub struct DeleteOrganization;

impl FapiEndpoint for DeleteOrganization {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, idempotency: false };
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
                lambda_http::http::StatusCode::FORBIDDEN,
                "organization_admin_delete_not_enabled",
                "Deletion not enabled",
                "Deleting this organization is not enabled for admins.",
            ));
        }
        match store
            .delete_org(&signed.account.tenant, &org_id)
            .await
            .map_err(|err| errors::domain_error(call, err))?
        {
            Deleted::Deleted { org_count } => {
                let mut after = signed.without(&org_id);
                after.account.org_count = org_count;
                let deleted =
                    json!({"object": "organization", "id": org_id, "slug": org.slug, "deleted": true});
                Ok(enveloped(deleted, objects::client(&after, call.now_ms)))
            }
            Deleted::NotFound | Deleted::HasOrgs => Err(errors::not_found(call, "organization")),
        }
    }
}
