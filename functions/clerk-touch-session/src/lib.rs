//! Clerk's Frontend API `POST /v1/client/sessions/{session_id}/touch`: the session makes an organization
//! active (`active_organization_id`; empty: the personal account), as `clerk.setActive` asks. One
//! conditional `UpdateItem` after the sign-in round trip; an organization the user is not a member of, or
//! a session that is not the client's, is 404 `resource_not_found`.

use lambda_http::{Body, Request, RequestExt, Response};

use clerk_fapi::{enveloped, errors, objects, param, params, Fapi, Needs, Signed};
use orgmint::lambda::Call;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Store, Vendor};

pub const ROUTE: &str = "POST /v1/client/sessions/{session_id}/touch";

/// The endpoint on orgmint's pipeline.
pub type Clerk = Touch;

pub struct Touch;

/// What the touch asks.
pub struct TouchInput {
    /// The session of the path.
    pub session_id: String,
    /// `None`: leave the active organization as it is; `Some(None)`: the personal account.
    pub active_org: Option<Option<String>>,
}

impl Operation for Touch {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    type Input = TouchInput;

    fn parse(req: &Request, call: &Call) -> Result<TouchInput, Response<Body>> {
        let session_id =
            req.path_parameters_ref().and_then(|p| p.first("session_id")).unwrap_or_default().to_owned();
        let params = params(req, call)?;
        let active_org =
            param(&params, "active_organization_id").map(|org| (!org.is_empty()).then(|| org.to_owned()));
        Ok(TouchInput { session_id, active_org })
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        input: TouchInput,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        if input.session_id != signed.client.session_id {
            return Err(errors::not_found(call, "session"));
        }
        let mut after = signed.clone();
        if let Some(active_org) = input.active_org {
            if active_org.as_deref().is_some_and(|org| signed.org(org).is_none()) {
                return Err(errors::not_found(call, "organization"));
            }
            let client = &signed.client;
            after.client = store
                .set_active_org(
                    Vendor::Clerk,
                    &client.client_id,
                    &client.session_id,
                    active_org.as_deref(),
                    call.now_ms,
                )
                .await
                .map_err(|err| errors::domain_error(call, err))?
                // Signed out since the sign-in round trip.
                .ok_or_else(|| errors::unauthorized(call))?;
        }
        Ok(enveloped(objects::signed_session(&after), objects::client(&after, call.now_ms)))
    }
}
