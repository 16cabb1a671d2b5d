//! `POST /v1/organizations/{organization_id}?_method=PATCH|DELETE`: clerk-js sends every method but GET and
//! POST as a POST naming the method in `_method` (FAPI's method override), so `organization.update()` and
//! `organization.destroy()` arrive here. The update's and the delete's own code answers them, unchanged
//! (their crates); any other `_method` is FAPI's 404. The true `PATCH` and `DELETE` routes have functions of
//! their own.

use lambda_http::{Body, Request, RequestExt, Response};

use clerk_delete_organization::DeleteOrganization;
use clerk_fapi::errors;
use clerk_update_organization::UpdateOrganization;
use orgmint::lambda::{Call, Named};
use orgmint::{pipeline, Store, Vendor};

pub const ROUTE: &str = "POST /v1/organizations/{organization_id}";

/// How the log line names this function.
pub const NAMED: Named = Named { function: env!("CARGO_PKG_NAME"), vendor: Vendor::Clerk, route: ROUTE };

/// The method a POST stands for.
pub fn method_override(req: &Request) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first("_method")).map(str::to_ascii_uppercase)
}

/// The update's or the delete's pipeline, by `_method`.
pub async fn dispatch(store: &'static Store, req: Request, call: Call) -> Response<Body> {
    match method_override(&req).as_deref() {
        Some("PATCH") => Box::pin(pipeline::create::<UpdateOrganization>(store, req, call)).await,
        Some("DELETE") => Box::pin(pipeline::create::<DeleteOrganization>(store, req, call)).await,
        _ => errors::not_found(&call, "resource"),
    }
}

/// The handler as the tests call it (request id, round trips and the log line around [`dispatch`]).
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    orgmint::lambda::serve(store, NAMED, req, dispatch).await
}
