//! Devin's `DELETE /v2/enterprise/organizations/{org_id}`: the organization and its memberships go, and its
//! slot of the enterprise's cap is free again (`Store::delete_org`: one transaction, conditioned on the org
//! existing). `{"status": "success"}`; an org the enterprise does not hold (or no longer) is 404.

use devin_api::{DevinApi, DevinEndpoint};
use lambda_http::{Body, Request, Response};
use orgmint::lambda::Call;
use orgmint::pipeline::Authenticated;
use orgmint::store::Deleted;
use orgmint::{Credential, Store};

pub const ROUTE: &str = "DELETE /v2/enterprise/organizations/{org_id}";

/// The endpoint on orgmint's pipeline.
pub type Devin = DevinApi<Delete>;

pub struct Delete;

impl DevinEndpoint for Delete {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const ADMIN_ONLY: &'static str = "Enterprise admin permissions are required to delete organizations";
    type Input = String;

    fn parse(req: &Request) -> Result<String, Response<Body>> {
        Ok(devin_api::org_id(req))
    }

    async fn act(
        store: &Store,
        _call: &Call,
        found: &Authenticated<Credential>,
        org_id: String,
    ) -> Result<Response<Body>, Response<Body>> {
        match store.delete_org(&found.caller.tenant, &org_id).await.map_err(devin_api::domain_error)? {
            Deleted::Deleted { .. } => Ok(devin_api::success()),
            // Devin's orgs hold no orgs of their own.
            Deleted::NotFound | Deleted::HasOrgs => Err(devin_api::not_found()),
        }
    }
}
