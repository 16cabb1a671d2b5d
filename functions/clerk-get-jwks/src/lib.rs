//! Clerk's Frontend API `GET /v1/jwks`: the public key(s) session tokens are signed with, as a JWK set.
//! No credential, no DynamoDB: an app's backend fetches it to verify session tokens.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use clerk_fapi::{errors, signer};
use orgmint::lambda::{self, Call, ErrorCause, Idempotency, RateLimitHeaders};
use orgmint::pipeline::{Authenticated, Endpoint};
use orgmint::{Error, RateWindow, Store, Vendor};
use serde_json::json;

pub const ROUTE: &str = "GET /v1/jwks";

/// The endpoint on orgmint's pipeline: anyone may read it, nothing meters it.
pub struct Clerk;

impl Endpoint for Clerk {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const VENDOR: Vendor = Vendor::Clerk;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = None;
    type Ctx = Call;
    type Caller = ();
    type Input = ();

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(call: &Call, message: &str) -> Response<Body> {
        errors::headers_too_large(call, message)
    }

    /// Public: every caller is let in, unmetered (a window of limit 0 is off).
    async fn authenticate(
        _store: &Store,
        _req: &Request,
        call: &Call,
    ) -> Result<Authenticated<()>, Response<Body>> {
        let rate = RateWindow::new("", 0, 0, call.now_ms.div_euclid(1_000));
        Ok(Authenticated { caller: (), rate, idempotency: Idempotency::default() })
    }

    fn authorize(_req: &Request, _call: &Call, _caller: &()) -> Result<(), Response<Body>> {
        Ok(())
    }

    fn parse(_req: &Request, _call: &Call) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        _store: &Store,
        call: &Call,
        _found: &Authenticated<()>,
        _input: (),
    ) -> Result<Response<Body>, Response<Body>> {
        match signer::stack().await {
            Ok(signer) => Ok(lambda::json_response(StatusCode::OK, &json!({"keys": [signer.jwk()]}))),
            Err(err) => {
                let mut reply = errors::domain_error(call, Error::Unavailable(err.0.clone()));
                reply.extensions_mut().insert(ErrorCause(err.0));
                Err(reply)
            }
        }
    }

    fn too_many_requests(call: &Call, rate: &RateWindow) -> Response<Body> {
        lambda::throttled(errors::too_many(call), rate.reset_s())
    }

    fn refuse(call: &Call, err: Error) -> Response<Body> {
        errors::domain_error(call, err)
    }

    fn tenant(_caller: &()) -> Option<&str> {
        None
    }
}
