//! Clerk's error envelope, `{"errors":[{code, message, long_message, meta}], "clerk_trace_id": …}`, and
//! the refusals every FAPI endpoint shares.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orgmint::lambda::{self, Call};
use orgmint::{Denied, Error};
use serde_json::{json, Value};

/// Domain errors in Clerk's words.
pub fn domain_error(call: &Call, err: Error) -> Response<Body> {
    match err {
        Error::CapReached { cap } => error(
            call,
            StatusCode::FORBIDDEN,
            "organization_quota_exceeded",
            "organization quota exceeded",
            &format!("You cannot create more than {cap} organizations per account."),
        ),
        // The account vanished between authentication and the transaction: no longer a session's user.
        Error::Unauthenticated(_) | Error::Forbidden(Denied::NotInScope) => unauthorized(call),
        Error::Forbidden(_) => not_enabled(call),
        Error::SlugTaken { .. } => slug_taken(call),
        Error::Throttled { retry_after_s } => lambda::throttled(too_many(call), retry_after_s),
        Error::Invalid(_) => body_invalid(call),
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => error(
            call,
            StatusCode::SERVICE_UNAVAILABLE,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            "There was an internal error on our servers. Please retry; send an Idempotency-Key to retry safely.",
        ),
        Error::Idempotency(problem) => error(
            call,
            lambda::idempotency_status(problem),
            err.code(),
            problem.message(),
            problem.message(),
        ),
    }
}

/// The seed's 401, for every authentication failure alike (no token, forged, expired, no active session).
pub fn unauthorized(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::UNAUTHORIZED,
        "authentication_invalid",
        "Invalid authentication",
        "Unable to authenticate the request, you need to supply an active session",
    )
}

/// A browser origin the instance does not allow.
pub fn origin_invalid(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::BAD_REQUEST,
        "origin_invalid",
        "is invalid",
        "The Request HTTP Origin header must be equal to or a subdomain of the requesting URL.",
    )
}

/// The seed's 403 for an instance without organizations.
pub fn not_enabled(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::FORBIDDEN,
        "organizations_not_enabled_in_instance",
        "access denied",
        "The organizations feature is not enabled for your instance. If you want to try it out, contact us at \
         support@clerk.dev.",
    )
}

/// 404: a session, an organization or a membership the caller has no access to.
pub fn not_found(call: &Call, what: &str) -> Response<Body> {
    let long = format!("The requested {what} could not be found.");
    error(call, StatusCode::NOT_FOUND, "resource_not_found", "not found", &long)
}

pub fn body_invalid(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::BAD_REQUEST,
        "request_body_invalid",
        "Request body invalid",
        "The request body is invalid. Send application/x-www-form-urlencoded or a JSON object.",
    )
}

pub fn body_too_large(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_body_too_large",
        "Request body too large",
        &format!("The request body must be at most {} bytes.", lambda::MAX_BODY_BYTES),
    )
}

pub fn headers_too_large(call: &Call, message: &str) -> Response<Body> {
    let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    error(call, status, "request_header_fields_too_large", "Request header fields too large", message)
}

pub fn slug_taken(call: &Call) -> Response<Body> {
    let entry = json!({
        "code": "form_identifier_exists",
        "message": "That slug is taken. Please try another.",
        "long_message": "That slug is taken. Please try another.",
        "meta": {"param_name": "slug"},
    });
    errors(call, StatusCode::UNPROCESSABLE_ENTITY, vec![entry], "form_identifier_exists")
}

/// Clerk's 429, before `lambda::throttled` completes it.
pub fn too_many(call: &Call) -> Response<Body> {
    let message = "Too many requests, please try again later.";
    error(call, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many requests", message)
}

/// One error entry with empty `meta`.
pub fn error(
    call: &Call,
    status: StatusCode,
    code: &'static str,
    message: &str,
    long: &str,
) -> Response<Body> {
    let entry = json!({"code": code, "message": message, "long_message": long, "meta": {}});
    errors(call, status, vec![entry], code)
}

/// A form parameter's 422 entry (`meta.param_name`).
pub fn param_error(code: &str, param: &str, message: &str, long: &str) -> Value {
    json!({"code": code, "message": message, "long_message": long, "meta": {"param_name": param}})
}

/// Clerk's envelope: `{"errors":[{code, message, long_message, meta}], "clerk_trace_id": …}`.
pub fn errors(call: &Call, status: StatusCode, entries: Vec<Value>, code: &'static str) -> Response<Body> {
    let body = json!({"errors": entries, "clerk_trace_id": call.request_id});
    lambda::with_code(lambda::json_response(status, &body), code)
}
