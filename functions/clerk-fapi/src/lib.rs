//! Clerk's Frontend API dialect, which every Clerk function speaks: client tokens and sessions
//! ([`auth`]), CORS for the instance's browser origins, the objects clerk-js reads ([`objects`]), the
//! error envelope ([`errors`]), form bodies, and the session-token signer ([`signer`]).
//!
//! Scopes: the instance is a tenant holding the client-token issuer and key, the features, the allowed
//! origins and `max_allowed_memberships`; each user account is a tenant `<instance>/<user>` holding the
//! cap and the counter; each client (browser or device) an item with its one session. An endpoint is an
//! [`Operation`] of the dialect [`Fapi`]: its route, what it needs of the client, its body and what it does.

// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod client_token;
pub mod errors;
pub mod objects;
pub mod signer;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, BodyKind, BodyProblem, Call, ErrorCode, RateLimitHeaders};
use orgmint::pipeline::{Authenticated, Dialect, Operation};
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

/// Clerk's Frontend API dialect: authentication by client token, CORS, metering, the envelope. Each FAPI
/// endpoint is an [`Operation`] of it whose `NEEDS` says what it needs of the client.
pub struct Fapi;

impl Dialect for Fapi {
    const VENDOR: Vendor = Vendor::Clerk;
    /// Clerk sends no rate-limit headers.
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = None;
    type Ctx = Call;
    type Caller = Signed;
    type Needs = Needs;

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

    /// The client behind the token ([`auth::authenticate`]); signed out, the 401, or for an endpoint that
    /// answers signed-out browsers (`GET /v1/client`) `{"response": null, "client": null}`.
    async fn authenticate<O: Operation<Dialect = Self>>(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Signed>, Response<Body>> {
        auth::authenticate(store, req, call, O::NEEDS, O::IDEMPOTENT).await.map_err(|reply| {
            match reply.extensions().get::<ErrorCode>().map(|code| code.0) {
                Some("authentication_invalid") if O::NEEDS.answers_signed_out => {
                    enveloped(serde_json::Value::Null, serde_json::Value::Null)
                }
                _ => reply,
            }
        })
    }

    fn authorize<O: Operation<Dialect = Self>>(
        _req: &Request,
        call: &Call,
        signed: &Signed,
    ) -> Result<(), Response<Body>> {
        O::authorize(call, signed)
    }

    fn too_many_requests(call: &Call, rate: &RateWindow) -> Response<Body> {
        lambda::throttled(errors::too_many(call), rate.reset_s())
    }

    fn refuse(call: &Call, err: Error) -> Response<Body> {
        errors::domain_error(call, err)
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
