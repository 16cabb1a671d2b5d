//! Devin's v2 enterprise API dialect, which every Devin function speaks: personal API keys of enterprise
//! admins (`Authorization: Bearer apk_user_…`), FastAPI's `{"detail": …}` envelopes and pydantic v2's
//! validation errors, slowapi's rate limits. An endpoint is an [`Operation`] of the dialect [`DevinApi`]
//! (its route, its body or query, what it does).

// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod pydantic;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, Call, Idempotency, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Dialect, Operation};
use orgmint::{AuthFailure, Credential, Error, RateWindow, Store, Vendor};
use serde_json::{json, Value};

/// Devin's personal API keys; only these authenticate here.
pub const API_KEY_PREFIX: &str = "apk_user_";
/// The role of an enterprise admin, the only role that may manage organizations.
pub const ENTERPRISE_ADMIN: &str = "enterprise_admin";
/// The kind of credential a personal API key is stored as.
pub const API_KEY: &str = "api_key";

/// Devin's dialect. Each Devin endpoint is an [`Operation`] of it whose `NEEDS` is what a key that is not an
/// enterprise admin's is told (403).
pub struct DevinApi;

impl Dialect for DevinApi {
    const VENDOR: Vendor = Vendor::Devin;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Call;
    type Caller = Credential;
    type Needs = &'static str;

    fn tenant(caller: &Credential) -> Option<&str> {
        Some(&caller.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(_call: &Call, message: &str) -> Response<Body> {
        detail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message, "too_large")
    }

    /// The caller's credential, rate window and idempotency record: one round trip. Failures are 401s,
    /// which are not counted.
    async fn authenticate<O: Operation<Dialect = Self>>(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Credential>, Response<Body>> {
        let refused = |e| pipeline::refusal::<O>(call, e);
        let token =
            lambda::bearer_token(req).ok_or_else(|| unauthorized("Not authenticated", "unauthenticated"))?;
        if !token.starts_with(API_KEY_PREFIX) {
            return Err(unauthorized("Invalid API key", "unauthenticated"));
        }
        let (mut found, idempotency) =
            lambda::authenticate(store, req, Vendor::Devin, &[token]).await.map_err(refused)?;
        let caller = found.credentials.remove(0).map_err(refused)?;
        let idempotency = match O::IDEMPOTENT {
            true => idempotency.map_err(refused)?,
            false => Idempotency::default(),
        };
        Ok(Authenticated { caller, rate: found.rate, idempotency })
    }

    fn authorize<O: Operation<Dialect = Self>>(
        _req: &Request,
        call: &Call,
        caller: &Credential,
    ) -> Result<(), Response<Body>> {
        if caller.role != ENTERPRISE_ADMIN {
            return Err(detail(StatusCode::FORBIDDEN, O::NEEDS, "forbidden"));
        }
        O::authorize(call, caller)
    }

    fn too_many_requests(_call: &Call, rate: &RateWindow) -> Response<Body> {
        let message = format!("Rate limit exceeded: {} per 1 minute", rate.limit);
        lambda::throttled(detail(StatusCode::TOO_MANY_REQUESTS, &message, "throttled"), rate.reset_s())
    }

    fn refuse(_call: &Call, err: Error) -> Response<Body> {
        domain_error(err)
    }
}

/// slowapi's `X-RateLimit-*`.
pub const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
    fixed: &[],
    block_s: 0,
};

/// Domain errors in Devin's words.
pub fn domain_error(err: Error) -> Response<Body> {
    match err {
        Error::Unauthenticated(AuthFailure::Expired) => unauthorized("API key has expired", "expired"),
        Error::Unauthenticated(_) => unauthorized("Invalid API key", "unauthenticated"),
        Error::CapReached { cap } => detail(
            StatusCode::FORBIDDEN,
            &format!("Enterprise organization limit reached ({cap})"),
            err.code(),
        ),
        Error::Forbidden(_) => detail(StatusCode::FORBIDDEN, "Enterprise not found", err.code()),
        Error::Throttled { retry_after_s } => lambda::throttled(
            detail(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded", err.code()),
            retry_after_s,
        ),
        // Devin has no slugs; the domain never reports one taken here.
        Error::SlugTaken { .. } | Error::Invalid(_) => {
            detail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request", err.code())
        }
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable, please retry",
            err.code(),
        ),
        Error::Idempotency(problem) => {
            detail(lambda::idempotency_status(problem), problem.message(), err.code())
        }
    }
}

/// `{"detail": message}` with `status`, the log line naming `code`.
pub fn detail(status: StatusCode, message: &str, code: &'static str) -> Response<Body> {
    lambda::with_code(lambda::json_response(status, &json!({ "detail": message })), code)
}

/// 404 for an organization the enterprise does not hold (another enterprise's looks the same).
pub fn not_found() -> Response<Body> {
    detail(StatusCode::NOT_FOUND, "Organization not found", "not_found")
}

/// 401 as FastAPI's `HTTPBearer` answers it, with the challenge header.
pub fn unauthorized(message: &str, code: &'static str) -> Response<Body> {
    let mut reply = detail(StatusCode::UNAUTHORIZED, message, code);
    reply.headers_mut().insert("www-authenticate", "Bearer".parse().expect("static header"));
    reply
}

/// FastAPI's `RequestValidationError` response: 422 with one `detail` entry per problem.
pub fn validation_error(problems: Vec<Value>) -> Response<Body> {
    lambda::with_code(
        lambda::json_response(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "detail": problems })),
        "invalid",
    )
}

/// 413 for a body over the limit.
pub fn too_large() -> Response<Body> {
    detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("Request body too large: at most {} bytes", lambda::MAX_BODY_BYTES),
        "too_large",
    )
}

/// `{"status": "success"}` with 200: what Devin's PATCH and DELETE answer (and record for their key).
pub fn success(_: &orgmint::Org) -> (StatusCode, Value) {
    (StatusCode::OK, json!({"status": "success"}))
}

/// The `{org_id}` of the path.
pub fn org_id(req: &Request) -> String {
    use lambda_http::RequestExt;
    req.path_parameters_ref().and_then(|p| p.first("org_id")).unwrap_or_default().to_owned()
}
