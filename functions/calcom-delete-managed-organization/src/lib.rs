//! Cal.com's `DELETE /v2/organizations/{orgId}/organizations/{managedOrganizationId}`: an organization the
//! manager manages goes, with its memberships, its API keys and its own (empty) scope, and its slot of the
//! manager's cap is free again — one transaction, conditioned on it existing. 200 `{"status": "success",
//! "data": <the organization as it was>}`. The guards are the create's with the PBAC permission
//! `organization.delete`; not managed here (or already deleted) is IsManagedOrgInManagerOrg's 404; a managed
//! org that still manages orgs of its own (nesting tenants) is refused with 409, nothing deleted.

use calcom_api::{CalcomApi, Caller, Ctx, Needs, ORGANIZATION_DELETE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::store::Deleted;
use orgmint::{Org, Store};

pub const ROUTE: &str = "DELETE /v2/organizations/{orgId}/organizations/{managedOrganizationId}";

/// The endpoint on orgmint's pipeline.
pub type Calcom = Delete;

pub struct Delete;

impl Operation for Delete {
    type Dialect = CalcomApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { permission: ORGANIZATION_DELETE, managed_org: false };
    const IDEMPOTENT: bool = true;
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
        let answer = |org: &Org| (StatusCode::OK, calcom_api::success_body(calcom_api::managed_org(org)));
        let key = found.idempotency.key.as_ref();
        match lambda::delete_once(store, manager, &id, key, ctx.now_ms, answer)
            .await
            .map_err(|e| calcom_api::domain_error(e, ctx))?
        {
            Ok(reply) => Ok(reply),
            Err(Deleted::HasOrgs) => {
                let message = format!(
                    "Managed organization with id={id} manages organizations of its own: delete those first."
                );
                Err(calcom_api::fail(ctx, StatusCode::CONFLICT, &message))
            }
            Err(_) => Err(calcom_api::not_managed(ctx)),
        }
    }
}
