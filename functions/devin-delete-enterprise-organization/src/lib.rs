//! Devin's `DELETE /v2/enterprise/organizations/{org_id}`: the organization and its memberships go, and its
//! slot of the enterprise's cap is free again (`Store::delete_org`: one transaction, conditioned on the org
//! existing). `{"status": "success"}`; an org the enterprise does not hold (or no longer) is 404.

use devin_api::DevinApi;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Credential, Store};

pub const ROUTE: &str = "DELETE /v2/enterprise/organizations/{org_id}";

/// The endpoint on orgmint's pipeline.
pub type Devin = Delete;

pub struct Delete;

impl Operation for Delete {
    type Dialect = DevinApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: &'static str = "Enterprise admin permissions are required to delete organizations";
    const IDEMPOTENT: bool = true;
    type Input = String;

    fn parse(req: &Request, _call: &Call) -> Result<String, Response<Body>> {
        Ok(devin_api::org_id(req))
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        org_id: String,
    ) -> Result<Response<Body>, Response<Body>> {
        let key = found.idempotency.key.as_ref();
        match lambda::delete_once(store, &found.caller.tenant, &org_id, key, call.now_ms, devin_api::success)
            .await
            .map_err(devin_api::domain_error)?
        {
            Ok(reply) => Ok(reply),
            // Not found (Devin's orgs hold no orgs of their own).
            Err(_) => Err(devin_api::not_found()),
        }
    }
}
