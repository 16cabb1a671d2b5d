//! Datadog's v1 organizations API dialect, which every Datadog function speaks: `DD-API-KEY` and
//! `DD-APPLICATION-KEY` (or the deprecated query-string forms), `{"errors": […]}`, `X-RateLimit-*`. An
//! endpoint is an [`Operation`] of the dialect [`DatadogApi`].

// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::lambda::{self, with_code, BodyProblem, Call, ErrorCode, Idempotency, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Dialect, Operation};
use orgmint::{Credential, Error, RateWindow, Store, Vendor};
use serde_json::json;

pub const API_KEY: &str = "api_key";
/// The deprecated query-string forms of the two keys (Datadog's v1 spec still lists them).
pub const API_KEY_PARAM: &str = "api_key";
pub const APPLICATION_KEY_PARAM: &str = "application_key";
pub const APPLICATION_KEY: &str = "app_key";
/// The headers that carry the two keys (matched case-insensitively).
pub const API_KEY_HEADER: &str = "DD-API-KEY";
pub const APPLICATION_KEY_HEADER: &str = "DD-APPLICATION-KEY";
/// The permission an application key's owner needs to manage organizations.
pub const ORG_MANAGEMENT: &str = "org_management";
/// The parent organization's multi-organization feature.
pub const MULTI_ORG: &str = "multi_org";
/// The admin access role.
pub const ADMIN_ROLE: &str = "adm";

/// Datadog's dialect. Each Datadog endpoint is an [`Operation`] of it whose `NEEDS` says whether the caller
/// must manage organizations (`org_management`, and for a create the parent's multi-organization feature);
/// reads need valid keys only.
pub struct DatadogApi;

impl Dialect for DatadogApi {
    const VENDOR: Vendor = Vendor::Datadog;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Call;
    /// The application key's credential: its owner is the caller.
    type Caller = Credential;
    type Needs = bool;

    fn tenant(owner: &Credential) -> Option<&str> {
        Some(&owner.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(_call: &Call, message: &str) -> Response<Body> {
        errors(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
    }

    /// Both keys in one round trip, checked in Datadog's order: API key present, API key known,
    /// application key present, application key known and of the same organization. The application
    /// key's credential is the caller; the rate window is the API key's. The request's `Idempotency-Key`
    /// record comes in the same round trip; the key is bound to both keys presented.
    async fn authenticate<O: Operation<Dialect = Self>>(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Credential>, Response<Body>> {
        // The spec's deprecated query-string keys are read too; headers win.
        let query = req.query_string_parameters_ref();
        let from_query =
            |name: &str| query.and_then(|q| q.first(name)).map(str::trim).filter(|v| !v.is_empty());
        let api_key = lambda::header(req, API_KEY_HEADER)
            .or_else(|| from_query(API_KEY_PARAM))
            .ok_or_else(|| errors(StatusCode::FORBIDDEN, "API key required"))?;
        let app_key =
            lambda::header(req, APPLICATION_KEY_HEADER).or_else(|| from_query(APPLICATION_KEY_PARAM));
        let secrets: Vec<&str> = [Some(api_key), app_key].into_iter().flatten().collect();
        let (mut found, idempotency) = lambda::authenticate(store, req, Vendor::Datadog, &secrets)
            .await
            .map_err(|e| pipeline::refusal::<O>(call, e))?;
        let forbidden = || errors(StatusCode::FORBIDDEN, "Forbidden");
        let api = found.credentials.remove(0).ok().filter(|c| c.kind == API_KEY).ok_or_else(forbidden)?;
        if app_key.is_none() {
            return Err(errors(StatusCode::FORBIDDEN, "Application key required"));
        }
        let caller = found
            .credentials
            .remove(0)
            .ok()
            .filter(|c| c.kind == APPLICATION_KEY && c.tenant == api.tenant)
            .ok_or_else(forbidden)?;
        let idempotency = match O::IDEMPOTENT {
            true => idempotency.map_err(|e| pipeline::refusal::<O>(call, e))?,
            false => Idempotency::default(),
        };
        Ok(Authenticated { caller, rate: found.rate, idempotency })
    }

    fn authorize<O: Operation<Dialect = Self>>(
        _req: &Request,
        call: &Call,
        owner: &Credential,
    ) -> Result<(), Response<Body>> {
        if O::NEEDS && !owner.has_permission(ORG_MANAGEMENT) {
            return Err(errors(StatusCode::FORBIDDEN, "Forbidden"));
        }
        O::authorize(call, owner)
    }

    fn too_many_requests(_call: &Call, rate: &RateWindow) -> Response<Body> {
        too_many_requests(rate)
    }

    fn refuse(_call: &Call, err: Error) -> Response<Body> {
        domain_error(err)
    }
}

/// A JSON body within the size limit; else Datadog's 413 or 400.
pub fn json_body(req: &Request) -> Result<&[u8], Response<Body>> {
    let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
        BodyProblem::TooLarge => errors(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Request body too large: at most {} bytes", lambda::MAX_BODY_BYTES),
        ),
        BodyProblem::UnsupportedType(kind) => errors(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported Content-Type '{kind}': send application/json"),
        ),
    })?;
    Ok(bytes)
}

/// The `{public_id}` of the path.
pub fn public_id(req: &Request) -> String {
    req.path_parameters_ref().and_then(|p| p.first("public_id")).unwrap_or_default().to_owned()
}

/// An organization the caller's organization does not hold (another's, none): Datadog's v1 document gives
/// `get_org` and `update_org` no 404, so its clients parse only the 403 it does list, `{"errors": ["Forbidden"]}`.
pub fn not_found() -> Response<Body> {
    with_code(errors(StatusCode::FORBIDDEN, "Forbidden"), "not_found")
}

/// Domain errors in Datadog's words.
pub fn domain_error(err: Error) -> Response<Body> {
    let code = err.code();
    let reply = match err {
        Error::CapReached { cap } => {
            errors(StatusCode::FORBIDDEN, &format!("Maximum number of child organizations ({cap}) reached"))
        }
        Error::Unauthenticated(_) | Error::Forbidden(_) => errors(StatusCode::FORBIDDEN, "Forbidden"),
        Error::Throttled { .. } => errors(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
        Error::SlugTaken { .. } | Error::Invalid(_) => errors(StatusCode::BAD_REQUEST, "Bad Request"),
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => {
            errors(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable, please retry")
        }
        Error::Idempotency(problem) => errors(lambda::idempotency_status(problem), problem.message()),
    };
    with_code(reply, code)
}

pub fn too_many_requests(rate: &RateWindow) -> Response<Body> {
    lambda::throttled(
        with_code(errors(StatusCode::TOO_MANY_REQUESTS, "Too many requests"), "throttled"),
        rate.reset_s(),
    )
}

/// Datadog's `X-RateLimit-*`: the period is the store's 60-second window.
pub const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
    fixed: &[("x-ratelimit-period", "60"), ("x-ratelimit-name", "org")],
    block_s: 0,
};

pub fn errors(status: StatusCode, message: &str) -> Response<Body> {
    all_errors(status, &[message.to_owned()])
}

/// Datadog's error envelope: `{"errors": ["…", …]}`.
pub fn all_errors(status: StatusCode, messages: &[String]) -> Response<Body> {
    with_code(lambda::json_response(status, &json!({ "errors": messages })), ErrorCode::of_status(status))
}
