//! Cal.com's `GET /v2/organizations/{orgId}/organizations/{managedOrganizationId}`: one organization the
//! manager `{orgId}` manages, as `{"status": "success", "data": {id, name, slug, metadata?}}`. The guards are
//! the create's with the PBAC permission `organization.read`; an organization the manager does not manage
//! (another manager's, none, not a number) is IsManagedOrgInManagerOrg's 404. One `GetItem` after
//! authentication.

use calcom_api::{CalcomApi, Caller, Ctx, Needs, ORGANIZATION_READ};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::Store;

pub const ROUTE: &str = "GET /v2/organizations/{orgId}/organizations/{managedOrganizationId}";

/// The endpoint on orgmint's pipeline.
pub type Calcom = Get;

pub struct Get;

impl Operation for Get {
    type Dialect = CalcomApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { permission: ORGANIZATION_READ, managed_org: true };
    type Input = ();

    fn parse(_req: &Request, _ctx: &Ctx) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        store: &Store,
        ctx: &Ctx,
        found: &Authenticated<Caller>,
        _: (),
    ) -> Result<Response<Body>, Response<Body>> {
        let (id, manager) = calcom_api::managed(ctx, found)?;
        // Read with the credentials (one round trip); the caller's own read only if it was not.
        let org = match &found.caller.managed_org {
            Some(org) => org.clone(),
            None => store.org(manager, &id).await.map_err(|e| calcom_api::domain_error(e, ctx))?,
        };
        let org = org.ok_or_else(|| calcom_api::not_managed(ctx))?;
        Ok(calcom_api::success(StatusCode::OK, calcom_api::managed_org(&org)))
    }
}
