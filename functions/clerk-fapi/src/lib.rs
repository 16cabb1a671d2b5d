//! Clerk's Frontend API dialect, which every Clerk function speaks: client tokens and sessions
//! ([`auth`]), CORS for the instance's browser origins, the objects clerk-js reads ([`objects`]), the
//! error envelope ([`errors`]), form bodies, and the session-token signer ([`signer`]).
//!
//! Scopes: the instance is a tenant holding the client-token issuer and key, the features, the allowed
//! origins and `max_allowed_memberships`; each user account is a tenant `<instance>/<user>` holding the
//! cap and the counter; each client (browser or device) an item with its one session. An endpoint is a
//! [`FapiEndpoint`]: its route, what it needs of the client, its body and what it does; [`Fapi`] puts it on
//! orgmint's one pipeline.

// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod client_token;
pub mod errors;
pub mod objects;
pub mod signer;

use std::future::Future;
use std::marker::PhantomData;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, BodyKind, BodyProblem, Call, ErrorCode, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint, Minted, Mints};
use orgmint::{Error, RateWindow, Store, Vendor};

pub use auth::{Needs, Signed};

/// The instance feature that allows organizations.
pub const ORGANIZATIONS: &str = "organizations";
/// Instance attributes the functions read.
pub const ATTR_ISSUER: &str = "issuer";
pub const ATTR_PUBLIC_KEY: &str = "public_key";
pub const ATTR_MAX_MEMBERSHIPS: &str = "max_allowed_memberships";
/// The browser origins the instance allows, space-separated.
pub const ATTR_ORIGINS: &str = "origins";
pub const DEFAULT_MAX_MEMBERSHIPS: u64 = 5;
/// The creator's role in a new organization.
pub const ADMIN_ROLE: &str = "org:admin";

/// One FAPI endpoint: what differs between them. Everything else (authentication by client token, CORS,
/// metering, the envelope, the log line) is [`Fapi`]'s.
pub trait FapiEndpoint: Sync + Send + 'static {
    /// `METHOD /path` as the router and the log line name it.
    const ROUTE: &'static str;
    /// The function (its crate and binary).
    const FUNCTION: &'static str;
    /// What the endpoint needs of the client.
    const NEEDS: Needs;
    type Input: Send + Sync;

    /// The body (form or JSON, within the size limit), valid.
    fn parse(req: &Request, call: &Call) -> Result<Self::Input, Response<Body>>;

    /// The caller may do this here (e.g. the instance has organizations).
    fn authorize(_call: &Call, _signed: &Signed) -> Result<(), Response<Body>> {
        Ok(())
    }

    /// The answer when the request names no signed-in client: the 401 by default.
    fn signed_out(call: &Call) -> Response<Body> {
        errors::unauthorized(call)
    }

    fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send;
}

/// A FAPI endpoint that creates an organization (see [`Mints`]).
pub trait FapiMints: FapiEndpoint {
    fn mint(call: &Call, signed: &Signed, input: &Self::Input, rate: &RateWindow, attempt: u32) -> Minted;

    fn retry(err: &Error, attempt: u32, _input: &Self::Input) -> bool {
        matches!(err, Error::IdCollision) && attempt < 2
    }
}

/// A [`FapiEndpoint`] as one of orgmint's pipeline [`Endpoint`]s.
pub struct Fapi<T>(PhantomData<T>);

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler<T: FapiEndpoint>(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Fapi<T>>(store, req).await
}

/// A create's [`FapiEndpoint::act`]: orgmint's one capped create.
pub async fn create_org<T: FapiMints>(
    store: &Store,
    call: &Call,
    found: &Authenticated<Signed>,
    input: T::Input,
) -> Result<Response<Body>, Response<Body>> {
    pipeline::create_org::<Fapi<T>>(store, call, found, input).await
}

impl<T: FapiEndpoint> Endpoint for Fapi<T> {
    const ROUTE: &'static str = T::ROUTE;
    const FUNCTION: &'static str = T::FUNCTION;
    const VENDOR: Vendor = Vendor::Clerk;
    /// Clerk sends no rate-limit headers.
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = None;
    type Ctx = Call;
    type Caller = Signed;
    type Input = T::Input;

    /// The user's account within the instance: the cap's scope.
    fn tenant(signed: &Signed) -> Option<&str> {
        Some(&signed.account.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(call: &Call, message: &str) -> Response<Body> {
        errors::headers_too_large(call, message)
    }

    async fn authenticate(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Signed>, Response<Body>> {
        auth::authenticate(store, req, call, T::NEEDS).await.map_err(|reply| {
            match reply.extensions().get::<ErrorCode>().map(|code| code.0) {
                Some("authentication_invalid") => T::signed_out(call),
                _ => reply,
            }
        })
    }

    fn authorize(_req: &Request, call: &Call, signed: &Signed) -> Result<(), Response<Body>> {
        T::authorize(call, signed)
    }

    fn parse(req: &Request, call: &Call) -> Result<T::Input, Response<Body>> {
        T::parse(req, call)
    }

    fn too_many_requests(call: &Call, rate: &RateWindow) -> Response<Body> {
        lambda::throttled(errors::too_many(call), rate.reset_s())
    }

    fn refuse(call: &Call, err: Error) -> Response<Body> {
        errors::domain_error(call, err)
    }

    fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        input: T::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        T::act(store, call, found, input)
    }

    /// A preflight carries no credential: answered for an origin some instance allows, with that origin,
    /// credentials and the requested headers allowed; else 400 `origin_invalid` without CORS headers.
    async fn preflight(store: &Store, req: &Request, call: &Call) -> Option<Response<Body>> {
        if req.method() != Method::OPTIONS {
            return None;
        }
        let allowed = match auth::origin(req) {
            Some(origin) => store.origin_allowed(Vendor::Clerk, origin).await,
            None => Ok(false),
        };
        Some(match allowed {
            Ok(true) => {
                let mut reply = Response::builder()
                    .status(StatusCode::NO_CONTENT)
                    .header("access-control-allow-methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
                    .header("access-control-max-age", "7200");
                if let Some(requested) = req.headers().get("access-control-request-headers") {
                    reply = reply.header("access-control-allow-headers", requested);
                }
                reply.body(Body::Empty).expect("static headers and a reflected header value")
            }
            Ok(false) => errors::origin_invalid(call),
            Err(err) => errors::domain_error(call, err),
        })
    }

    /// Answers to a browser carry its origin and allow credentials, except `origin_invalid`: an answer with
    /// data is only ever given after the origin was checked against the client's instance.
    fn cors(req: &Request, reply: &mut Response<Body>) {
        let Some(origin) = req.headers().get("origin").cloned() else { return };
        if reply.extensions().get::<ErrorCode>().is_some_and(|code| code.0 == "origin_invalid") {
            return;
        }
        let headers = reply.headers_mut();
        headers.insert("access-control-allow-origin", origin);
        headers.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
        headers
            .insert("access-control-expose-headers", HeaderValue::from_static("Authorization, X-Request-Id"));
        headers.append("vary", HeaderValue::from_static("Origin"));
    }
}

impl<T: FapiMints> Mints for Fapi<T> {
    fn mint(call: &Call, signed: &Signed, input: &T::Input, rate: &RateWindow, attempt: u32) -> Minted {
        T::mint(call, signed, input, rate, attempt)
    }

    fn retry(err: &Error, attempt: u32, input: &T::Input) -> bool {
        T::retry(err, attempt, input)
    }
}

/// A form (or JSON) body's parameters as text, for endpoints whose parameters are plain strings; `Err`
/// is the 413 or 400 in Clerk's envelope. Repeated form keys: the last one wins. JSON values that are not
/// strings are refused as the body.
pub fn params(req: &Request, call: &Call) -> Result<Vec<(String, String)>, Response<Body>> {
    let (bytes, kind) = lambda::body(req, true).map_err(|problem| match problem {
        BodyProblem::TooLarge => errors::body_too_large(call),
        BodyProblem::UnsupportedType(_) => errors::body_invalid(call),
    })?;
    match kind {
        BodyKind::Form => Ok(form_urlencoded::parse(bytes).into_owned().collect()),
        BodyKind::Json if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Vec::new()),
        BodyKind::Json => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(fields)) => fields
                .into_iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| match value {
                    serde_json::Value::String(text) => Ok((key, text)),
                    _ => Err(errors::body_invalid(call)),
                })
                .collect(),
            _ => Err(errors::body_invalid(call)),
        },
    }
}

/// The last value of `name` among `params`.
pub fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// The `{organization_id}` of the path.
pub fn organization_id(req: &Request) -> String {
    use lambda_http::RequestExt;
    req.path_parameters_ref().and_then(|p| p.first("organization_id")).unwrap_or_default().to_owned()
}

/// A 200 `{"response": …, "client": …}`: FAPI's envelope of everything but the token and the JWKS.
pub fn enveloped(response: serde_json::Value, client: serde_json::Value) -> Response<Body> {
    lambda::json_response(StatusCode::OK, &envelope(response, client))
}

/// FAPI's `{"response", "client"}` body.
pub fn envelope(response: serde_json::Value, client: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"response": response, "client": client})
}
