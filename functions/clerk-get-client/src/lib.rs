//! Clerk's Frontend API `GET /v1/client`: the client with its session, the session's user and the user's
//! memberships — what clerk-js loads at start. A request with no valid client token is signed out:
//! `{"response": null, "client": null}`, as FAPI answers it.

use lambda_http::{Body, Request, Response};

use clerk_fapi::{enveloped, objects, Fapi, Needs, Signed};
use orgmint::lambda::Call;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::Store;
use serde_json::Value;

pub const ROUTE: &str = "GET /v1/client";

/// The endpoint on orgmint's pipeline.
pub type Clerk = GetClient;

pub struct GetClient;

impl Operation for GetClient {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    /// A client whose session ended is still a client: answered with no session.
    const NEEDS: Needs = Needs { session: false, orgs: true, answers_signed_out: true };
    type Input = ();

    fn parse(_req: &Request, _call: &Call) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        _store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        _input: (),
    ) -> Result<Response<Body>, Response<Body>> {
        Ok(enveloped(objects::client(&found.caller, call.now_ms), Value::Null))
    }
}
