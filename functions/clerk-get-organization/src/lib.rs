//! Clerk's Frontend API `GET /v1/organizations/{organization_id}`: one of the user's organizations, with the
//! client, as `{"response": <organization>, "client": <client>}`; an organization the user is not a member of
//! (another user's, another instance's, none) is 404 `resource_not_found`. One round trip (the sign-in read
//! finds the user's organizations).

use lambda_http::{Body, Request, Response};

use clerk_fapi::{enveloped, errors, objects, organization_id, Fapi, Needs, Signed};
use orgmint::lambda::Call;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::Store;

pub const ROUTE: &str = "GET /v1/organizations/{organization_id}";

/// The endpoint on orgmint's pipeline.
pub type Clerk = GetOrganization;

pub struct GetOrganization;

impl Operation for GetOrganization {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    type Input = String;

    fn parse(req: &Request, _call: &Call) -> Result<String, Response<Body>> {
        Ok(organization_id(req))
    }

    async fn act(
        _store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        org_id: String,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        let org = signed.org(&org_id).ok_or_else(|| errors::not_found(call, "organization"))?;
        Ok(enveloped(objects::organization(org), objects::client(signed, call.now_ms)))
    }
}
